// Autosizing against the real control plane (issue 22): a load generator in the test creates claims at a set rate
// and releases (deletes) each a second later. Proportional follows the claimed members; Objective sizes the pool from
// the claim rate and warm-up so that at most 1% of claims wait, and comes down only after its stabilization window;
// a schedule window raises the floor at its start and lowers it at its end. The schedule pool runs in the background
// from the start (its window opens at a minute boundary), so the file's time is the longest test's, not the sum.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { InstancePool } from '../operator/api/types.js';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { getPool, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
let api: CustomObjectsApi;
const GROUP = { group: 'warmpool.dev', version: 'v1alpha1' };

/** Every spec.targetSize the schedule pool had, polled every 250 ms from the start. */
const scheduleSeen: { atMs: number; target: number }[] = [];
let scheduleWindow: { startMs: number; endMs: number } | undefined;
let recording: Promise<void> | undefined;
let stopRecording = false;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('autoscale'));
  op = await startOperatorInProcess(ns);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  api = kc.makeApiClient(CustomObjectsApi);
  await startSchedulePool();
});

afterAll(async () => {
  stopRecording = true;
  await recording;
  await op?.stop();
  await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function pool(name: string): Promise<InstancePool> {
  return (await api.getNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'instancepools', name })) as InstancePool;
}

/** Creates claims of `pool` every 1000/rate ms until `stop()` says so; each is deleted `holdMs` after its creation. */
function loadGenerator(poolName: string, rate: () => number, holdMs: number): { stop: () => Promise<number> } {
  let stopped = false;
  let created = 0;
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    const q = p.catch(() => undefined).finally(() => pending.delete(q));
    pending.add(q);
  };
  const run = (async () => {
    let next = Date.now();
    while (!stopped) {
      const name = `${poolName}-${created++}`;
      track(
        api
          .createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'poolclaims', body: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: ns }, spec: { poolName } } })
          .then(() => sleep(holdMs))
          .then(() => api.deleteNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'poolclaims', name })),
      );
      next += 1000 / rate();
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await run;
      await Promise.all([...pending]);
      return created;
    },
  };
}

/** The claim queue-stage histogram of a pool: how many claims, and how many waited more than 0.5 s. */
async function queueStage(poolName: string): Promise<{ count: number; waited: number; over100ms: number; over1s: number }> {
  const text = await (await fetch(op?.metricsUrl ?? '')).text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? '0');
  const labels = `namespace="${ns}",pool="${poolName}",stage="queue"`;
  const count = value(new RegExp(`warmpool_claim_duration_seconds_count\\{${labels}\\} (\\S+)`));
  const fast = value(new RegExp(`warmpool_claim_duration_seconds_bucket\\{le="0.5",${labels}\\} (\\S+)`));
  const veryFast = value(new RegExp(`warmpool_claim_duration_seconds_bucket\\{le="0.1",${labels}\\} (\\S+)`));
  const slow = value(new RegExp(`warmpool_claim_duration_seconds_bucket\\{le="1",${labels}\\} (\\S+)`));
  return { count, waited: count - fast, over100ms: count - veryFast, over1s: count - slow };
}

/** The formula, computed here on its own: smallest n with P[Poisson(mean) >= n] <= p (summed from 0: mean is small). */
function formula(mean: number, p: number): number {
  let below = 0; // P[X < n]
  let term = Math.exp(-mean);
  for (let n = 0; ; n++) {
    if (1 - below <= p) return n;
    below += term;
    term = (term * mean) / (n + 1);
  }
}

test('Proportional 50%: 10 claimed -> 5, 20 claimed -> 10, never below minSize', async () => {
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'prop', { targetSize: 2, spec: { minSize: 2, maxSize: 40, autoscaling: { mode: 'Proportional', percentOfClaimed: 50, scaleDownStabilizationSeconds: 0 } } }),
  );
  const atRest = await poolWhere(ns, 'prop', 'targetSize at minSize 2', (p) => p.spec.targetSize === 2 && p.status?.autoscaling?.target === 2);
  expect(atRest.status?.autoscaling?.reason).toBe('MinSize');
  const claims = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      await api.createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'poolclaims', body: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name: `prop-${i}` }, spec: { poolName: 'prop' } } });
    }
  };
  await claims(0, 10);
  const ten = await poolWhere(ns, 'prop', '10 claimed, target 5', (p) => p.status?.claimedCount === 10 && p.spec.targetSize === 5, 60_000);
  // The record is of the change, made at 9 or 10 claimed (both round to 5).
  expect(ten.status?.autoscaling).toMatchObject({ target: 5, reason: 'Proportional' });
  await claims(10, 20);
  await poolWhere(ns, 'prop', '20 claimed, target 10', (p) => p.status?.claimedCount === 20 && p.spec.targetSize === 10, 60_000);
  await kubectl(['-n', ns, 'delete', 'pclaim', '--all', '--wait=false']);
  await poolWhere(ns, 'prop', 'no claims, back to minSize 2', (p) => p.status?.claimedCount === 0 && p.spec.targetSize === 2, 60_000);
  // A manual change is overwritten.
  await kubectl(['-n', ns, 'scale', 'ipool/prop', '--replicas=7']);
  await poolWhere(ns, 'prop', 'kubectl scale overwritten back to 2', (p) => p.metadata.generation !== atRest.metadata.generation && p.spec.targetSize === 2);
}, 150_000);

test('Objective 0.01, warm-up 2 s, 5 claims/s: at most 1% wait, target within 2 of the formula; down only after the window', async () => {
  const stabilizationSeconds = 15;
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'obj', {
      targetSize: 1,
      annotations: { 'sim.warmpool.dev/ready-after': '2s' },
      spec: { maxSize: 60, autoscaling: { mode: 'Objective', maxWaitProbability: 0.01, rateWindowSeconds: 30, scaleDownStabilizationSeconds: stabilizationSeconds } },
    }),
  );
  await poolWhere(ns, 'obj', 'a measured warm-up', (p) => (p.status?.warmup?.samples ?? 0) > 0 && p.status?.readyCount === 1, 30_000);
  let rate = 5;
  const load = loadGenerator('obj', () => rate, 1000);
  // The first 20 s: the rate estimate and the pool build up (shortened from the 60 s run: 20 s of build-up,
  // then 30 s measured at 5/s, 150 claims, is the same assertion with a sample where 1% is one claim).
  await sleep(20_000);
  // A claim waits for a member exactly when it arrives while no member is ready; with arrivals at a steady rate the
  // share of claims that find the pool empty is the share of time it is empty. The pool's status is sampled every
  // 250 ms for 30 s (fewer when the API server is slow). The queue-stage histogram is printed beside it: on a loaded
  // machine it also counts claims that found a ready member but waited for a slow pass (measured here at load 10 on
  // 2 cores: 14-30% over 0.5 s while the pool was never empty), so it is reported, not asserted.
  const before = await queueStage('obj');
  const samples: { ready: number; pending: number }[] = [];
  // When the target last rose: the window counts from the last recommendation at the high target, which may come
  // before the rate drops (the estimate at a steady 5/s moves), never from before this.
  let target = -1;
  let raisedAt = Date.now();
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const p = await pool('obj');
    samples.push({ ready: p.status?.readyCount ?? 0, pending: p.status?.pendingClaims ?? 0 });
    if (p.spec.targetSize > target) raisedAt = Date.now();
    target = p.spec.targetSize;
    await sleep(250);
  }
  const after = await queueStage('obj');
  const settled = await pool('obj');
  const claims = after.count - before.count;
  const waited = after.waited - before.waited;
  const empty = samples.filter((x) => x.ready === 0).length;
  const w = settled.status?.autoscaling?.warmupSeconds ?? Number.NaN;
  const want = formula(5 * (w + 1), 0.01);
  console.log(
    `Objective at 5/s, after the first 20 s: pool empty in ${empty} of ${samples.length} samples (min ready ` +
      `${Math.min(...samples.map((x) => x.ready))}); queue stage: ${waited} of ${claims} claims over 0.5 s; target ${settled.spec.targetSize}, ` +
      `formula ${want} (warm-up ${w} s, estimated ${settled.status?.autoscaling?.claimRate}/s, predicted wait probability ` +
      `${settled.status?.autoscaling?.predictedWaitProbability})`,
  );
  expect(claims).toBeGreaterThanOrEqual(120);
  expect(samples.length).toBeGreaterThanOrEqual(40);
  expect(empty / samples.length).toBeLessThanOrEqual(0.01);
  expect(Math.abs(settled.spec.targetSize - want)).toBeLessThanOrEqual(2);
  expect(settled.status?.autoscaling?.predictedWaitProbability).toBeLessThanOrEqual(0.01);

  // The rate drops to 0.5/s: the target holds for the stabilization window, then comes down.
  const high = settled.spec.targetSize;
  if (high > target) raisedAt = Date.now();
  rate = 0.5;
  const droppedAt = Date.now();
  const fell = await eventually(
    'the target to come down',
    async () => {
      const p = await pool('obj');
      return p.spec.targetSize < high ? { atMs: Date.now(), target: p.spec.targetSize } : undefined;
    },
    60_000,
    250,
  );
  const lowered = await getPool(ns, 'obj');
  await load.stop();
  const heldFor = (fell.atMs - droppedAt) / 1000;
  const sinceRaised = (fell.atMs - raisedAt) / 1000;
  console.log(
    `rate 5/s -> 0.5/s: target ${high} held ${heldFor.toFixed(1)} s after the drop, ${sinceRaised.toFixed(1)} s after it last rose ` +
      `(window ${stabilizationSeconds} s), then ${fell.target}`,
  );
  expect(sinceRaised).toBeGreaterThanOrEqual(stabilizationSeconds - 0.5);
  expect(fell.target).toBeLessThan(high);
  // The first step down may itself be held above the newest recommendation by the window (reason Stabilized).
  expect(lowered.status?.autoscaling?.reason).toMatch(/Objective|Stabilized|WithinTolerance/);
}, 180_000);

/** The wall clock of `ms` in the zone: minute, hour, day of month, month. */
function wall(ms: number, timeZone: string): { minute: number; hour: number; day: number; month: number } {
  const parts = new Map(new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { minute: Number(parts.get('minute')), hour: Number(parts.get('hour')), day: Number(parts.get('day')), month: Number(parts.get('month')) };
}

/** A pool whose schedule window opens at the first minute boundary at least 15 s away, read in Asia/Kolkata (+5:30). */
async function startSchedulePool(): Promise<void> {
  const startMs = Math.ceil((Date.now() + 15_000) / 60_000) * 60_000;
  const zone = 'Asia/Kolkata';
  const w = wall(startMs, zone);
  scheduleWindow = { startMs, endMs: startMs + 60_000 };
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'sched', {
      targetSize: 0,
      spec: {
        maxSize: 20,
        autoscaling: {
          mode: 'Proportional',
          percentOfClaimed: 50,
          scaleDownStabilizationSeconds: 0,
          schedule: [{ start: `${w.minute} ${w.hour} ${w.day} ${w.month} *`, durationSeconds: 60, timeZone: zone, minSize: 3 }],
        },
      },
    }),
  );
  recording = (async () => {
    while (!stopRecording) {
      try {
        scheduleSeen.push({ atMs: Date.now(), target: (await pool('sched')).spec.targetSize });
      } catch {
        // not created yet
      }
      await sleep(250);
    }
  })();
}

test('a schedule window (Asia/Kolkata) raises the floor at its start and lowers it at its end', async () => {
  const window = scheduleWindow;
  if (!window) throw new Error('no schedule pool');
  await sleep(Math.max(0, window.endMs + 8_000 - Date.now()));
  const firstAt = (from: number, target: number): number | undefined => scheduleSeen.find((s) => s.atMs >= from && s.target === target)?.atMs;
  const before = scheduleSeen.filter((s) => s.atMs < window.startMs - 500);
  const raised = firstAt(window.startMs - 2000, 3);
  const lowered = raised === undefined ? undefined : firstAt(raised, 0);
  console.log(
    `schedule: window ${new Date(window.startMs).toISOString()} + 60 s; floor 3 seen ${raised === undefined ? 'never' : ((raised - window.startMs) / 1000).toFixed(2)} s ` +
      `after the start, 0 again ${lowered === undefined ? 'never' : ((lowered - window.endMs) / 1000).toFixed(2)} s after the end`,
  );
  expect(before.length).toBeGreaterThan(0);
  expect(before.every((s) => s.target === 0)).toBe(true);
  expect(raised).toBeDefined();
  expect(lowered).toBeDefined();
  // Polled every 250 ms: the change is seen within a few seconds of each edge, never before it.
  expect((raised ?? 0) - window.startMs).toBeGreaterThanOrEqual(-250);
  expect((raised ?? 0) - window.startMs).toBeLessThan(5_000);
  expect((lowered ?? 0) - window.endMs).toBeGreaterThanOrEqual(-250);
  expect((lowered ?? 0) - window.endMs).toBeLessThan(5_000);
  const inside = scheduleSeen.filter((s) => s.atMs > (raised ?? 0) && s.atMs < window.endMs - 250);
  expect(inside.every((s) => s.target === 3)).toBe(true);
}, 180_000);
