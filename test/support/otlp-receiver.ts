// A minimal OTLP/HTTP trace receiver on 127.0.0.1 for tests: accepts POST /v1/traces in the JSON encoding
// (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json; @opentelemetry/exporter-trace-otlp-http sends JSON anyway) and keeps
// the spans. Anything else is answered with an error and recorded, so a test can say why nothing arrived.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  attributes: Record<string, AttributeValue>;
  /** The resource's service.name. */
  service: string | undefined;
}

export class OtlpReceiver {
  private readonly received: ReceivedSpan[] = [];
  /** Requests that were not a readable OTLP/JSON trace export. */
  readonly rejected: string[] = [];

  private constructor(
    private readonly server: Server,
    /** What OTEL_EXPORTER_OTLP_ENDPOINT should be: the exporter appends /v1/traces. */
    readonly endpoint: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      void receiver.accept(req).then(
        () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'),
        (err: unknown) => {
          receiver.rejected.push(String(err));
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: String(err) }));
        },
      );
    });
    return receiver;
  }

  spans(): readonly ReceivedSpan[] {
    return this.received;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async accept(req: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`unexpected ${req.method ?? ''} ${req.url ?? ''}`);
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/json')) throw new Error(`content type ${type}: only OTLP/JSON is understood`);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    this.received.push(...parseExport(JSON.parse(body.toString('utf8')) as unknown));
  }
}

/** The spans of an ExportTraceServiceRequest in OTLP/JSON; throws when it is not shaped like one. */
export function parseExport(body: unknown): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of arrayAt(body, 'resourceSpans')) {
    const resource = isRecord(rs) ? rs.resource : undefined;
    const serviceName = attributes(isRecord(resource) ? resource.attributes : undefined)['service.name'];
    for (const ss of arrayAt(rs, 'scopeSpans')) {
      for (const s of arrayAt(ss, 'spans')) {
        if (!isRecord(s) || typeof s.name !== 'string' || typeof s.traceId !== 'string' || typeof s.spanId !== 'string') {
          throw new Error(`not a span: ${JSON.stringify(s)}`);
        }
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: typeof s.parentSpanId === 'string' ? s.parentSpanId : '',
          name: s.name,
          attributes: attributes(s.attributes),
          service: typeof serviceName === 'string' ? serviceName : undefined,
        });
      }
    }
  }
  return spans;
}

function attributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of Array.isArray(list) ? (list as unknown[]) : []) {
    if (!isRecord(kv) || typeof kv.key !== 'string' || !isRecord(kv.value)) continue;
    const v = kv.value;
    if (typeof v.stringValue === 'string') out[kv.key] = v.stringValue;
    else if (typeof v.boolValue === 'boolean') out[kv.key] = v.boolValue;
    else if (typeof v.doubleValue === 'number') out[kv.key] = v.doubleValue;
    // int64 is a string in OTLP/JSON (it may not fit a double); some encoders send a number.
    else if (typeof v.intValue === 'string' || typeof v.intValue === 'number') out[kv.key] = Number(v.intValue);
  }
  return out;
}

function arrayAt(o: unknown, key: string): unknown[] {
  if (!isRecord(o)) throw new Error(`expected an object with ${key}, got ${JSON.stringify(o)}`);
  const v = o[key];
  return Array.isArray(v) ? (v as unknown[]) : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
