import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { SpanAttributes, startTracing, tracer, withSpan } from './tracing.js';

const TRACING_URL = pathToFileURL(fileURLToPath(new URL('./tracing.ts', import.meta.url))).href;

// A fresh Node process (type stripping runs tracing.ts as is) that records every module it resolves, starts
// tracing, runs one span and stops; it prints whether the SDK was loaded.
const CHILD = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, ctx, next) { const r = next(specifier, ctx); resolved.push(r.url); return r; } });
const { startTracing, withSpan, SpanAttributes } = await import(process.argv[1]);
const stop = await startTracing();
await withSpan('reconcile', { [SpanAttributes.pool]: 'web', [SpanAttributes.claim]: 'c-1' }, async () => {});
await stop();
console.log(JSON.stringify({ sdkLoaded: resolved.some((url) => url.includes('/@opentelemetry/sdk-node/')) }));
`;

function runChild(env: NodeJS.ProcessEnv): Promise<{ sdkLoaded: boolean }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', CHILD, TRACING_URL],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { sdkLoaded: boolean });
      },
    );
  });
}

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

describe('startTracing', () => {
  test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is started: spans do not record', async () => {
    const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    try {
      const stop = await startTracing();
      const span = tracer.startSpan('probe');
      expect(span.isRecording()).toBe(false);
      span.end();
      await stop();
    } finally {
      if (previous !== undefined) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
    }
  });

  test('without the variable the SDK module is never loaded', async () => {
    expect(await runChild(envWithout('OTEL_EXPORTER_OTLP_ENDPOINT'))).toEqual({ sdkLoaded: false });
  }, 30_000);

  describe('with the variable', () => {
    let receiver: Server;
    const posts: { url: string; body: string }[] = [];
    let endpoint = '';
    beforeAll(async () => {
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          posts.push({ url: request.url ?? '', body });
          response.writeHead(200, { 'Content-Type': 'application/json' });
          response.end('{}');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });

    test('the SDK starts and exports spans over OTLP/HTTP to the endpoint, as service warmpool', async () => {
      const env = { ...envWithout('OTEL_SERVICE_NAME'), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
      expect(await runChild(env)).toEqual({ sdkLoaded: true });
      expect(posts.map((post) => post.url)).toEqual(['/v1/traces']);
      const body = posts[0]?.body ?? '';
      expect(body).toContain('"reconcile"');
      expect(body).toContain('"warmpool.pool"');
      expect(body).toContain('"c-1"');
      expect(body).toMatch(/"service\.name","value":\{"stringValue":"warmpool"\}/);
    }, 30_000);
  });
});

describe('withSpan', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  test('runs the work in an active span with the attributes, and nests', async () => {
    const result = await withSpan('reconcile', { [SpanAttributes.pool]: 'web' }, async (outer) => {
      expect(trace.getActiveSpan()).toBe(outer);
      await withSpan('bind', { [SpanAttributes.claim]: 'c-1' }, async () => {});
      return 42;
    });
    expect(result).toBe(42);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['bind', 'reconcile']);
    const [bind, reconcile] = spans;
    expect(reconcile?.attributes).toEqual({ 'warmpool.pool': 'web' });
    expect(bind?.parentSpanContext?.spanId).toBe(reconcile?.spanContext().spanId);
    expect(reconcile?.status.code).toBe(SpanStatusCode.UNSET);
  });

  test('records the exception and the error status, ends the span, and rethrows', async () => {
    await expect(withSpan('bind', {}, async () => Promise.reject(new Error('409 conflict')))).rejects.toThrow('409 conflict');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: '409 conflict' });
    expect(span?.events.map((event) => event.name)).toEqual(['exception']);
    expect(span?.ended).toBe(true);
  });
});
