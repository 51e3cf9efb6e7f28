// InstancePool against the real apiserver, through kubectl, with the operator running in-process and scoped to
// this file's namespace.
import { nodeManifest, podOctetFor } from '../e2e/cluster/nodes.js';
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { watchPods } from './support/pod-watch.js';
import { condition, getPool, isReady, members, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('pool'));
  op = await startOperatorInProcess(ns);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

const warm = (p: { status?: { warmingCount?: number; readyCount?: number } }): number =>
  (p.status?.warmingCount ?? 0) + (p.status?.readyCount ?? 0);

test('a pool of 3 becomes ready, its members labelled and owned by the pool', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'basic', { targetSize: 3 }));
  const pool = await poolWhere(ns, 'basic', 'readyCount 3', (p) => p.status?.readyCount === 3);
  expect(condition(pool, 'Ready')?.status).toBe('True');
  expect(pool.status?.observedGeneration).toBe(pool.metadata.generation);
  const pods = await members(ns, 'basic');
  expect(pods).toHaveLength(3);
  for (const p of pods) {
    expect(p.metadata.labels?.['warmpool.dev/state']).toBe('ready');
    expect(p.metadata.labels?.['warmpool.dev/template-hash']).toMatch(/^[0-9a-f]+$/);
    expect(p.metadata.annotations?.['warmpool.dev/warming-started-at']).toBeDefined();
    expect(p.metadata.annotations?.['warmpool.dev/ready-at']).toBeDefined();
    const owner = p.metadata.ownerReferences?.find((o) => o.controller);
    expect(owner).toMatchObject({ kind: 'InstancePool', name: 'basic', uid: pool.metadata.uid });
  }
  const table = await kubectl(['-n', ns, 'get', 'ipool', 'basic']);
  expect(table).toMatch(/NAME\s+TARGET\s+WARMING\s+READY\s+CLAIMED\s+PHASE\s+AGE/);
  expect(table).toMatch(/basic\s+3\s+0\s+3\s+0\s+Active/);
});

test('kubectl scale grows and shrinks the pool through the scale subresource', async () => {
  await kubectl(['-n', ns, 'scale', 'ipool/basic', '--replicas=6']);
  await poolWhere(ns, 'basic', 'readyCount 6', (p) => p.status?.readyCount === 6 && p.status.replicas === 6);
  await kubectl(['-n', ns, 'scale', 'ipool/basic', '--replicas=2']);
  await poolWhere(ns, 'basic', 'readyCount 2', (p) => p.status?.readyCount === 2 && warm(p) === 2);
  await eventually('4 members gone', async () => ((await members(ns, 'basic')).length === 2 ? true : undefined));
});

test('a ready member deleted out of band is replaced', async () => {
  const [victim] = await members(ns, 'basic');
  expect(victim).toBeDefined();
  await kubectl(['-n', ns, 'delete', 'pod', victim?.metadata.name ?? '', '--wait=false']);
  await eventually('replacement ready', async () => {
    const pods = await members(ns, 'basic');
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && p.metadata.uid !== victim?.metadata.uid);
    return live.length === 2 && live.every(isReady) ? true : undefined;
  });
  await poolWhere(ns, 'basic', 'readyCount back at 2', (p) => p.status?.readyCount === 2);
});

test('members that never become ready are recycled with back-off and the pool says why', async () => {
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'never', { targetSize: 2, annotations: { 'sim.warmpool.dev/fail': 'never-ready' }, spec: { warmingTimeoutSeconds: 2 } }),
  );
  const pool = await poolWhere(
    ns,
    'never',
    'errored and Degraded',
    (p) => (p.status?.erroredCount ?? 0) >= 4 && condition(p, 'Degraded')?.status === 'True',
    90_000,
  );
  expect(condition(pool, 'Degraded')?.reason).toBe('WarmingTimeout');
  expect(condition(pool, 'Ready')?.status).toBe('False');
  // Back-off: over the next 10 s the pool creates few members, not one every warming timeout (without back-off,
  // 2 every 2 s). Counted from a pod watch: MemberCreated Events are de-duplicated and could not show the difference.
  const watch = await watchPods(ns, 'warmpool.dev/pool=never');
  await new Promise((r) => setTimeout(r, 10_000));
  const created = watch.created();
  watch.stop();
  expect(created).toBeLessThanOrEqual(4);
  await kubectl(['-n', ns, 'delete', 'ipool', 'never', '--wait=false']);
}, 120_000);

test('members that fit no node are held Pending and reported, and schedule once a node is added', async () => {
  // A node group of this test alone (nodeSelector), so other files' pods do not take its capacity.
  const group = ns;
  const node = (i: number, name: string): Record<string, unknown> => {
    const m = nodeManifest(200 + i, podOctetFor(process.env.WARMPOOL_TEST_CLUSTER ?? 'x'), { cpu: '4', memory: '16Gi', pods: 110 });
    const meta = m.metadata as { name: string; labels: Record<string, string> };
    meta.name = name;
    meta.labels['warmpool.dev/test-group'] = group;
    return m;
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(node(0, `${ns}-a`)));
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'big', {
      targetSize: 3,
      podSpec: {
        nodeSelector: { 'warmpool.dev/test-group': group },
        containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: '3' } } }],
      },
    }),
  );
  await poolWhere(
    ns,
    'big',
    'Unschedulable reported and the one that fits ready',
    (p) =>
      p.status?.readyCount === 1 &&
      [condition(p, 'Stalled'), condition(p, 'Degraded')].some((c) => c?.status === 'True' && c.reason === 'Unschedulable'),
  );
  // Held, and creation stops growing them: one member past what fits, not the whole deficit.
  const pending = (await members(ns, 'big')).filter((p) => p.status?.phase === 'Pending').map((p) => p.metadata.uid);
  expect(pending).toHaveLength(1);
  // Held, not recycled nor added to: the same member is still the only one waiting a few seconds later.
  await new Promise((r) => setTimeout(r, 3000));
  const still = (await members(ns, 'big')).filter((p) => p.status?.phase === 'Pending').map((p) => p.metadata.uid);
  expect(still.sort()).toEqual(pending.sort());
  expect(await members(ns, 'big')).toHaveLength(2);
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [node(1, `${ns}-b`), node(2, `${ns}-c`)] }));
  await poolWhere(ns, 'big', 'all 3 ready', (p) => p.status?.readyCount === 3);
  const uids = (await members(ns, 'big')).map((p) => p.metadata.uid);
  expect(uids).toEqual(expect.arrayContaining(pending));
  await kubectl(['-n', ns, 'delete', 'ipool', 'big', '--wait=false']);
  await kubectlRaw(['delete', 'node', `${ns}-a`, `${ns}-b`, `${ns}-c`, '--wait=false']);
}, 90_000);

test('paused stops replacement; drain deletes unclaimed members; a deleted pool goes once empty', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'life', { targetSize: 2 }));
  await poolWhere(ns, 'life', 'ready', (p) => p.status?.readyCount === 2);
  await kubectl(['-n', ns, 'patch', 'ipool', 'life', '--type=merge', '-p', '{"spec":{"paused":true}}']);
  await poolWhere(ns, 'life', 'Paused', (p) => p.status?.phase === 'Paused');
  const [one] = await members(ns, 'life');
  await kubectl(['-n', ns, 'delete', 'pod', one?.metadata.name ?? '']);
  await new Promise((r) => setTimeout(r, 2000));
  expect((await members(ns, 'life')).filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(1);

  await kubectl(['-n', ns, 'patch', 'ipool', 'life', '--type=merge', '-p', '{"spec":{"paused":false,"drain":true}}']);
  await poolWhere(ns, 'life', 'Draining and empty', (p) => p.status?.phase === 'Draining' && warm(p) === 0);
  await eventually('members gone', async () => ((await members(ns, 'life')).length === 0 ? true : undefined));
  const reasons = await eventually('drain Events', async () => {
    const out = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=life', '-o', 'jsonpath={.items[*].reason}']);
    return out.includes('DrainStarted') && out.includes('DrainFinished') ? out : undefined;
  });
  expect(reasons).toContain('Paused');

  await kubectl(['-n', ns, 'delete', 'ipool', 'life', '--timeout=30s']);
  expect((await kubectlRaw(['-n', ns, 'get', 'ipool', 'life'])).code).not.toBe(0);
});

test('the schema rejects a pool whose sizes are out of order, naming the field, and stores nothing', async () => {
  const res = await kubectlRaw(
    ['apply', '-f', '-'],
    poolManifest(ns, 'bad', { targetSize: 5, spec: { maxSize: 2 } }),
  );
  expect(res.code).not.toBe(0);
  expect(res.stderr).toMatch(/Invalid value|invalid/i);
  expect(res.stderr).toMatch(/maxSize|targetSize/);
  expect((await kubectlRaw(['-n', ns, 'get', 'ipool', 'bad'])).code).not.toBe(0);
  const noContainers = JSON.parse(poolManifest(ns, 'bad2', { targetSize: 1 })) as { spec: { template: { spec: { containers: unknown[] } } } };
  noContainers.spec.template.spec.containers = [];
  const res2 = await kubectlRaw(['apply', '-f', '-'], JSON.stringify(noContainers));
  expect(res2.code).not.toBe(0);
  expect(res2.stderr).toMatch(/containers/);
});

test('a template change replaces warm members with the new template', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'drift', { targetSize: 3 }));
  const before = await poolWhere(ns, 'drift', 'ready', (p) => p.status?.readyCount === 3);
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'drift', { targetSize: 3, annotations: { version: '2' } }));
  await eventually('all members on the new template', async () => {
    const pool = await getPool(ns, 'drift');
    const pods = (await members(ns, 'drift')).filter((p) => !p.metadata.deletionTimestamp);
    const hash = pool.status?.templateHash;
    return hash && hash !== before.status?.templateHash && pods.length === 3 &&
      pods.every((p) => p.metadata.labels?.['warmpool.dev/template-hash'] === hash && isReady(p))
      ? true
      : undefined;
  });
});
