// Member safety against the real control plane (issue 20): claimed members survive the Eviction API (a real
// PodDisruptionBudget, judged by the disruption controller in kube-controller-manager), ready ones do not; the
// fencing token grows with every bind of a member.
import { CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, getClaim, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

const PDB = 'warmpool-claimed-members';
let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
let core: CoreV1Api;
let policy: PolicyV1Api;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('safety'));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  policy = kc.makeApiClient(PolicyV1Api);
  op = await startOperatorInProcess(ns);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

/** The status code the Eviction API answers for the pod (201 evicted, 429 refused by a disruption budget). */
async function evict(name: string): Promise<number> {
  try {
    await core.createNamespacedPodEviction({
      name,
      namespace: ns,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
    });
    return 201;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

const live = (pods: PodJson[]): PodJson[] => pods.filter((p) => p.metadata.deletionTimestamp === undefined);
const claimedOf = (pods: PodJson[]): PodJson[] => live(pods).filter((p) => p.metadata.labels?.['warmpool.dev/state'] === 'claimed');

test('with 5 claimed and 5 ready members, the Eviction API refuses the claimed ones (429, same uids) and evicts the ready ones, which are replaced', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'guard', { targetSize: 5 }));
  await poolWhere(ns, 'guard', '5 ready', (p) => p.status?.readyCount === 5);
  for (let i = 0; i < 5; i++) await kubectl(['apply', '-f', '-'], claimManifest(ns, `g${i}`, 'guard'));
  await poolWhere(ns, 'guard', '5 claimed and 5 ready', (p) => p.status?.claimedCount === 5 && p.status.readyCount === 5, 60_000);

  // The namespace's PDB, processed by the disruption controller: minAvailable above any count, so it counts the 5
  // claimed members (no lookup of their controllers, which have no scale) and allows none to go: DisruptionAllowed
  // False, reason InsufficientPods, not SyncFailed. Wait for it to have looked at this generation and these members.
  const pdb = await eventually('the PDB observed by the disruption controller', async () => {
    const b = await policy.readNamespacedPodDisruptionBudget({ name: PDB, namespace: ns }).catch(() => undefined);
    return b?.status?.observedGeneration === b?.metadata?.generation && b?.status?.expectedPods === 5 ? b : undefined;
  }, 60_000);
  expect(pdb.spec?.minAvailable).toBe(2_147_483_647);
  expect(pdb.spec?.maxUnavailable).toBeUndefined();
  expect(pdb.status?.expectedPods).toBe(5);
  expect(pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed')).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
  expect(pdb.spec?.selector).toEqual({
    matchLabels: { 'warmpool.dev/state': 'claimed' },
    matchExpressions: [{ key: 'warmpool.dev/pool', operator: 'Exists' }],
  });
  expect(pdb.status?.disruptionsAllowed).toBe(0);
  // No owner: it is the namespace's, and goes with its last protected pool.
  expect(pdb.metadata?.ownerReferences).toBeUndefined();
  expect(pdb.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'warmpool', 'warmpool.dev/pool': '' });

  const before = live(await members(ns, 'guard'));
  const claimed = claimedOf(before);
  const ready = before.filter((p) => !claimed.includes(p));
  expect(claimed).toHaveLength(5);
  expect(ready).toHaveLength(5);
  for (const p of claimed) expect(p.metadata.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe('false');

  // Every member, as kubectl drain would: one eviction each.
  const answers = new Map<string, number>();
  for (const p of before) answers.set(p.metadata.name, await evict(p.metadata.name));
  expect(claimed.map((p) => answers.get(p.metadata.name))).toEqual([429, 429, 429, 429, 429]);
  expect(ready.map((p) => answers.get(p.metadata.name))).toEqual([201, 201, 201, 201, 201]);

  // The ready ones are replaced by new members (five evictions make an ephemeral pool back off, so allow for it).
  const oldReady = new Set(ready.map((p) => p.metadata.uid));
  await eventually('5 new ready members', async () => {
    const now = live(await members(ns, 'guard')).filter((p) => p.metadata.labels?.['warmpool.dev/state'] === 'ready');
    return now.length === 5 && now.every((p) => !oldReady.has(p.metadata.uid)) ? now : undefined;
  }, 90_000);
  // The claimed ones are untouched: the same pods, still claimed, their claims still Bound.
  const after = claimedOf(await members(ns, 'guard'));
  expect(after.map((p) => p.metadata.uid).sort()).toEqual(claimed.map((p) => p.metadata.uid).sort());
  for (let i = 0; i < 5; i++) expect((await getClaim(ns, `g${i}`)).status?.phase).toBe('Bound');
}, 240_000);

test('with evictionProtection false the PDB leaves the pool out and a claimed member is evicted like any pod', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'open', { targetSize: 1, spec: { evictionProtection: false } }));
  await poolWhere(ns, 'open', '1 ready', (p) => p.status?.readyCount === 1);
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'o1', 'open'));
  const bound = await claimWhere(ns, 'o1', 'Bound', (c) => c.status?.phase === 'Bound');
  const pod = live(await members(ns, 'open')).find((p) => p.metadata.name === bound.status?.member?.name);
  expect(pod?.metadata.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBeUndefined();
  await eventually('the PDB leaves the pool out', async () => {
    const pdbs = await policy.listNamespacedPodDisruptionBudget({ namespace: ns });
    const [only] = pdbs.items;
    const notIn = only?.spec?.selector?.matchExpressions?.find((e) => e.operator === 'NotIn');
    return pdbs.items.length === 1 && only?.metadata?.name === PDB && notIn?.key === 'warmpool.dev/pool' && notIn.values?.join() === 'open' ? true : undefined;
  });
  expect(await evict(bound.status?.member?.name ?? '')).toBe(201);
  await claimWhere(ns, 'o1', 'Lost', (c) => c.status?.phase === 'Lost');
}, 120_000);

test('turning protection off in every pool removes the PDB; on again brings it back', async () => {
  await kubectl(['-n', ns, 'patch', 'instancepool', 'guard', '--type=merge', '-p', '{"spec":{"evictionProtection":false}}']);
  await eventually('the PDB gone', async () =>
    policy.readNamespacedPodDisruptionBudget({ name: PDB, namespace: ns }).then(() => undefined, () => true));
  await kubectl(['-n', ns, 'patch', 'instancepool', 'guard', '--type=merge', '-p', '{"spec":{"evictionProtection":true}}']);
  const back = await eventually('the PDB back', async () =>
    policy.readNamespacedPodDisruptionBudget({ name: PDB, namespace: ns }).catch(() => undefined));
  expect(back.spec?.selector?.matchExpressions?.find((e) => e.operator === 'NotIn')?.values).toEqual(['open']);
}, 60_000);

test('a per-pool PDB an older operator made goes once the namespace PDB is in place', async () => {
  const pool = await poolWhere(ns, 'guard', 'cached', () => true);
  await policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: {
      metadata: {
        name: 'warmpool-guard',
        labels: { 'warmpool.dev/pool': 'guard' },
        ownerReferences: [{ apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'guard', uid: pool.metadata.uid ?? '', controller: true }],
      },
      spec: { maxUnavailable: 0, selector: { matchLabels: { 'warmpool.dev/pool': 'guard', 'warmpool.dev/state': 'claimed' } } },
    },
  });
  await eventually('the old PDB gone', async () =>
    policy.readNamespacedPodDisruptionBudget({ name: 'warmpool-guard', namespace: ns }).then(() => undefined, () => true));
  const left = await policy.listNamespacedPodDisruptionBudget({ namespace: ns });
  expect(left.items.map((b) => b.metadata?.name)).toEqual([PDB]);
}, 60_000);

test('two claims bound in turn to the same member (Return in between) carry strictly increasing tokens', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'fence', { targetSize: 1, spec: { maxSize: 1 } }));
  await poolWhere(ns, 'fence', '1 ready', (p) => p.status?.readyCount === 1);
  const tokens: number[] = [];
  let member = '';
  for (const name of ['f1', 'f2', 'f3']) {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, name, 'fence', { reclaimPolicy: 'Return' }));
    const c = await claimWhere(ns, name, 'Bound', (x) => x.status?.phase === 'Bound');
    // maxSize 1: the pool has only this member, so every claim gets the same one.
    if (member === '') member = c.status?.member?.name ?? '';
    expect(c.status?.member?.name).toBe(member);
    const pod = live(await members(ns, 'fence')).find((p) => p.metadata.name === member);
    expect(pod?.metadata.annotations?.['warmpool.dev/lease-token']).toBe(String(c.status?.member?.token));
    tokens.push(c.status?.member?.token ?? 0);
    await kubectl(['-n', ns, 'delete', 'pclaim', name]);
    await poolWhere(ns, 'fence', 'the member back', (p) => p.status?.readyCount === 1 && p.status.claimedCount === 0);
  }
  expect(tokens[0]).toBeGreaterThan(0);
  expect(tokens[1]).toBeGreaterThan(tokens[0] ?? 0);
  expect(tokens[2]).toBeGreaterThan(tokens[1] ?? 0);
}, 120_000);
