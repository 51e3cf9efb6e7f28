// Issue 12's acceptance on the local cluster, with the operator in-process: utilization from real PodMetrics
// (metrics-server, fed by kwok from the sim.warmpool.dev annotations) and from member endpoints the test serves on
// each pod's loopback IP; the per-pool and health metrics on /metrics; scrape errors of a failing member; claim
// counts and latency; and `promtool check metrics` on the whole exposition.
//
// metrics-server needs about a minute to report a pod's first PodMetrics, so the pools are created up front and a
// background poller records when the first PodMetrics and the expected utilization appear, while the other tests
// (failing member, claims, health metrics) run.
import { Writable } from 'node:stream';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import winston from 'winston';
import type { InstancePool, PoolUtilization } from '../operator/api/types.js';
import { configureLogging } from '../operator/telemetry/logger.js';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { MemberEndpoints } from './support/member-endpoints.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, listClaims, poolManifest, poolWhere } from './support/pools.js';
import { freePort } from './support/ports.js';
import { promtoolCheckMetrics, samplesOf, scrape, valueOf, type Sample } from './support/prometheus.js';

const INTERVAL_SECONDS = 2;
/** metrics-server took 56 s to report the first PodMetrics here; allow for a slower machine. */
// metrics-server's first report took 32–60 s when idle and longer under a full parallel test run.
const POD_METRICS_DEADLINE_MS = 270_000;
/** My polls see a change up to one poll period late on each side. */
const POLL_MS = 250;
const CLAIMS = 10;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
const endpoints: MemberEndpoints[] = [];
const logLines: Record<string, unknown>[] = [];
let watcher: UtilizationWatcher | undefined;
let claimsBound: Promise<number> = Promise.resolve(0);

const within = (actual: number | undefined, want: number, fraction = 0.1): boolean =>
  actual !== undefined && Math.abs(actual - want) <= fraction * want;

const metricsSpec = (port: number) => ({
  metrics: { port, intervalSeconds: INTERVAL_SECONDS, httpRequestsCounter: 'http_requests_total' },
});

/** Members that use a quarter of their memory request and half of their cpu request. */
const usage = { 'sim.warmpool.dev/cpu': '250m', 'sim.warmpool.dev/memory': '256Mi' };
const requests = {
  containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: '500m', memory: '1Gi' } } }],
};

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('obs'));
  // The operator's log lines, to find the one about the failing member.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  configureLogging({ levels: 'info', pretty: false, transports: [new winston.transports.Stream({ stream: sink })] });
  op = await startOperatorInProcess(ns);

  const [utilPort, flakyPort] = [await freePort(), await freePort()];
  endpoints.push(
    MemberEndpoints.start({ namespace: ns, pool: 'util', port: utilPort }),
    MemberEndpoints.start({ namespace: ns, pool: 'flaky', port: flakyPort, failing: (order) => order === 0 }),
  );
  await kubectl(
    ['apply', '-f', '-'],
    [
      poolManifest(ns, 'util', { targetSize: 4, annotations: usage, podSpec: requests, spec: metricsSpec(utilPort) }),
      poolManifest(ns, 'flaky', { targetSize: 2, spec: metricsSpec(flakyPort) }),
      poolManifest(ns, 'claims', { targetSize: 5 }),
    ].join('\n'),
  );
  watcher = new UtilizationWatcher(ns, 'util');
  claimsBound = makeClaims();
  claimsBound.catch(() => undefined); // awaited (and reported) by its test
}, 60_000);

afterAll(async () => {
  watcher?.stop();
  await Promise.all(endpoints.map((e) => e.stop()));
  await op?.stop();
  configureLogging();
  await cleanup();
});

/** Ten claims against the pool of five: half bind at once, the rest wait for replacements. */
async function makeClaims(): Promise<number> {
  await poolWhere(ns, 'claims', 'readyCount 5', (p) => p.status?.readyCount === 5);
  const manifests = Array.from({ length: CLAIMS }, (_, i) => claimManifest(ns, `c${i}`, 'claims'));
  await kubectl(['apply', '-f', '-'], manifests.join('\n'));
  return eventually(
    `${CLAIMS} claims Bound`,
    async () => {
      const bound = (await listClaims(ns)).filter((c) => c.status?.phase === 'Bound').length;
      return bound === CLAIMS ? bound : undefined;
    },
    60_000,
    500,
  );
}

/**
 * Polls the PodMetrics of a pool's members and the pool's status.utilization, recording when the first PodMetrics
 * appeared and when the utilization first matched the acceptance figures.
 */
class UtilizationWatcher {
  readonly startedAt = Date.now();
  firstPodMetricsAt: number | undefined;
  matchedAt: number | undefined;
  matched: PoolUtilization | undefined;
  last: PoolUtilization | undefined;
  private readonly api: CustomObjectsApi;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly namespace: string,
    private readonly pool: string,
  ) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig());
    this.api = kc.makeApiClient(CustomObjectsApi);
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    try {
      if (this.firstPodMetricsAt === undefined) {
        const list = (await this.api.listNamespacedCustomObject({
          group: 'metrics.k8s.io',
          version: 'v1beta1',
          namespace: this.namespace,
          plural: 'pods',
          labelSelector: `warmpool.dev/pool=${this.pool}`,
        })) as { items?: unknown[] };
        if ((list.items?.length ?? 0) > 0) this.firstPodMetricsAt = Date.now();
      }
      const pool = (await this.api.getNamespacedCustomObject({
        group: 'warmpool.dev',
        version: 'v1alpha1',
        namespace: this.namespace,
        plural: 'instancepools',
        name: this.pool,
      })) as InstancePool;
      const u = pool.status?.utilization;
      this.last = u;
      if (this.matchedAt === undefined && u && within(u.avgCpuPercent, 50) && within(u.avgMemoryPercent, 25) && within(u.combinedRps, 80)) {
        this.matchedAt = Date.now();
        this.matched = u;
        // PodMetrics appeared between this poll's two reads: no later than now.
        this.firstPodMetricsAt ??= this.matchedAt;
      }
    } catch {
      // metrics.k8s.io answers 404 for a while after start; keep polling
    }
    if (!this.stopped && this.matchedAt === undefined) this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }
}

const poolLabels = (pool: string): Record<string, string> => ({ namespace: ns, pool });

async function metrics(): Promise<{ text: string; samples: Sample[] }> {
  if (!op) throw new Error('operator not started');
  return scrape(op.metricsUrl);
}

test('a member whose endpoint fails is counted and logged per member; the pool still reports the others', async () => {
  const flaky = endpoints[1];
  if (!flaky) throw new Error('no endpoints');
  const [failing] = await eventually('the failing member served', async () => {
    const names = flaky.failingMembers();
    return names.length === 1 && flaky.members().length === 2 ? names : undefined;
  });
  const healthy = flaky.members().find((m) => m !== failing) ?? '';
  const errorsOf = (samples: Sample[], member: string): number | undefined =>
    valueOf(samples, 'warmpool_member_scrape_errors_total', { ...poolLabels('flaky'), member });

  const firstErrors = await eventually('scrape errors of the failing member', async () => {
    const n = errorsOf((await metrics()).samples, failing ?? '');
    return n !== undefined && n >= 1 ? n : undefined;
  }, 30_000, 500);
  // It keeps being scraped (and failing) every interval, while the healthy member's rate is reported.
  const { samples } = await eventually('more errors, and the healthy member rate', async () => {
    const m = await metrics();
    const errors = errorsOf(m.samples, failing ?? '') ?? 0;
    const rps = valueOf(m.samples, 'warmpool_pool_requests_per_second', { ...poolLabels('flaky'), protocol: 'http' });
    return errors > firstErrors && within(rps, 20) ? m : undefined;
  }, 30_000, 500);
  expect(errorsOf(samples, healthy) ?? 0).toBe(0);
  const pool = await poolWhere(ns, 'flaky', 'utilization of the healthy member', (p) => within(p.status?.utilization?.httpRps, 20));
  expect(pool.status?.utilization?.combinedRps).toBeCloseTo(pool.status?.utilization?.httpRps ?? -1, 5);
  expect(logLines).toContainEqual(
    expect.objectContaining({ level: 'warn', controller: 'scraper', message: 'member metrics scrape failed', namespace: ns, name: 'flaky', member: failing }),
  );
}, 60_000);

test(`after ${CLAIMS} claims the claim counter reads ${CLAIMS} and the latency histogram has ${CLAIMS} observations`, async () => {
  expect(await claimsBound).toBe(CLAIMS);
  const { samples } = await eventually('claim metrics', async () => {
    const m = await metrics();
    return valueOf(m.samples, 'warmpool_claims_total', { ...poolLabels('claims'), result: 'bound' }) === CLAIMS ? m : undefined;
  });
  for (const stage of ['queue', 'bind', 'total']) {
    expect(valueOf(samples, 'warmpool_claim_duration_seconds_count', { ...poolLabels('claims'), stage })).toBe(CLAIMS);
  }
  // Buckets from 1 ms to 10 minutes.
  const les = samplesOf(samples, 'warmpool_claim_duration_seconds_bucket', { ...poolLabels('claims'), stage: 'total' }).map((s) => s.labels.le);
  expect(les[0]).toBe('0.001');
  expect(les).toContain('600');
  expect(valueOf(samples, 'warmpool_claim_duration_seconds_bucket', { ...poolLabels('claims'), stage: 'total', le: '+Inf' })).toBe(CLAIMS);
}, 90_000);

test('/metrics has the health metrics and passes promtool check metrics', async () => {
  const { text, samples } = await eventually('the claims pool replenished', async () => {
    const m = await metrics();
    const ready = valueOf(m.samples, 'warmpool_pool_members', { ...poolLabels('claims'), state: 'ready' });
    const pending = valueOf(m.samples, 'warmpool_pool_pending_claims', poolLabels('claims'));
    return ready === 5 && pending === 0 ? m : undefined;
  }, 30_000, 500);
  const pool = poolLabels('claims');
  expect(valueOf(samples, 'warmpool_pool_members', { ...pool, state: 'claimed' })).toBe(CLAIMS);
  expect(valueOf(samples, 'warmpool_pool_members', { ...pool, state: 'warming' })).toBe(0);
  expect(valueOf(samples, 'warmpool_pool_members', { ...pool, state: 'errored' })).toBe(0);
  expect(valueOf(samples, 'warmpool_pool_target_size', pool)).toBe(5);
  expect(valueOf(samples, 'warmpool_pool_seconds_since_ready', pool)).toBe(0);
  expect(valueOf(samples, 'warmpool_member_warmup_seconds_count', pool)).toBeGreaterThanOrEqual(5 + CLAIMS);
  expect(valueOf(samples, 'warmpool_pool_ready_member_seconds_total', pool)).toBeGreaterThan(0);
  for (const controller of ['pool', 'claim']) {
    expect(valueOf(samples, 'warmpool_reconcile_total', { controller })).toBeGreaterThan(0);
    expect(valueOf(samples, 'warmpool_reconcile_duration_seconds_count', { controller })).toBeGreaterThan(0);
  }
  for (const name of ['pool', 'claim']) {
    expect(valueOf(samples, 'warmpool_workqueue_depth', { name })).toBeDefined();
    expect(valueOf(samples, 'warmpool_workqueue_adds_total', { name })).toBeGreaterThan(0);
    expect(valueOf(samples, 'warmpool_workqueue_queue_duration_seconds_count', { name })).toBeGreaterThan(0);
    expect(valueOf(samples, 'warmpool_workqueue_work_duration_seconds_count', { name })).toBeGreaterThan(0);
  }
  // Counters that may not have a series yet still declare themselves.
  for (const family of ['warmpool_reconcile_errors_total', 'warmpool_workqueue_retries_total', 'warmpool_member_recycles_total']) {
    expect(text).toContain(`# TYPE ${family} counter`);
  }
  const created = valueOf(samples, 'warmpool_api_requests_total', { verb: 'create', code: '201' });
  expect(created).toBeGreaterThanOrEqual(4 + 2 + 5 + CLAIMS);
  expect(samplesOf(samples, 'warmpool_api_requests_total', { verb: 'list' }).length).toBeGreaterThan(0);
  expect(valueOf(samples, 'warmpool_leader')).toBe(1);
  expect(valueOf(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(samplesOf(samples, 'nodejs_heap_size_used_bytes').length).toBe(1);

  const check = await promtoolCheckMetrics(text);
  expect({ code: check.code, output: (check.stdout + check.stderr).trim() }).toEqual({ code: 0, output: '' });
}, 60_000);

test('utilization: cpu 50 %, memory 25 % and 80 rps within two scrape intervals of the first PodMetrics, on /metrics too', async () => {
  const w = watcher;
  if (!w) throw new Error('no watcher');
  const matchedAt = await eventually(
    'status.utilization cpu 50 %, memory 25 %, 80 rps',
    async () => w.matchedAt,
    POD_METRICS_DEADLINE_MS,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; first PodMetrics at ${String(w.firstPodMetricsAt)}, last utilization ${JSON.stringify(w.last)}`);
  });
  const firstPodMetricsAt = w.firstPodMetricsAt ?? Number.NaN;
  expect(w.matched).toMatchObject({ httpRps: w.matched?.combinedRps, tcpRps: 0, methodRps: 0, inflight: 0 });
  expect(matchedAt - firstPodMetricsAt).toBeLessThanOrEqual(2 * INTERVAL_SECONDS * 1000 + 2 * POLL_MS);

  const { samples } = await metrics();
  const pool = poolLabels('util');
  // Ratios there (base units), percents in the status.
  expect(within(valueOf(samples, 'warmpool_pool_cpu_utilization_ratio', pool), 0.5)).toBe(true);
  expect(within(valueOf(samples, 'warmpool_pool_memory_utilization_ratio', pool), 0.25)).toBe(true);
  const combined = valueOf(samples, 'warmpool_pool_requests_per_second', { ...pool, protocol: 'combined' });
  expect(within(combined, 80)).toBe(true);
  expect(valueOf(samples, 'warmpool_pool_requests_per_second', { ...pool, protocol: 'http' })).toBe(combined);
  expect(valueOf(samples, 'warmpool_pool_inflight_requests', pool)).toBe(0);
  // Per-member series are off by default: they multiply the series count by the member count.
  expect(samplesOf(samples, 'warmpool_member_requests_per_second')).toHaveLength(0);
  process.stderr.write(
    `[observability] first PodMetrics ${((firstPodMetricsAt - w.startedAt) / 1000).toFixed(1)} s after the pools; ` +
      `utilization matched ${((matchedAt - firstPodMetricsAt) / 1000).toFixed(1)} s after that: ${JSON.stringify(w.matched)}\n`,
  );
}, POD_METRICS_DEADLINE_MS + 30_000);
