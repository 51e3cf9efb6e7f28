// The TypeScript client against the local cluster, with the operator in-process in this file's namespace: a claim
// and its release (`await using`), claimMany, the typed error for every failure reason the operator reports, a
// timeout and an abort (each leaves no claim behind), a Lost member, and the API calls a claim costs, counted from the
// API server's audit log.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import {
  claim,
  claimMany,
  ClaimAbortedError,
  ClaimTimeoutError,
  MemberLostError,
  NoReadyMembersError,
  PoolDrainingError,
  PoolNotFoundError,
  QueueFullError,
  type ClaimedMember,
} from '../client/index.js';
import { attachCluster } from './cluster/cluster.js';
import { AUDIT_ALL_VERBS_GROUP } from './cluster/stages.js';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from '../test/support/kube.js';
import { startOperatorInProcess, type RunningOperator } from '../test/support/operator.js';
import { listClaims, members, poolManifest, poolWhere } from '../test/support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
const kc = new KubeConfig();

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('client'));
  op = await startOperatorInProcess(ns);
  kc.loadFromFile(kubeconfig());
  const pools = [
    poolManifest(ns, 'warm', { targetSize: 3 }),
    // Nothing ever binds here: claims wait (timeouts, aborts, NoReadyMembers).
    poolManifest(ns, 'empty', { targetSize: 0 }),
    poolManifest(ns, 'full', { targetSize: 0, spec: { claimQueue: { maxPending: 0 } } }),
    poolManifest(ns, 'drained', { targetSize: 0, spec: { drain: true } }),
  ];
  for (const p of pools) await kubectl(['apply', '-f', '-'], p);
  await poolWhere(ns, 'warm', 'ready', (p) => p.status?.readyCount === 3);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

/** Claims whose name starts with prefix (each test names its claims with its own generateName). */
async function claimsNamed(prefix: string): Promise<string[]> {
  return (await listClaims(ns)).map((c) => c.metadata.name ?? '').filter((n) => n.startsWith(prefix));
}

async function gone(what: string, fn: () => Promise<boolean>): Promise<void> {
  await eventually(what, async () => ((await fn()) ? true : undefined), 15_000);
}

test('claim() returns the bound member; `await using` releases it at the end of the scope', async () => {
  let held: { claimName: string; name: string } | undefined;
  {
    await using m = await claim('warm', { kubeConfig: kc, namespace: ns, acquiredBy: 'e2e', acquiredFor: 'scope', timeoutMs: 30_000 });
    held = { claimName: m.claimName, name: m.name };
    expect(m.claimName).toMatch(/^warm-[a-z0-9]{5}$/);
    expect(m.podIP).toMatch(/^127\./);
    expect(m.nodeName).toMatch(/./);
    expect(m.pool).toBe('warm');
    expect(m.claim.status?.phase).toBe('Bound');
    expect(m.signal.aborted).toBe(false);
    const pod = (await members(ns, 'warm')).find((p) => p.metadata.name === m.name);
    expect(pod?.metadata.labels?.['warmpool.dev/claim']).toBe(m.claimName);
    expect(pod?.metadata.annotations?.['warmpool.dev/acquired-by']).toBe('e2e');
  }
  // Released at the end of the block: the claim is deleted, and with it (reclaimPolicy Delete) the member.
  expect(await claimsNamed(held.claimName)).toEqual([]);
  await gone('the released member deleted', async () => {
    const pod = (await members(ns, 'warm')).find((p) => p.metadata.name === held?.name);
    return pod === undefined || pod.metadata.deletionTimestamp !== undefined;
  });
});

test('claimMany binds distinct members and releases them all', async () => {
  {
    await using many = await claimMany('warm', 2, { kubeConfig: kc, namespace: ns, generateName: 'many-', timeoutMs: 30_000 });
    expect(many).toHaveLength(2);
    expect(new Set(many.map((m) => m.name)).size).toBe(2);
  }
  expect(await claimsNamed('many-')).toEqual([]);
});

test('a timeout rejects with ClaimTimeoutError (name TimeoutError) and deletes the claim', async () => {
  const started = Date.now();
  const err = await claim('empty', { kubeConfig: kc, namespace: ns, generateName: 'timeout-', timeoutMs: 4_000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClaimTimeoutError);
  expect((err as ClaimTimeoutError).name).toBe('TimeoutError');
  expect((err as ClaimTimeoutError).claimName).toMatch(/^timeout-/);
  // Past the operator's 2 s grace, the claim was reported Queued: the error says what it was waiting on.
  expect((err as ClaimTimeoutError).lastReason).toBe('Queued');
  expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
  expect(await claimsNamed('timeout-')).toEqual([]);
});

test('an abort mid-wait rejects with an AbortError and deletes the claim', async () => {
  const ac = new AbortController();
  let seen = '';
  const err = await claim('empty', {
    kubeConfig: kc,
    namespace: ns,
    generateName: 'abort-',
    signal: ac.signal,
    // Abort once the operator has reported the claim queued: the wait is under way for certain.
    onPending: ({ claimName, reason }) => {
      seen = claimName;
      if (reason === 'Queued') ac.abort(new Error('caller gave up'));
    },
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClaimAbortedError);
  expect((err as Error).name).toBe('AbortError');
  expect(((err as Error).cause as Error).message).toBe('caller gave up');
  expect(seen).toMatch(/^abort-/);
  expect(await claimsNamed('abort-')).toEqual([]);
  // An already-aborted signal creates nothing at all.
  await expect(claim('empty', { kubeConfig: kc, namespace: ns, generateName: 'preabort-', signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ClaimAbortedError);
  expect(await claimsNamed('preabort-')).toEqual([]);
});

test.each([
  { reason: 'QueueFull', cls: QueueFullError, pool: 'full', spec: {} },
  { reason: 'NoReadyMembers', cls: NoReadyMembersError, pool: 'empty', spec: { waitTimeoutSeconds: 1 } },
  { reason: 'PoolNotFound', cls: PoolNotFoundError, pool: 'no-such-pool', spec: { waitTimeoutSeconds: 1 } },
  { reason: 'PoolDraining', cls: PoolDrainingError, pool: 'drained', spec: {} },
])('the operator failing a claim with $reason rejects with its typed error; the claim is deleted', async ({ reason, cls, pool, spec }) => {
  const prefix = `${reason.toLowerCase()}-`;
  const err = await claim(pool, { kubeConfig: kc, namespace: ns, generateName: prefix, timeoutMs: 30_000, ...spec }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(cls);
  expect(err).toMatchObject({ reason, namespace: ns });
  expect((err as QueueFullError).claimName).toMatch(new RegExp(`^${prefix}`));
  expect((err as QueueFullError).claim?.status?.phase).toBe('Failed');
  expect(await claimsNamed(prefix)).toEqual([]);
});

test('a member lost while held aborts the member signal with MemberLostError', async () => {
  const m: ClaimedMember = await claim('warm', { kubeConfig: kc, namespace: ns, generateName: 'lost-', timeoutMs: 30_000 });
  try {
    const lost = new Promise<unknown>((resolve) => m.signal.addEventListener('abort', () => resolve(m.signal.reason), { once: true }));
    await kubectl(['-n', ns, 'delete', 'pod', m.name, '--wait=false']);
    const reason = await Promise.race([lost, new Promise((_, reject) => setTimeout(() => reject(new Error('member signal not aborted in 20 s')), 20_000))]);
    expect(reason).toBeInstanceOf(MemberLostError);
    expect(reason).toMatchObject({ reason: 'MemberLost', claimName: m.claimName });
  } finally {
    await m.release();
  }
  expect(await claimsNamed('lost-')).toEqual([]);
});

interface AuditEvent {
  auditID: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
}

const auditLog = process.env.WARMPOOL_TEST_AUDIT_LOG;

(auditLog ? test : test.skip)('a claim costs the client exactly one create, one watch and one delete (audit log)', async () => {
  // Its own identity, in the group whose reads the test cluster's audit policy logs too.
  const user = `client-audit-${ns}`;
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  const own = new KubeConfig();
  own.loadFromFile(await cluster.kubeconfigFor(user, ['system:masters', AUDIT_ALL_VERBS_GROUP]));
  const claims = 3;
  const names: string[] = [];
  for (let i = 0; i < claims; i++) {
    const m = await claim('warm', { kubeConfig: own, namespace: ns, generateName: 'audit-', timeoutMs: 30_000 });
    names.push(m.claimName);
    await m.release();
  }
  const read = (): AuditEvent[] => {
    const byId = new Map<string, AuditEvent>();
    for (const line of readFileSync(auditLog ?? '', 'utf8').split('\n')) {
      if (!line.includes(user)) continue;
      const e = JSON.parse(line) as AuditEvent;
      // A watch is logged twice (response started, then complete): one request, one auditID.
      if (e.user.username === user) byId.set(e.auditID, e);
    }
    return [...byId.values()];
  };
  // The log is written as requests complete; the last delete may land a moment after it returned.
  const events = await eventually('all deletes in the audit log', async () => {
    const all = read();
    return all.filter((e) => e.verb === 'delete').length >= claims ? all : undefined;
  });
  const calls = events.map((e) => `${e.verb} ${e.objectRef?.resource ?? ''}${e.verb === 'create' ? '' : ` ${e.objectRef?.name ?? ''}`}`).sort();
  const want = names.flatMap((n) => ['create poolclaims', `delete poolclaims ${n}`, `watch poolclaims ${n}`]).sort();
  expect(calls).toEqual(want);
  process.stderr.write(`[client audit] ${claims} claims: ${events.length} API calls (${(events.length / claims).toFixed(1)} per claim): ${calls.join(', ')}\n`);
}, 60_000);
