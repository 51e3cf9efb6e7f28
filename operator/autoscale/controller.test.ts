// The autoscaler's shell against a fake pool cache and a fake scale subresource: it writes the planned target once,
// guarded by the pool's resourceVersion, records why, and then writes nothing at rest; a 409 plans again; a restart
// neither writes its record again nor empties the pool before the stabilization window.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { AutoscalingSpec, InstancePool, InstancePoolStatus } from '../api/types.js';
import type { Cache } from '../kube/informer-set.js';
import type { WorkQueue } from '../kube/workqueue.js';
import { Autoscaler } from './controller.js';

const KEY = 'ns/web';

function pool(autoscaling: AutoscalingSpec | undefined, over: { targetSize?: number; status?: InstancePoolStatus; paused?: boolean } = {}): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'web', namespace: 'ns', uid: 'u1', resourceVersion: '7', generation: 1 },
    spec: {
      template: { spec: { containers: [{ name: 'app', image: 'app' }] } },
      targetSize: over.targetSize ?? 1,
      maxSize: 60,
      ...(over.paused !== undefined && { paused: over.paused }),
      ...(autoscaling && { autoscaling }),
    },
    status: over.status ?? { warmup: { averageSeconds: 2, samples: 3 }, claimedCount: 0 },
  };
}

function harness(initial: InstancePool) {
  let current = initial;
  let clock = 1_000_000;
  const scales: { replicas: number; resourceVersion: string | undefined }[] = [];
  const events: { reason: string; message: string }[] = [];
  const woken: string[] = [];
  let answer: (() => Promise<unknown>) | undefined;
  const custom = {
    patchNamespacedCustomObjectScale: (req: { body: { spec: { replicas: number }; metadata?: { resourceVersion?: string } } }) => {
      scales.push({ replicas: req.body.spec.replicas, resourceVersion: req.body.metadata?.resourceVersion });
      return answer ? answer() : Promise.resolve({});
    },
  } as unknown as CustomObjectsApi;
  const pools: Cache<InstancePool> = {
    get: () => current,
    list: () => [current],
    onAdd: () => undefined,
    onUpdate: () => undefined,
    onDelete: () => undefined,
  };
  const autoscaler = new Autoscaler({
    custom,
    pools,
    queue: { add: () => undefined } as unknown as WorkQueue,
    poolQueue: { add: (k) => woken.push(k) },
    events: { record: (_o, _t, reason, message) => events.push({ reason, message }) },
    now: () => clock,
  });
  return {
    autoscaler,
    scales,
    events,
    woken,
    set: (p: InstancePool) => (current = p),
    advance: (ms: number) => (clock += ms),
    at: () => clock,
    fail: (fn: (() => Promise<unknown>) | undefined) => (answer = fn),
  };
}

const objective: AutoscalingSpec = { mode: 'Objective', maxWaitProbability: 0.01, rateWindowSeconds: 20, scaleDownStabilizationSeconds: 15 };

/** Claims every 200 ms (5/s) for `seconds`. */
function load(h: ReturnType<typeof harness>, seconds: number): void {
  for (let i = 0; i < seconds * 5; i++) {
    h.advance(200);
    h.autoscaler.arrived(KEY, h.at());
  }
}

describe('Autoscaler', () => {
  test('Objective at 5/s: one guarded scale write to the formula, an Event, the record; then nothing at rest', async () => {
    const h = harness(pool(objective));
    load(h, 20);
    expect(await h.autoscaler.reconcile(KEY)).toEqual({ requeueAfterMs: 1000 });
    // 5/s x (2 s warm-up + 1 s reaction) = 15 expected arrivals: P[X >= 26] <= 1%.
    expect(h.scales).toEqual([{ replicas: 26, resourceVersion: '7' }]);
    expect(h.events.map((e) => e.reason)).toEqual(['AutoscaleUp']);
    const report = h.autoscaler.report(KEY);
    expect(report?.status).toMatchObject({ target: 26, reason: 'Objective', warmupSeconds: 2, floor: 0 });
    expect(report?.status?.claimRate).toBeCloseTo(5, 0);
    expect(report?.status?.predictedWaitProbability).toBeLessThanOrEqual(0.01);
    expect(report?.status?.lastScaleTime).toBeDefined();
    expect(report?.condition).toMatchObject({ status: 'True', reason: 'Objective' });
    expect(h.woken).toEqual([KEY]);

    // The cache shows the write; the rate holds: nothing more is written or woken.
    h.set(pool(objective, { targetSize: 26 }));
    for (let i = 0; i < 5; i++) {
      load(h, 1);
      await h.autoscaler.reconcile(KEY);
    }
    expect(h.scales).toHaveLength(1);
    expect(h.woken).toEqual([KEY]);
    expect(h.autoscaler.report(KEY)).toBe(report);
  });

  test('a manual targetSize is overwritten', async () => {
    const h = harness(pool(objective));
    load(h, 20);
    await h.autoscaler.reconcile(KEY);
    h.set(pool(objective, { targetSize: 3 }));
    load(h, 1);
    await h.autoscaler.reconcile(KEY);
    expect(h.scales.map((s) => s.replicas)).toEqual([26, 26]);
  });

  test('a 409 plans again soon, with no Event and no record of a target that was not written', async () => {
    const h = harness(pool(objective));
    load(h, 20);
    h.fail(() => Promise.reject(Object.assign(new Error('conflict'), { code: 409 })));
    expect(await h.autoscaler.reconcile(KEY)).toEqual({ requeueAfterMs: 100 });
    expect(h.events).toEqual([]);
    expect(h.autoscaler.report(KEY)).toBeUndefined();
  });

  test('a pool without autoscaling is left alone and has no report', async () => {
    const h = harness(pool(undefined));
    h.autoscaler.arrived(KEY, h.at());
    expect(await h.autoscaler.reconcile(KEY)).toBeUndefined();
    expect(h.scales).toEqual([]);
    expect(h.autoscaler.report(KEY)).toBeUndefined();
  });

  test('a paused pool is not resized', async () => {
    const h = harness(pool(objective, { paused: true }));
    load(h, 20);
    await h.autoscaler.reconcile(KEY);
    expect(h.scales).toEqual([]);
  });

  test('after a restart: the shown record is kept (no write) and the target holds through the window', async () => {
    const shown = { target: 26, reason: 'Objective', floor: 0, claimRate: 5, lastScaleTime: '2026-12-06T06:00:00Z' };
    const h = harness(pool(objective, { targetSize: 26, status: { warmup: { averageSeconds: 2 }, autoscaling: shown } }));
    // No arrivals seen yet by this process: the rate reads 0, but the window holds what it found.
    await h.autoscaler.reconcile(KEY);
    expect(h.scales).toEqual([]);
    expect(h.autoscaler.report(KEY)?.status).toBe(shown);
    h.advance(14_000);
    await h.autoscaler.reconcile(KEY);
    expect(h.scales).toEqual([]);
    h.advance(2000);
    await h.autoscaler.reconcile(KEY);
    expect(h.scales.map((s) => s.replicas)).toEqual([0]);
  });

  test('a time zone the runtime does not know: condition False naming the field, a Warning, the other windows still apply', async () => {
    const spec: AutoscalingSpec = {
      mode: 'Proportional',
      percentOfClaimed: 50,
      schedule: [
        { start: '* * * * *', durationSeconds: 120, timeZone: 'Mars/Olympus_Mons', minSize: 9 },
        { start: '* * * * *', durationSeconds: 120, minSize: 4 },
      ],
    };
    const h = harness(pool(spec, { status: { claimedCount: 2 } }));
    await h.autoscaler.reconcile(KEY);
    expect(h.scales.map((s) => s.replicas)).toEqual([4]);
    const condition = h.autoscaler.report(KEY)?.condition;
    expect(condition).toMatchObject({ status: 'False', reason: 'InvalidSchedule' });
    expect(condition?.message).toContain('spec.autoscaling.schedule[0].timeZone: unknown time zone "Mars/Olympus_Mons"');
    expect(h.events.map((e) => e.reason)).toEqual(['InvalidSchedule', 'AutoscaleUp']);
  });
});
