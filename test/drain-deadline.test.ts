// A drain with a deadline against the real control plane (issue 20): status.blockingClaims names the claims that
// hold it at once; at the deadline onDeadline Release ends them (Released, reason Drained, an Event each) and the
// pool is empty; onDeadline Wait keeps waiting and keeps naming them.
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, condition, getPool, listClaims, members, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('drain'));
  op = await startOperatorInProcess(ns);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

/** A pool of 3 members, all claimed by claims <pool>-0..2, then set to drain. Returns when the drain was applied. */
async function drainedWithThreeClaims(pool: string, onDeadline: 'Wait' | 'Release'): Promise<number> {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, pool, { targetSize: 3, spec: { drainPolicy: { deadlineSeconds: 5, onDeadline } } }));
  await poolWhere(ns, pool, '3 ready', (p) => p.status?.readyCount === 3);
  for (let i = 0; i < 3; i++) await kubectl(['apply', '-f', '-'], claimManifest(ns, `${pool}-${i}`, pool));
  for (let i = 0; i < 3; i++) await claimWhere(ns, `${pool}-${i}`, 'Bound', (c) => c.status?.phase === 'Bound');
  const started = Date.now();
  await kubectl(['-n', ns, 'patch', 'instancepool', pool, '--type=merge', '-p', '{"spec":{"drain":true}}']);
  return started;
}

const names = (pool: string): string[] => [0, 1, 2].map((i) => `${pool}-${i}`);

test('onDeadline Release: blockingClaims names the 3 claims at once; after about 5 s they are Released (Drained) and the pool is empty', async () => {
  const started = await drainedWithThreeClaims('rel', 'Release');
  const named = await poolWhere(ns, 'rel', 'blockingClaims naming the 3 claims', (p) => p.status?.blockingClaims?.count === 3, 10_000);
  const namedAfter = (Date.now() - started) / 1000;
  expect(named.status?.blockingClaims?.names).toEqual(names('rel'));
  expect(condition(named, 'Reconciling')?.message ?? condition(named, 'Ready')?.message).toContain('held by claims rel-0, rel-1, rel-2');

  for (const name of names('rel')) {
    const c = await claimWhere(ns, name, 'Released', (x) => x.status?.phase === 'Released', 30_000);
    expect(condition(c, 'Bound')).toMatchObject({ status: 'False', reason: 'Drained' });
  }
  const releasedAfter = (Date.now() - started) / 1000;
  // Not before the deadline (the drain began at the patch, so it cannot be due earlier), and not long after it.
  const releasedAt = await listClaims(ns).then((cs) =>
    cs.filter((c) => c.metadata.name?.startsWith('rel-')).map((c) => Date.parse(c.status?.releasedAt ?? '')),
  );
  for (const at of releasedAt) expect(at - started).toBeGreaterThanOrEqual(5000 - 1000);
  await eventually('the pool empty', async () => ((await members(ns, 'rel')).length === 0 ? true : undefined), 30_000);
  const pool = await poolWhere(ns, 'rel', 'no blockingClaims', (p) => p.status?.blockingClaims === undefined && p.status?.claimedCount === 0);
  expect(pool.status?.phase).toBe('Draining');
  const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'reason=Drained', '-o', 'jsonpath={.items[*].involvedObject.name}']);
  expect(events.split(' ').sort()).toEqual(names('rel'));
  console.log(`drain Release: blockingClaims named after ${namedAfter.toFixed(1)} s, all 3 Released after ${releasedAfter.toFixed(1)} s (deadline 5 s)`);
}, 120_000);

test('onDeadline Wait: past the deadline the claims stay Bound and the pool keeps naming them', async () => {
  const started = await drainedWithThreeClaims('wait', 'Wait');
  await poolWhere(ns, 'wait', 'blockingClaims naming the 3 claims', (p) => p.status?.blockingClaims?.count === 3, 10_000);
  // Well past the 5 s deadline: poll until 8 s after the drain, every claim must stay Bound all along.
  while (Date.now() - started < 8_000) {
    const claims = await listClaims(ns);
    for (const c of claims.filter((x) => x.metadata.name?.startsWith('wait-'))) expect(c.status?.phase).toBe('Bound');
    await new Promise((r) => setTimeout(r, 500));
  }
  const pool = await getPool(ns, 'wait');
  expect(pool.status?.blockingClaims).toEqual({ count: 3, names: names('wait') });
  expect(pool.status?.claimedCount).toBe(3);
}, 120_000);
