// Tracing end to end: the operator runs as a child process with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP
// receiver on loopback, and a claim produces a trace whose reconcile and bind spans name the pool and the claim.
// (Without the variable the SDK is never loaded: operator/telemetry/tracing.test.ts checks that in a fresh process.)
import { SpanAttributes } from '../operator/telemetry/tracing.js';
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { claimManifest, claimWhere, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let receiver: OtlpReceiver | undefined;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('trace'));
  receiver = await OtlpReceiver.start();
  // spawnOperator passes this file's environment on; set the OTel variables for the child only.
  const saved = { ...process.env };
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'warmpool',
    // Export batches every 200 ms rather than every 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  try {
    op = await spawnOperator(['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0']);
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}, 60_000);

afterAll(async () => {
  await op?.kill('SIGTERM');
  await receiver?.stop();
  await cleanup();
});

test('a claim produces a trace whose reconcile and bind spans carry the pool and the claim', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'traced', { targetSize: 1 }));
  await poolWhere(ns, 'traced', 'readyCount 1', (p) => p.status?.readyCount === 1);
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'c1', 'traced'));
  const claim = await claimWhere(ns, 'c1', 'Bound', (c) => c.status?.phase === 'Bound');

  const spans = (): readonly ReceivedSpan[] => receiver?.spans() ?? [];
  const bind = await eventually(
    'a claim.bind span for c1',
    async () => spans().find((s) => s.name === 'claim.bind' && s.attributes[SpanAttributes.claim] === 'c1'),
    30_000,
    200,
  ).catch((e: unknown) => {
    throw new Error(
      `${String(e)}\nspans: ${JSON.stringify(spans().map((s) => s.name))}\nrejected: ${JSON.stringify(receiver?.rejected)}\n${op?.output() ?? ''}`,
    );
  });
  expect(bind.attributes).toMatchObject({
    [SpanAttributes.namespace]: ns,
    [SpanAttributes.pool]: 'traced',
    [SpanAttributes.claim]: 'c1',
    [SpanAttributes.member]: claim.status?.member?.name,
  });
  expect(bind.service).toBe('warmpool');

  // The bind happened inside the claim controller's reconcile of the pool: same trace, parent span.
  const pass = spans().find((s) => s.spanId === bind.parentSpanId);
  expect(pass).toMatchObject({ name: 'claim.reconcile', traceId: bind.traceId });
  expect(pass?.attributes[SpanAttributes.pool]).toBe('traced');

  // The pool controller's passes are traced too, each with the pool it reconciled.
  const poolPasses = spans().filter((s) => s.name === 'pool.reconcile' && s.attributes[SpanAttributes.pool] === 'traced');
  expect(poolPasses.length).toBeGreaterThan(0);
  expect(receiver?.rejected).toEqual([]);
}, 60_000);
