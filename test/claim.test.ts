// PoolClaim against the real apiserver, through kubectl, with the operator running in-process and scoped to this
// file's namespace.
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import {
  claimManifest,
  claimWhere,
  condition,
  getClaim,
  isReady,
  listClaims,
  members,
  poolManifest,
  poolWhere,
} from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('claim'));
  op = await startOperatorInProcess(ns);
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'p3', { targetSize: 3 }));
  await poolWhere(ns, 'p3', 'ready', (p) => p.status?.readyCount === 3);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

test('a claim binds a ready member, which is labelled claimed and replaced', async () => {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'c1', 'p3', { acquiredBy: 'job-1', acquiredFor: 'build-7' }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Bound', '--timeout=30s', 'pclaim/c1']);
  const claim = await getClaim(ns, 'c1');
  expect(claim.status?.phase).toBe('Bound');
  expect(claim.status?.member?.name).toBeDefined();
  expect(claim.status?.member?.podIP).toMatch(/^127\./);
  const pod = (await members(ns, 'p3')).find((p) => p.metadata.name === claim.status?.member?.name);
  expect(pod?.metadata.labels?.['warmpool.dev/state']).toBe('claimed');
  expect(pod?.metadata.labels?.['warmpool.dev/claim']).toBe('c1');
  expect(pod?.metadata.annotations?.['warmpool.dev/claim-uid']).toBe(claim.metadata.uid);
  expect(pod?.metadata.annotations?.['warmpool.dev/acquired-by']).toBe('job-1');
  // The claim is now the member's controller (so deleting the claim garbage-collects it even with the operator
  // down); the pool label keeps it counted as the pool's claimed member.
  expect(pod?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'PoolClaim', name: 'c1', uid: claim.metadata.uid, controller: true })]);
  expect(pod?.metadata.labels?.['warmpool.dev/pool']).toBe('p3');
  await poolWhere(ns, 'p3', 'replacement ready', (p) => p.status?.readyCount === 3 && p.status.claimedCount === 1);
  const table = await kubectl(['-n', ns, 'get', 'pclaim', 'c1']);
  expect(table).toMatch(/NAME\s+POOL\s+PHASE\s+MEMBER\s+AGE/);
  expect(table).toMatch(new RegExp(`c1\\s+p3\\s+Bound\\s+${claim.status?.member?.name ?? 'x'}`));
});

test('re-applying the claim manifest, changed, never claims twice', async () => {
  const before = await getClaim(ns, 'c1');
  const generation = before.metadata.generation ?? 0;
  // An identical manifest would be a no-op the operator never hears of. A changed acquiredFor is a spec change: the
  // update reaches the operator, which plans the claim again and records the generation it planned from.
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'c1', 'p3', { acquiredBy: 'job-1', acquiredFor: 'build-8' }));
  const seen = await claimWhere(
    ns,
    'c1',
    'the operator planned the new generation',
    (c) => (c.metadata.generation ?? 0) > generation && c.status?.observedGeneration === c.metadata.generation,
  );
  expect(seen.status?.phase).toBe('Bound');
  expect(seen.status?.member?.name).toBe(before.status?.member?.name);
  const claimedBy = (await members(ns, 'p3')).filter((p) => p.metadata.labels?.['warmpool.dev/claim'] === 'c1');
  expect(claimedBy.map((p) => p.metadata.name)).toEqual([before.status?.member?.name]);
});

test('deleting a Delete claim removes its member', async () => {
  const member = (await getClaim(ns, 'c1')).status?.member?.name ?? '';
  await kubectl(['-n', ns, 'delete', 'pclaim', 'c1']);
  await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', `pod/${member}`]);
});

test('deleting a Return claim gives its member back as ready', async () => {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'r1', 'p3', { reclaimPolicy: 'Return' }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Bound', '--timeout=30s', 'pclaim/r1']);
  const member = (await getClaim(ns, 'r1')).status?.member?.name ?? '';
  await kubectl(['-n', ns, 'delete', 'pclaim', 'r1', '--timeout=30s']);
  await eventually('member ready again', async () => {
    const pod = (await members(ns, 'p3')).find((p) => p.metadata.name === member);
    return pod && pod.metadata.labels?.['warmpool.dev/state'] === 'ready' && !pod.metadata.labels['warmpool.dev/claim'] &&
      !pod.metadata.ownerReferences?.some((o) => o.kind === 'PoolClaim') && isReady(pod)
      ? pod
      : undefined;
  });
  // Back in the pool's count (and, one over target, the surplus is trimmed back to 3).
  await poolWhere(ns, 'p3', 'readyCount 3, none claimed', (p) => p.status?.readyCount === 3 && p.status.claimedCount === 0);
});

test('waitTimeoutSeconds 0 on an empty pool fails at once with NoReadyMembers', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'empty', { targetSize: 0 }));
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'now-or-never', 'empty', { waitTimeoutSeconds: 0 }));
  const c = await claimWhere(ns, 'now-or-never', 'Failed', (x) => x.status?.phase === 'Failed');
  expect(condition(c, 'Bound')?.reason).toBe('NoReadyMembers');
});

test('ttlSecondsAfterBound expires the claim and releases its member', async () => {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'short', 'p3', { ttlSecondsAfterBound: 2 }));
  const bound = await claimWhere(ns, 'short', 'Bound', (x) => x.status?.phase === 'Bound');
  const released = await claimWhere(ns, 'short', 'Released', (x) => x.status?.phase === 'Released', 30_000);
  expect(condition(released, 'Bound')?.reason).toBe('Expired');
  const held = (Date.parse(released.status?.releasedAt ?? '') - Date.parse(bound.status?.boundAt ?? '')) / 1000;
  expect(held).toBeGreaterThanOrEqual(1.5);
  await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', `pod/${bound.status?.member?.name ?? ''}`]);
});

test('a claim naming a missing pool waits with PoolNotFound and binds when the pool appears', async () => {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'early', 'later'));
  const waiting = await claimWhere(ns, 'early', 'PoolNotFound', (x) => condition(x, 'Bound')?.reason === 'PoolNotFound');
  expect(waiting.status?.phase).toBe('Pending');
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'later', { targetSize: 1 }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Bound', '--timeout=30s', 'pclaim/early']);
});

test('if a bound member disappears the claim is Lost, never silently re-bound', async () => {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'fragile', 'p3'));
  const bound = await claimWhere(ns, 'fragile', 'Bound', (x) => x.status?.phase === 'Bound');
  await kubectl(['-n', ns, 'delete', 'pod', bound.status?.member?.name ?? '']);
  const lost = await claimWhere(ns, 'fragile', 'Lost', (x) => x.status?.phase === 'Lost');
  expect(condition(lost, 'Ready')).toMatchObject({ status: 'False', reason: 'MemberLost' });
  await new Promise((r) => setTimeout(r, 1000));
  expect((await getClaim(ns, 'fragile')).status?.phase).toBe('Lost');
});

test('a draining pool fails its pending claims', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'drained', { targetSize: 0, spec: { drain: true } }));
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'too-late', 'drained'));
  const c = await claimWhere(ns, 'too-late', 'Failed', (x) => x.status?.phase === 'Failed');
  expect(condition(c, 'Bound')?.reason).toBe('PoolDraining');
});

test('50 claims at once against a pool of 10: every claim Bound once, no member twice, priority first', async () => {
  // The pool starts paused and empty so all 50 claims are queued before the first member is ready: then the
  // queue order, not the order of arrival, decides who is served first.
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'burst', { targetSize: 10, spec: { maxSize: 80, paused: true } }));
  const items = Array.from({ length: 50 }, (_, i) =>
    JSON.parse(claimManifest(ns, `b-${String(i).padStart(2, '0')}`, 'burst', { priority: i % 5 === 0 ? 100 : 0 })) as unknown,
  );
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await eventually('all 50 queued', async () => {
    const cs = (await listClaims(ns)).filter((c) => c.spec.poolName === 'burst');
    return cs.length === 50 && cs.every((c) => c.status?.phase === 'Pending') ? true : undefined;
  });
  await kubectl(['-n', ns, 'patch', 'ipool', 'burst', '--type=merge', '-p', '{"spec":{"paused":false}}']);
  await eventually(
    'all 50 Bound',
    async () => {
      const cs = (await listClaims(ns)).filter((c) => c.spec.poolName === 'burst');
      return cs.length === 50 && cs.every((c) => c.status?.phase === 'Bound') ? cs : undefined;
    },
    90_000,
    500,
  );
  const claims = (await listClaims(ns)).filter((c) => c.spec.poolName === 'burst');
  const pods = await members(ns, 'burst');
  const byMember = new Map<string, string>();
  for (const c of claims) {
    const m = c.status?.member?.name ?? '';
    expect(byMember.has(m)).toBe(false);
    byMember.set(m, c.metadata.name ?? '');
    const pod = pods.find((p) => p.metadata.name === m);
    expect(pod?.metadata.labels?.['warmpool.dev/claim']).toBe(c.metadata.name);
    expect(pod?.metadata.annotations?.['warmpool.dev/claim-uid']).toBe(c.metadata.uid);
  }
  const claimedPods = pods.filter((p) => p.metadata.labels?.['warmpool.dev/state'] === 'claimed');
  expect(claimedPods).toHaveLength(50);
  // The ten priority-100 claims were first in the queue: the first ten ready members went to them.
  const boundAt = (c: (typeof claims)[number]): number => Date.parse(c.status?.boundAt ?? '');
  const high = claims.filter((c) => c.spec.priority === 100).map(boundAt);
  const low = claims.filter((c) => c.spec.priority !== 100).map(boundAt);
  expect(Math.max(...high)).toBeLessThanOrEqual(Math.min(...low) + 1);
}, 120_000);

test('a claim with a bad spec is rejected by the schema with the field named', async () => {
  const res = await kubectlRaw(['apply', '-f', '-'], claimManifest(ns, 'bad', 'p3', { reclaimPolicy: 'Keep' }));
  expect(res.code).not.toBe(0);
  expect(res.stderr).toMatch(/spec\.reclaimPolicy/);
});
