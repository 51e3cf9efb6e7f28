// Issue 23 on the local cluster: utilization for every pool, at the cost of one PodMetrics list per interval.
// Pools WITHOUT spec.metrics (nobody reads an endpoint of theirs) report status.utilization.avgCpuPercent and
// avgMemoryPercent once metrics-server reports their members (kwok feeds it from the sim.warmpool.dev annotations),
// and the operator lists PodMetrics once per interval for all of them (audit log, by the operator's own identity):
// not once per pool. Once the figures are shown, a steady load costs no status write (the hysteresis).
//
// The operator watches this file's namespace only, so "one list per interval" is one namespaced list; with all
// namespaces watched it is one cluster-wide list (the unit tests in operator/utilization cover both scopes).
import { KubeConfig } from '@kubernetes/client-node';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { AUDIT_ALL_VERBS_GROUP } from '../e2e/cluster/stages.js';
import type { InstancePool } from '../operator/api/types.js';
import { describeWrites, requestsBy, writesBy } from './support/audit.js';
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { poolManifest } from './support/pools.js';

const POOLS = 12;
const INTERVAL_SECONDS = 3;
/** metrics-server's first report took 32–60 s when idle and longer under a full parallel test run. */
const POD_METRICS_DEADLINE_MS = 270_000;
/** The window in which lists and writes are counted once every pool shows its figures. */
const WINDOW_MS = 5 * INTERVAL_SECONDS * 1000;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
let user = '';

/** Members that use half of their cpu request and a quarter of their memory request. */
const usage = { 'sim.warmpool.dev/cpu': '250m', 'sim.warmpool.dev/memory': '256Mi' };
const requests = {
  containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: '500m', memory: '1Gi' } } }],
};

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('util-all'));
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  user = `warmpool-util-all-${ns}`;
  const kc = new KubeConfig();
  // Its own user, and every verb audited (lists are not, by default), so its PodMetrics lists can be counted.
  kc.loadFromFile(await cluster.kubeconfigFor(user, ['system:masters', AUDIT_ALL_VERBS_GROUP]));
  op = await startOperatorInProcess(ns, { kubeConfig: kc, podMetricsIntervalSeconds: INTERVAL_SECONDS });
  const manifests = Array.from({ length: POOLS }, (_, i) => poolManifest(ns, `p${i}`, { targetSize: 1, annotations: usage, podSpec: requests }));
  await kubectl(['apply', '-f', '-'], manifests.join('\n'));
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

const within = (actual: number | undefined, want: number, fraction = 0.1): boolean =>
  actual !== undefined && Math.abs(actual - want) <= fraction * want;

async function listPools(): Promise<InstancePool[]> {
  return (JSON.parse(await kubectl(['-n', ns, 'get', 'instancepools', '-o', 'json'])) as { items: InstancePool[] }).items;
}

test(`${POOLS} pools without spec.metrics show cpu and memory; one PodMetrics list per interval measures them all; no status write at rest`, async () => {
  const started = Date.now();
  const shown = await eventually(
    `every pool shows avgCpuPercent 50 and avgMemoryPercent 25`,
    async () => {
      const pools = await listPools();
      const ok = pools.length === POOLS && pools.every((p) => within(p.status?.utilization?.avgCpuPercent, 50) && within(p.status?.utilization?.avgMemoryPercent, 25));
      return ok ? pools : undefined;
    },
    POD_METRICS_DEADLINE_MS,
    1000,
  );
  const shownAt = Date.now();
  // No spec.metrics: no endpoint was read, so no request figures are claimed.
  for (const pool of shown) expect(pool.status?.utilization?.combinedRps).toBeUndefined();

  // Let the last status writes land, then count over a window of several intervals.
  await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_SECONDS * 1000));
  const from = Date.now();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const to = Date.now();
  // The audit log holds a request once it completed: give the window's last ones a moment.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const lists = requestsBy(user, from, to).filter((e) => e.verb === 'list' && e.objectRef?.apiGroup === 'metrics.k8s.io' && e.objectRef.resource === 'pods');
  const intervals = WINDOW_MS / (INTERVAL_SECONDS * 1000);
  const statusWrites = writesBy(user, from, to).filter((e) => e.objectRef?.resource === 'instancepools');
  process.stdout.write(
    `[utilization-all] ${POOLS} pools: figures shown ${((shownAt - started) / 1000).toFixed(1)} s after the pools were made; ` +
      `${lists.length} PodMetrics lists in ${WINDOW_MS / 1000} s (${intervals} intervals of ${INTERVAL_SECONDS} s), ` +
      `${statusWrites.length} pool writes at rest\n`,
  );
  // One list per interval, whatever the number of pools (a list per pool would be POOLS per interval), namespaced
  // to the watched namespace and selecting by the pool label.
  expect(lists.length).toBeGreaterThanOrEqual(intervals - 1);
  expect(lists.length).toBeLessThanOrEqual(intervals + 1);
  for (const list of lists) expect(list.objectRef?.namespace).toBe(ns);
  expect(describeWrites(statusWrites)).toEqual([]);
}, POD_METRICS_DEADLINE_MS + 90_000);
