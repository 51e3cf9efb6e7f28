// The refill yields to claims (operator/pool/refill-yield.ts): while the claims of a pool's namespace keep arriving
// and binding, its replacement creates wait for them to pause; they never wait once no ready member is left. The pause
// is lengthened to QUIET_MS here so that what the test asserts is order, not speed: a claim a second is well inside it.
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, installCrds, kubectl, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, members, poolManifest, poolWhere } from './support/pools.js';

const QUIET_MS = 10_000;
let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('yield'));
  op = await startOperatorInProcess(ns, { claimQuietMs: QUIET_MS, refillYieldMs: 120_000 });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

const fast = { 'sim.warmpool.dev/ready-after': '300ms' };

test('while claims keep binding, the replacements wait; once they pause, the pool refills', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'steady', { targetSize: 6, annotations: fast }));
  await poolWhere(ns, 'steady', '6 ready', (p) => p.status?.readyCount === 6, 60_000);
  for (let i = 0; i < 3; i++) {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, `s-${i}`, 'steady'));
    await claimWhere(ns, `s-${i}`, 'Bound', (c) => c.status?.phase === 'Bound');
  }
  // Three members claimed, three still ready, and no replacement yet: the claims have not paused.
  expect(await members(ns, 'steady')).toHaveLength(6);
  const pausedAt = Date.now();
  await poolWhere(ns, 'steady', 'refilled: 6 ready beside 3 claimed', (p) => p.status?.readyCount === 6 && p.status.claimedCount === 3, 90_000);
  expect(await members(ns, 'steady')).toHaveLength(9);
  // It refilled because the claims paused, not at the bound (120 s).
  expect(Date.now() - pausedAt).toBeLessThan(60_000);
}, 240_000);

test('the last ready member claimed: the replacements go at once, without waiting for a pause', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'last', { targetSize: 2, annotations: fast }));
  await poolWhere(ns, 'last', '2 ready', (p) => p.status?.readyCount === 2, 60_000);
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'l-0', 'last'));
  await claimWhere(ns, 'l-0', 'Bound', (c) => c.status?.phase === 'Bound');
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'l-1', 'last'));
  await claimWhere(ns, 'l-1', 'Bound', (c) => c.status?.phase === 'Bound');
  const emptyAt = Date.now();
  // Both replacements created well inside the pause the claims would otherwise have to make.
  await eventually('2 replacements created', async () => ((await members(ns, 'last')).length === 4 ? true : undefined), QUIET_MS);
  expect(Date.now() - emptyAt).toBeLessThan(QUIET_MS * 0.6);
}, 180_000);

test("claims to the namespace's other pools hold the replacement too, until they pause", async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'quiet', { targetSize: 2, annotations: fast }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'busy', { targetSize: 10, annotations: fast }));
  await poolWhere(ns, 'quiet', '2 ready', (p) => p.status?.readyCount === 2, 60_000);
  await poolWhere(ns, 'busy', '10 ready', (p) => p.status?.readyCount === 10, 60_000);
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'q-0', 'quiet'));
  await claimWhere(ns, 'q-0', 'Bound', (c) => c.status?.phase === 'Bound');
  const quietSince = Date.now();
  // The other pool's claims, one every 2 s (well inside the pause), for longer than the pause after q-0.
  for (let i = 0; Date.now() - quietSince < QUIET_MS * 1.5; i++) {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, `b-${i}`, 'busy'));
    await claimWhere(ns, `b-${i}`, 'Bound', (c) => c.status?.phase === 'Bound');
    await sleep(2_000);
  }
  // q-0's own claims paused long ago; its namespace's did not: no replacement yet.
  expect(await members(ns, 'quiet')).toHaveLength(2);
  await poolWhere(ns, 'quiet', 'refilled once the namespace paused', (p) => p.status?.readyCount === 2 && p.status.claimedCount === 1, 90_000);
}, 240_000);
