// Hostile and odd input on the claim path, against the real API server with the operator in-process: a bind the API
// server refuses fails its claim at once instead of being retried, and pods that merely carry a pool's labels are
// never bound, patched or deleted. Writes are counted in the test cluster's audit log.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, condition, getClaim, isReady, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';
import type { RunResult } from '../e2e/cluster/exec.js';
import type { PoolClaim } from '../operator/api/types.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

/** The acceptance's budget: at most this many pod patches in the 30 s after a refused bind. */
const PATCH_BUDGET = 20;
const WINDOW_MS = 30_000;

// The API server refuses a pod whose annotations (keys + values) exceed 256 KiB. A member of `padded` carries, once
// ready: the filler, the template's ready-after (28 + 2), warming-started-at (31 + 24) and ready-at (21 + 24); a bind
// adds claim-uid (22 + 36) and claimed-at (23 + 24) = 105 bytes. The filler leaves 50 bytes free: the member is created
// and marked ready, and every bind of it is refused with 422, whatever the schema allows in a claim.
const ANNOTATIONS_LIMIT = 256 * 1024;
const FILLER_KEY = 'pad.test/filler';
const FILLER_BYTES = ANNOTATIONS_LIMIT - FILLER_KEY.length - (28 + 2) - (31 + 24) - (21 + 24) - 50;

let t0 = 0;
let bigAcquirer: RunResult | undefined;

interface AuditEvent {
  verb: string;
  stageTimestamp: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
}

/** Writes (verbs) to pods of this namespace whose name starts with one of the prefixes, in [from, to). */
function podWrites(verbs: readonly string[], prefixes: readonly string[], from: number, to: number): AuditEvent[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(ns))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => {
      const at = Date.parse(e.stageTimestamp);
      const ref = e.objectRef;
      return (
        verbs.includes(e.verb) &&
        ref?.namespace === ns &&
        ref.resource === 'pods' &&
        ref.subresource === undefined && // kwok's status updates are not the operator's
        prefixes.some((p) => (ref.name ?? '').startsWith(p)) &&
        at >= from &&
        at < to
      );
    });
}

const sleepUntil = async (ms: number): Promise<void> => {
  const wait = ms - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
};

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('hostile'));
  op = await startOperatorInProcess(ns);
  // Created, not applied: a client-side apply would copy the 256 KiB filler into an annotation of the pool itself.
  await kubectl(['create', '-f', '-'], poolManifest(ns, 'padded', { targetSize: 1, annotations: { [FILLER_KEY]: 'x'.repeat(FILLER_BYTES) } }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'healthy', { targetSize: 3 }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'plain', { targetSize: 1 }));
  await poolWhere(ns, 'padded', 'ready', (p) => p.status?.readyCount === 1);
  await poolWhere(ns, 'healthy', 'ready', (p) => p.status?.readyCount === 3);
  await poolWhere(ns, 'plain', 'ready', (p) => p.status?.readyCount === 1);
  // The padded member was marked ready (its ready-at annotation fitted): only the bind's annotations do not.
  await eventually('padded member labelled ready', async () =>
    (await members(ns, 'padded')).some((p) => p.metadata.labels?.['warmpool.dev/state'] === 'ready' && isReady(p)) ? true : undefined,
  );

  t0 = Date.now();
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'refused', 'padded'));
  for (const name of ['h-1', 'h-2', 'h-3']) await kubectl(['apply', '-f', '-'], claimManifest(ns, name, 'healthy'));
  // 300 KiB of acquiredBy: more than a pod's annotations may hold. Created (see above), so only the schema or the
  // bind can refuse it.
  bigAcquirer = await kubectlRaw(['create', '-f', '-'], claimManifest(ns, 'big-acquirer', 'plain', { acquiredBy: 'a'.repeat(300 * 1024) }));
}, 90_000);

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

test('a bind the API server refuses fails its claim (BindFailed) at once; the pool\'s other claims bind; no patch storm', async () => {
  const failed = await claimWhere(ns, 'refused', 'Failed', (c) => c.status?.phase === 'Failed', t0 + WINDOW_MS - Date.now());
  console.log(`refused bind: claim Failed ${((Date.now() - t0) / 1000).toFixed(1)} s after it was applied (at most)`);
  const bound = condition(failed, 'Bound');
  expect(bound).toMatchObject({ status: 'False', reason: 'BindFailed' });
  // The API server's own words, bounded.
  expect(bound?.message).toMatch(/annotations/i);
  expect(bound?.message.length).toBeLessThanOrEqual(1_100);
  expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'BindFailed' });
  const events = await eventually('a BindFailed event on the claim', async () => {
    const out = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=refused,reason=BindFailed', '-o', 'name']);
    return out.trim() === '' ? undefined : out;
  });
  expect(events).not.toBe('');
  for (const name of ['h-1', 'h-2', 'h-3']) await claimWhere(ns, name, 'Bound', (c) => c.status?.phase === 'Bound');

  // Every pod patch of both pools in the 30 s after the claims were applied (the audit log lags a little).
  await sleepUntil(t0 + WINDOW_MS + 1_000);
  const patches = podWrites(['patch', 'update'], ['padded-', 'healthy-'], t0, t0 + WINDOW_MS);
  const refused = patches.filter((e) => (e.objectRef?.name ?? '').startsWith('padded-'));
  console.log(`pod patches in ${WINDOW_MS / 1000} s: ${patches.length} (padded member: ${refused.length})`);
  expect(refused.length).toBeGreaterThanOrEqual(1); // the one refused bind
  expect(patches.length).toBeLessThanOrEqual(PATCH_BUDGET);
  // Still Failed, still one member nobody holds.
  expect((await getClaim(ns, 'refused')).status?.phase).toBe('Failed');
}, 60_000);

test('a claim with a 300 KiB acquiredBy is refused at apply, or fails with BindFailed; either way no patch storm', async () => {
  const applied = bigAcquirer;
  if (applied === undefined) throw new Error('the claim was never sent');
  if (applied.code !== 0) {
    // Refused by the schema, naming the field.
    expect(applied.stderr).toMatch(/acquiredBy/);
  } else {
    const failed = await claimWhere(ns, 'big-acquirer', 'Failed', (c) => c.status?.phase === 'Failed', Math.max(1_000, t0 + WINDOW_MS - Date.now()));
    expect(condition(failed, 'Bound')).toMatchObject({ status: 'False', reason: 'BindFailed' });
    expect(condition(failed, 'Bound')?.message.length).toBeLessThanOrEqual(1_100);
  }
  await sleepUntil(t0 + WINDOW_MS + 1_000);
  const patches = podWrites(['patch', 'update'], ['plain-'], t0, t0 + WINDOW_MS);
  console.log(`acquiredBy 300 KiB: ${applied.code === 0 ? 'BindFailed' : 'refused at apply'}, pod patches in ${WINDOW_MS / 1000} s: ${patches.length}`);
  expect(patches.length).toBeLessThanOrEqual(PATCH_BUDGET);
}, 60_000);

/** A pod made by hand to look like a member of `pool`: its labels (template hash included) but no owner. */
function impostor(name: string, pool: string, templateHash: string, claimed: boolean): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: {
        app: pool,
        'warmpool.dev/pool': pool,
        'warmpool.dev/state': claimed ? 'claimed' : 'ready',
        'warmpool.dev/template-hash': templateHash,
        ...(claimed && { 'warmpool.dev/claim': 'ghost' }),
      },
      annotations: {
        'sim.warmpool.dev/ready-after': '1s',
        'warmpool.dev/ready-at': new Date().toISOString(),
        ...(claimed && { 'warmpool.dev/claim-uid': randomUUID(), 'warmpool.dev/claimed-at': new Date().toISOString() }),
      },
    },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
  });
}

test('a hand-made Ready pod with a pool\'s labels is never bound, patched or deleted; claims bind real members', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'guarded', { targetSize: 2 }));
  await poolWhere(ns, 'guarded', 'ready', (p) => p.status?.readyCount === 2);
  const real = await members(ns, 'guarded');
  const hash = real[0]?.metadata.labels?.['warmpool.dev/template-hash'] ?? '';
  // Paused: members stay as they are, so only the claim path decides what happens to the impostors (a pool that
  // counted the Ready one as warm would otherwise trim it as surplus; that is the pool controller's part).
  await kubectl(['-n', ns, 'patch', 'ipool', 'guarded', '--type=merge', '-p', '{"spec":{"paused":true}}']);
  const from = Date.now();
  await kubectl(['create', '-f', '-'], impostor('guarded-fake-ready', 'guarded', hash, false));
  await kubectl(['create', '-f', '-'], impostor('guarded-fake-claimed', 'guarded', hash, true));
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', '--timeout=30s', 'pod/guarded-fake-ready']);
  const fakes = ['guarded-fake-ready', 'guarded-fake-claimed'];
  const before = new Map<string, PodJson>((await members(ns, 'guarded')).filter((p) => fakes.includes(p.metadata.name)).map((p) => [p.metadata.name, p]));
  // Both still there (a claim path that deletes pods recording a missing claim has removed the second by now).
  expect([...before.keys()].sort()).toEqual([...fakes].sort());

  // Three claims against two real ready members and a Ready impostor: the third is queued (written once a pass has
  // planned it with the impostor in view), then binds a real replacement once the pool may make one.
  for (const name of ['g-1', 'g-2', 'g-3']) await kubectl(['apply', '-f', '-'], claimManifest(ns, name, 'guarded'));
  const claims: PoolClaim[] = [];
  for (const name of ['g-1', 'g-2']) claims.push(await claimWhere(ns, name, 'Bound', (c) => c.status?.phase === 'Bound'));
  const third = await claimWhere(ns, 'g-3', 'Bound or Queued', (c) => c.status?.phase === 'Bound' || condition(c, 'Bound')?.reason === 'Queued');
  expect(third.status?.member?.name).toBeUndefined();
  expect(condition(third, 'Bound')?.reason).toBe('Queued');
  await kubectl(['-n', ns, 'patch', 'ipool', 'guarded', '--type=merge', '-p', '{"spec":{"paused":false}}']);
  claims.push(await claimWhere(ns, 'g-3', 'Bound', (c) => c.status?.phase === 'Bound'));
  const pods = await members(ns, 'guarded');
  for (const c of claims) {
    const member = pods.find((p) => p.metadata.name === c.status?.member?.name);
    expect(fakes).not.toContain(c.status?.member?.name);
    expect(member?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'PoolClaim', uid: c.metadata.uid, controller: true })]);
  }
  // The impostors were in the operator's cache before the claims came (a pass on each pod event), and the last claim
  // waited in the queue beside them: every pass that could have taken, patched or deleted one has run.
  for (const name of fakes) {
    const now = pods.find((p) => p.metadata.name === name);
    expect(now?.metadata.deletionTimestamp).toBeUndefined();
    expect(now?.metadata.labels).toEqual(before.get(name)?.metadata.labels);
    expect(now?.metadata.annotations).toEqual(before.get(name)?.metadata.annotations);
  }
  await new Promise((r) => setTimeout(r, 1_000)); // the audit log lags a little
  const touched = podWrites(['patch', 'update', 'delete'], fakes, from, Date.now());
  expect(touched.map((e) => `${e.verb} ${e.objectRef?.name ?? ''}`)).toEqual([]);
}, 90_000);
