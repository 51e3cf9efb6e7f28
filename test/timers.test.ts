// Issue 17, defect 1: TTLs and timeouts past setTimeout's limit (2^31-1 ms, 24.8 days). setTimeout turns a longer
// delay into 1 ms, so a 30-day TTL woke its key every millisecond: the idle operator used 28% of a core. Here a pool
// and claims with 30-day TTLs and timeouts settle, then the operator (a process of its own, as deployed) must stay at
// rest: its reconcile and work-queue counters flat, its CPU under 5% of a core.
import { readFileSync } from 'node:fs';
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { claimManifest, claimWhere, members, poolManifest, poolWhere } from './support/pools.js';

const THIRTY_DAYS = 2_592_000;
const SAMPLE_MS = 12_000;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('timers'));
});

afterAll(async () => {
  await op?.kill('SIGTERM');
  await cleanup();
});

/** utime + stime of a process in seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Sum of a counter's samples over all label sets, from the operator's own /metrics. */
async function counter(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('30-day TTLs and timeouts: the settled operator stays at rest (flat counters, under 5% of a core)', async () => {
  // The schema accepts them: every one is an int32 of seconds.
  const longTimers = { readyTTLSeconds: THIRTY_DAYS, warmingTimeoutSeconds: THIRTY_DAYS };
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'serve', { targetSize: 1, spec: { maxSize: 2, ...longTimers } }));
  // Members that never get Ready: a warming member waits out its 30-day warming timeout, and a claim on this pool
  // stays Pending for its 30-day wait timeout.
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'stuck', { targetSize: 1, spec: longTimers, annotations: { 'sim.warmpool.dev/fail': 'never-ready' } }),
  );
  const claimTimers = { ttlSecondsAfterBound: THIRTY_DAYS, waitTimeoutSeconds: THIRTY_DAYS };
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'bound', 'serve', claimTimers));
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'pending', 'stuck', claimTimers));

  op = await spawnOperator(['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0']);
  const pid = op.child.pid ?? 0;
  const port = await eventually('the metrics port in the log', async () => /"metricsPort":(\d+)/.exec(op?.output() ?? '')?.[1]);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;

  // Settled: the bound claim's member claimed and its replacement ready (30-day TTL), the stuck pool's member
  // warming (30-day timeout), the other claim queued (30-day wait).
  await claimWhere(ns, 'bound', 'Bound', (c) => c.status?.phase === 'Bound');
  await poolWhere(ns, 'serve', 'one ready, one claimed', (p) => p.status?.readyCount === 1 && p.status.claimedCount === 1);
  await poolWhere(ns, 'stuck', 'one warming', (p) => p.status?.warmingCount === 1);
  await claimWhere(ns, 'pending', 'Pending', (c) => c.status?.phase === 'Pending');
  expect(await members(ns, 'stuck')).toHaveLength(1);
  // Let the last status writes and their watch events go by; then nothing is due for 30 days.
  await new Promise((r) => setTimeout(r, 3_000));

  const before = {
    reconciles: await counter(metricsUrl, 'warmpool_reconcile_total'),
    adds: await counter(metricsUrl, 'warmpool_workqueue_adds_total'),
    cpu: cpuSeconds(pid),
    at: Date.now(),
  };
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const after = {
    reconciles: await counter(metricsUrl, 'warmpool_reconcile_total'),
    adds: await counter(metricsUrl, 'warmpool_workqueue_adds_total'),
    cpu: cpuSeconds(pid),
    at: Date.now(),
  };
  const coreShare = (after.cpu - before.cpu) / ((after.at - before.at) / 1000);
  const figures = { reconciles: after.reconciles - before.reconciles, adds: after.adds - before.adds, coreShare };
  process.stdout.write(`timers at rest over ${SAMPLE_MS / 1000} s: ${JSON.stringify(figures)}\n`);
  // A couple of passes may still trail the settling (a late status event); a timer firing every millisecond makes
  // thousands.
  expect(figures.reconciles).toBeLessThanOrEqual(4);
  expect(figures.adds).toBeLessThanOrEqual(4);
  expect(coreShare).toBeLessThan(0.05);
});
