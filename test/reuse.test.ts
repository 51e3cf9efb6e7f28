// Returned members reused with care, against the real control plane (issue 20): maxReuses deletes a member at the
// return past it, a cooldown keeps a returned member out of allocation, and a reset handshake waits for the
// member's readiness to go False and True again.
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, getClaim, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('reuse'));
  op = await startOperatorInProcess(ns);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

const live = async (pool: string): Promise<PodJson[]> => (await members(ns, pool)).filter((p) => p.metadata.deletionTimestamp === undefined);

/** A pool of exactly one member (maxSize 1), so every claim of it gets that member while it lives. */
async function onePool(name: string, reuse: Record<string, unknown>): Promise<PodJson> {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, name, { targetSize: 1, spec: { maxSize: 1, reuse } }));
  await poolWhere(ns, name, '1 ready', (p) => p.status?.readyCount === 1);
  const [member] = await live(name);
  if (!member) throw new Error('no member');
  return member;
}

/** Binds a Return claim, then deletes it: the member is handed back. Returns the member's name. */
async function bindAndReturn(pool: string, claim: string): Promise<string> {
  await kubectl(['apply', '-f', '-'], claimManifest(ns, claim, pool, { reclaimPolicy: 'Return' }));
  const c = await claimWhere(ns, claim, 'Bound', (x) => x.status?.phase === 'Bound');
  await kubectl(['-n', ns, 'delete', 'pclaim', claim]);
  return c.status?.member?.name ?? '';
}

test('maxReuses 2: the member comes back from its first two returns, counted; the third return deletes it', async () => {
  const first = await onePool('cap', { maxReuses: 2 });
  for (const [i, claim] of ['cap-1', 'cap-2'].entries()) {
    expect(await bindAndReturn('cap', claim)).toBe(first.metadata.name);
    const back = await eventually(`the member back after return ${i + 1}`, async () => {
      const m = (await live('cap')).find((p) => p.metadata.uid === first.metadata.uid);
      return m?.metadata.labels?.['warmpool.dev/state'] === 'ready' ? m : undefined;
    });
    expect(back.metadata.annotations?.['warmpool.dev/reuse-count']).toBe(String(i + 1));
  }
  expect(await bindAndReturn('cap', 'cap-3')).toBe(first.metadata.name);
  await eventually('the member deleted', async () =>
    (await members(ns, 'cap')).some((p) => p.metadata.uid === first.metadata.uid) ? undefined : true);
  const fresh = await poolWhere(ns, 'cap', 'a new member ready', (p) => p.status?.readyCount === 1);
  expect(fresh.status?.claimedCount).toBe(0);
  const [replacement] = await live('cap');
  expect(replacement?.metadata.uid).not.toBe(first.metadata.uid);
  expect(replacement?.metadata.annotations?.['warmpool.dev/reuse-count']).toBeUndefined();
}, 120_000);

test('cooldownSeconds 3: a returned member is not bound again for 3 s', async () => {
  const member = await onePool('cool', { cooldownSeconds: 3 });
  await bindAndReturn('cool', 'cool-1');
  // Returned (whatever state it rests in): it counts the return and says when it happened.
  const returned = await eventually('the member returned', async () => {
    const m = (await live('cool')).find((p) => p.metadata.uid === member.metadata.uid);
    return m?.metadata.annotations?.['warmpool.dev/reuse-count'] === '1' ? m : undefined;
  });
  const returnedAt = Date.parse(returned.metadata.annotations?.['warmpool.dev/returned-at'] ?? '');
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'cool-2', 'cool'));
  const bound = await claimWhere(ns, 'cool-2', 'Bound', (c) => c.status?.phase === 'Bound', 30_000);
  expect(bound.status?.member?.uid).toBe(member.metadata.uid);
  const rested = (Date.parse(bound.status?.boundAt ?? '') - returnedAt) / 1000;
  expect(rested).toBeGreaterThanOrEqual(3);
  console.log(`cooldown 3 s: returned member bound again ${rested.toFixed(2)} s after its return`);
}, 120_000);

/** Sets the member's Ready condition, as its kubelet would when the readiness probe flips. */
async function setReady(name: string, ready: boolean): Promise<void> {
  const condition = { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  await kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions: [condition] } })]);
}

test('requireReset: a returned member is not bound until its Ready condition has gone False and True again', async () => {
  const member = await onePool('reset', { requireReset: true });
  await bindAndReturn('reset', 'reset-1');
  const returned = await eventually('the member returned', async () => {
    const m = (await live('reset')).find((p) => p.metadata.uid === member.metadata.uid);
    return m?.metadata.annotations?.['warmpool.dev/reuse-count'] === '1' ? m : undefined;
  });
  expect(returned.metadata.labels?.['warmpool.dev/state']).toBe('resetting');
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'reset-2', 'reset'));
  // Still Ready from before the return: not handed out. Watch the claim for 3 s; it must stay unbound.
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    expect((await getClaim(ns, 'reset-2')).status?.phase ?? 'Pending').toBe('Pending');
    await new Promise((r) => setTimeout(r, 250));
  }
  await setReady(member.metadata.name, false);
  // Ready turning True in a later second than the return is what the pool waits for (the API keeps whole seconds).
  await new Promise((r) => setTimeout(r, 1_100));
  expect((await getClaim(ns, 'reset-2')).status?.phase ?? 'Pending').toBe('Pending');
  const flipped = Date.now();
  await setReady(member.metadata.name, true);
  const bound = await claimWhere(ns, 'reset-2', 'Bound', (c) => c.status?.phase === 'Bound', 30_000);
  expect(bound.status?.member?.uid).toBe(member.metadata.uid);
  expect(Date.parse(bound.status?.boundAt ?? '')).toBeGreaterThanOrEqual(flipped - 1000);
}, 120_000);
