import type { Condition, PoolClaim, PoolClaimStatus } from '../operator/api/types.js';
import { claimManifest } from './claim.js';
import { ClaimFailedError, MemberLostError, NoReadyMembersError, PoolDrainingError, PoolNotFoundError, QueueFullError, errorForReason } from './errors.js';
import { viewClaim, type ClaimView } from './view.js';

const bound = (reason: string, message = `m ${reason}`): Condition => ({ type: 'Bound', status: 'False', reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });

function claimWith(status: PoolClaimStatus | undefined, deleting = false): PoolClaim {
  const c: PoolClaim = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name: 'c-1', namespace: 'ns', uid: 'u1' }, spec: { poolName: 'p' } };
  if (status !== undefined) c.status = status;
  if (deleting) c.metadata.deletionTimestamp = new Date(0);
  return c;
}

const member = { name: 'p-abc', uid: 'm1', podIP: '127.64.0.5', nodeName: 'n0' };

test.each<{ name: string; status: PoolClaimStatus | undefined; deleting?: boolean; want: ClaimView }>([
  { name: 'no status yet: waiting, no reason', status: undefined, want: { kind: 'waiting', reason: undefined, message: undefined, queuePosition: undefined } },
  { name: 'queued with a position', status: { phase: 'Pending', queuePosition: 3, conditions: [bound('Queued', 'waiting')] }, want: { kind: 'waiting', reason: 'Queued', message: 'waiting', queuePosition: 3 } },
  { name: 'pool not found yet: still waiting', status: { phase: 'Pending', conditions: [bound('PoolNotFound', 'nf')] }, want: { kind: 'waiting', reason: 'PoolNotFound', message: 'nf', queuePosition: undefined } },
  { name: 'bound with a member', status: { phase: 'Bound', member }, want: { kind: 'bound', member } },
  { name: 'bound without a member is not trusted', status: { phase: 'Bound' }, want: { kind: 'waiting', reason: undefined, message: undefined, queuePosition: undefined } },
  { name: 'failed: the Bound reason', status: { phase: 'Failed', conditions: [bound('QueueFull', 'full')] }, want: { kind: 'ended', reason: 'QueueFull', message: 'full' } },
  { name: 'failed with no condition', status: { phase: 'Failed' }, want: { kind: 'ended', reason: 'Failed', message: 'PoolClaim c-1 failed' } },
  { name: 'lost', status: { phase: 'Lost', member, conditions: [bound('MemberLost', 'gone')] }, want: { kind: 'ended', reason: 'MemberLost', message: 'gone' } },
  { name: 'released by TTL', status: { phase: 'Released', conditions: [bound('Expired', 'ttl')] }, want: { kind: 'ended', reason: 'Expired', message: 'ttl' } },
  { name: 'deleted while waiting', status: { phase: 'Pending' }, deleting: true, want: { kind: 'ended', reason: 'ClaimDeleted', message: 'PoolClaim c-1 is being deleted' } },
])('$name', ({ status, deleting, want }) => {
  expect(viewClaim(claimWith(status, deleting))).toEqual(want);
});

test.each<{ reason: string; cls: typeof ClaimFailedError; name: string }>([
  { reason: 'NoReadyMembers', cls: NoReadyMembersError, name: 'NoReadyMembersError' },
  { reason: 'QueueFull', cls: QueueFullError, name: 'QueueFullError' },
  { reason: 'PoolNotFound', cls: PoolNotFoundError, name: 'PoolNotFoundError' },
  { reason: 'PoolDraining', cls: PoolDrainingError, name: 'PoolDrainingError' },
  { reason: 'MemberLost', cls: MemberLostError, name: 'MemberLostError' },
  { reason: 'Expired', cls: ClaimFailedError, name: 'ClaimFailedError' },
  { reason: 'toString', cls: ClaimFailedError, name: 'ClaimFailedError' },
])('reason $reason is a $name carrying the reason and the claim', ({ reason, cls, name }) => {
  const claim = claimWith({ phase: 'Failed' });
  const e = errorForReason(reason, 'why', claim);
  expect(e).toBeInstanceOf(cls);
  expect(e).toBeInstanceOf(ClaimFailedError);
  expect(e.constructor).toBe(cls);
  expect({ name: e.name, reason: e.reason, message: e.message, claimName: e.claimName, namespace: e.namespace }).toEqual({ name, reason, message: 'why', claimName: 'c-1', namespace: 'ns' });
});

describe('claimManifest', () => {
  test('generateName from the pool, cut so the claim name fits the member label (63)', () => {
    const pool = 'a'.repeat(63);
    const m = claimManifest(pool, 'ns', { priority: 5, acquiredBy: 'ci', reclaimPolicy: 'Return', waitTimeoutSeconds: 0 });
    expect(m.metadata.generateName).toBe(`${'a'.repeat(57)}-`);
    expect((m.metadata.generateName ?? '').length + 5).toBeLessThanOrEqual(63);
    expect(m.spec).toEqual({ poolName: pool, priority: 5, acquiredBy: 'ci', reclaimPolicy: 'Return', waitTimeoutSeconds: 0 });
  });

  test.each<{ name: string; pool?: string; namespace?: string; opts: Record<string, unknown>; field: string }>([
    { name: 'empty pool', pool: '', opts: {}, field: 'pool' },
    { name: 'pool with capitals', pool: 'Pool', opts: {}, field: 'pool' },
    { name: 'pool too long', pool: 'a'.repeat(64), opts: {}, field: 'pool' },
    { name: 'bad namespace', namespace: 'a/b', opts: {}, field: 'namespace' },
    { name: 'timeout 0', opts: { timeoutMs: 0 }, field: 'timeoutMs' },
    { name: 'timeout NaN', opts: { timeoutMs: Number.NaN }, field: 'timeoutMs' },
    { name: 'priority fraction', opts: { priority: 1.5 }, field: 'priority' },
    { name: 'priority above int32', opts: { priority: 2 ** 31 }, field: 'priority' },
    { name: 'negative waitTimeoutSeconds', opts: { waitTimeoutSeconds: -1 }, field: 'waitTimeoutSeconds' },
    { name: 'huge acquiredBy', opts: { acquiredBy: 'x'.repeat(1025) }, field: 'acquiredBy' },
    { name: 'acquiredFor with a newline', opts: { acquiredFor: 'a\nb' }, field: 'acquiredFor' },
    { name: 'unknown reclaimPolicy', opts: { reclaimPolicy: 'Keep' }, field: 'reclaimPolicy' },
    { name: 'generateName too long', opts: { generateName: `${'a'.repeat(58)}-` }, field: 'generateName' },
  ])('refuses $name, naming the field', ({ pool, namespace, opts, field }) => {
    expect(() => claimManifest(pool ?? 'p', namespace ?? 'ns', opts)).toThrow(new RegExp(`^${field}: `));
  });
});
