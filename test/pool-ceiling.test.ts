// The cost ceiling and evictions (issue 17), against the real API server with the operator in-process: terminating
// members count toward maxSize, a pool over its ceiling says so, and an evicted ephemeral member drives back-off
// while an evicted spot member does not.
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { watchPods } from './support/pod-watch.js';
import { claimManifest, claimWhere, condition, isReady, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('ceiling'));
  op = await startOperatorInProcess(ns);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

const live = (pods: PodJson[]): PodJson[] => pods.filter((p) => !p.metadata.deletionTimestamp);

test('TTL recycling with a long grace period never runs more than maxSize pods', async () => {
  const selector = 'warmpool.dev/pool=grace';
  const watch = await watchPods(ns, selector);
  try {
    // Members linger 10 s once deleted (a grace period), and go stale 2 s after they are ready.
    await kubectl(
      ['apply', '-f', '-'],
      poolManifest(ns, 'grace', {
        targetSize: 2,
        spec: { maxSize: 2, readyTTLSeconds: 2 },
        annotations: { 'sim.warmpool.dev/terminate-after': '10s' },
      }),
    );
    // A recycle happened: a member is terminating...
    await eventually('a stale member terminating', async () =>
      (await members(ns, 'grace')).some((p) => p.metadata.deletionTimestamp !== undefined) ? true : undefined,
    );
    // ...and for as long as it lingers, its replacement waits: never more than 2 pods, terminating ones included.
    await new Promise((r) => setTimeout(r, 6000));
    expect(watch.most()).toBeLessThanOrEqual(2);
    // Once it is gone the pool refills to 2.
    await eventually('refilled after the stale member is gone', async () => {
      const pods = await members(ns, 'grace');
      return pods.length === 2 && live(pods).filter(isReady).length >= 1 && watch.created() >= 3 ? true : undefined;
    }, 30_000);
    expect(watch.most()).toBeLessThanOrEqual(2);
  } finally {
    watch.stop();
    await kubectl(['-n', ns, 'delete', 'ipool', 'grace', '--wait=false']);
  }
}, 60_000);

test('maxSize lowered under the claimed members: the unclaimed one goes and the pool reports OverCeiling', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'capped', { targetSize: 2, spec: { maxSize: 4 } }));
  await poolWhere(ns, 'capped', 'readyCount 2', (p) => p.status?.readyCount === 2);
  for (const c of ['c1', 'c2', 'c3']) await kubectl(['apply', '-f', '-'], claimManifest(ns, c, 'capped'));
  for (const c of ['c1', 'c2', 'c3']) await claimWhere(ns, c, 'Bound', (x) => x.status?.phase === 'Bound');
  // 3 claimed leave room for 1 warm member under maxSize 4.
  await poolWhere(ns, 'capped', '3 claimed, 1 warm', (p) => p.status?.claimedCount === 3 && p.status.replicas === 1);

  await kubectl(['-n', ns, 'patch', 'ipool', 'capped', '--type=merge', '-p', '{"spec":{"targetSize":1,"maxSize":2}}']);
  const pool = await poolWhere(
    ns,
    'capped',
    'Degraded OverCeiling, no warm member left',
    (p) => condition(p, 'Degraded')?.reason === 'OverCeiling' && p.status?.replicas === 0,
  );
  expect(condition(pool, 'Degraded')).toMatchObject({
    status: 'True',
    message: '3 members (3 claimed) over maxSize of 2: no member is created and unclaimed ones are deleted until claims end',
  });
  await eventually('only the 3 claimed members left', async () =>
    live(await members(ns, 'capped')).length === 3 ? true : undefined,
  );

  // Back under the ceiling once claims end: the condition clears.
  await kubectl(['-n', ns, 'delete', 'pclaim', 'c1', 'c2']);
  await poolWhere(ns, 'capped', 'Degraded False', (p) => condition(p, 'Degraded')?.status === 'False');
  await kubectl(['-n', ns, 'delete', 'pclaim', 'c3', '--wait=false']);
  await kubectl(['-n', ns, 'delete', 'ipool', 'capped', '--wait=false']);
}, 60_000);

/** Evicts a pod through the Eviction API, as `kubectl drain` does. */
async function evict(name: string): Promise<void> {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } });
  await kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, '-f', '-'], body);
}

test.each<{ lifecycleClass: 'ephemeral' | 'spot'; degraded: boolean }>([
  { lifecycleClass: 'ephemeral', degraded: true },
  { lifecycleClass: 'spot', degraded: false },
])('five members evicted through the Eviction API: a $lifecycleClass pool degraded is $degraded', async ({ lifecycleClass, degraded }) => {
  const name = `evict-${lifecycleClass}`;
  await kubectl(['apply', '-f', '-'], poolManifest(ns, name, { targetSize: 5, spec: { lifecycleClass } }));
  await poolWhere(ns, name, 'readyCount 5', (p) => p.status?.readyCount === 5);
  const first = live(await members(ns, name));
  await Promise.all(first.map((p) => evict(p.metadata.name)));
  if (degraded) {
    const pool = await poolWhere(ns, name, 'Degraded Evicted', (p) => condition(p, 'Degraded')?.status === 'True');
    expect(condition(pool, 'Degraded')).toMatchObject({ reason: 'Evicted' });
    expect(condition(pool, 'Degraded')?.message).toContain('5 evictions');
  } else {
    // Routine churn: replaced, and never Degraded on the way.
    const uids = new Set(first.map((p) => p.metadata.uid));
    await eventually('5 ready replacements', async () => {
      const pods = live(await members(ns, name)).filter((p) => !uids.has(p.metadata.uid) && isReady(p));
      return pods.length === 5 ? true : undefined;
    });
    const pool = await poolWhere(ns, name, 'readyCount 5', (p) => p.status?.readyCount === 5);
    expect(condition(pool, 'Degraded')?.status).toBe('False');
    expect(pool.status?.erroredCount ?? 0).toBe(0);
  }
  await kubectl(['-n', ns, 'delete', 'ipool', name, '--wait=false']);
}, 60_000);
