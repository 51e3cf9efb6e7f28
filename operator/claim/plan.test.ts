import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { getCondition } from '../api/conditions.js';
import { conform } from '../api/conform.js';
import { claimStatusSchema } from '../api/schema.js';
import type { ClaimQueueSpec, InstancePool, InstancePoolSpec, PoolClaim, PoolClaimSpec, PoolClaimStatus } from '../api/types.js';
import { API_VERSION, CLAIM_FINALIZER, CLAIM_KIND, POOL_KIND } from '../api/types.js';
import { classifyMember, memberOwner, ownedMembers } from '../member/members.js';
import { isClaimable } from './allocate.js';
import { MAX_TIMER_DELAY_MS } from '../kube/timers.js';
import { bindRetryAt, type BindFailure } from './bind-failure.js';
import type { BindAction, ClaimAction, FailAction } from './model.js';
import { PENDING_WRITE_GRACE_MS, boundStatus, claimMember, failedStatus, memberClaimPatch, pendingStatus } from './model.js';
import { claimResolver, resolveClaim, resolvePool, type ResolvedClaim } from '../api/resolve.js';
import type { ClaimPlanInput } from './plan.js';
import { REQUEUE_FLOOR_MS, planClaims } from './plan.js';
import { comparePriority } from './queue.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');
const S = 1000;
const NOW = T0 + 100 * S;
const HASH = 'hash-1';

function pool(spec: Partial<InstancePoolSpec> = {}, meta: Partial<InstancePool['metadata']> = {}): InstancePool {
  return {
    apiVersion: API_VERSION,
    kind: POOL_KIND,
    metadata: { name: 'web', namespace: 'ns', uid: 'pool-uid', ...meta },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'img' }] } }, targetSize: 3, ...spec },
  };
}

interface ClaimOpts {
  /** Seconds before NOW the claim was created. */
  age?: number;
  spec?: Partial<PoolClaimSpec>;
  status?: PoolClaimStatus;
  deleting?: boolean;
  finalizers?: string[];
  uid?: string;
}

function claim(name: string, o: ClaimOpts = {}): PoolClaim {
  const c: PoolClaim = {
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    metadata: {
      name,
      namespace: 'ns',
      uid: o.uid ?? `uid-${name}`,
      generation: 1,
      resourceVersion: '10',
      creationTimestamp: new Date(NOW - (o.age ?? 1) * S),
    },
    spec: { poolName: 'web', ...o.spec },
  };
  if (o.deleting) c.metadata.deletionTimestamp = new Date(NOW - S);
  if (o.finalizers) c.metadata.finalizers = o.finalizers;
  if (o.status) c.status = o.status;
  return c;
}

interface PodOpts {
  ready?: boolean;
  state?: 'warming' | 'ready' | 'claimed';
  /** Seconds before NOW it became ready. */
  readyAge?: number;
  node?: string;
  hash?: string;
  claim?: PoolClaim;
  claimedAge?: number;
  deleting?: boolean;
  phase?: string;
  evicted?: boolean;
  rv?: string;
  /** Replaces the owner references the pool (and the claim, when claimed) would give it: an impostor's. */
  owners?: V1OwnerReference[];
}

function pod(name: string, o: PodOpts = {}): V1Pod {
  const ready = o.ready ?? true;
  const labels: Record<string, string> = {
    'warmpool.dev/pool': 'web',
    'warmpool.dev/state': o.state ?? (o.claim ? 'claimed' : 'ready'),
    'warmpool.dev/template-hash': o.hash ?? HASH,
  };
  const annotations: Record<string, string> = { 'warmpool.dev/ready-at': new Date(NOW - (o.readyAge ?? 50) * S).toISOString() };
  const ownerReferences = [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'pool-uid', controller: true }];
  if (o.claim) {
    labels['warmpool.dev/claim'] = o.claim.metadata.name ?? '';
    annotations['warmpool.dev/claim-uid'] = o.claim.metadata.uid ?? '';
    annotations['warmpool.dev/claimed-at'] = new Date(NOW - (o.claimedAge ?? 10) * S).toISOString();
    ownerReferences.push({ apiVersion: API_VERSION, kind: CLAIM_KIND, name: o.claim.metadata.name ?? '', uid: o.claim.metadata.uid ?? '', controller: false });
  }
  const p: V1Pod = {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: o.rv ?? '5', labels, annotations, ownerReferences: o.owners ?? ownerReferences },
    spec: { containers: [], nodeName: o.node ?? 'node-1' },
    status: {
      phase: o.phase ?? 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(NOW - 50 * S) }],
    },
  };
  if (o.deleting) p.metadata = { ...p.metadata, deletionTimestamp: new Date(NOW - S) };
  if (o.evicted) p.status = { ...p.status, phase: 'Failed', reason: 'Evicted' };
  return p;
}

/** The claim as Bound to the pod `age` seconds ago. */
function bound(c: PoolClaim, p: V1Pod, age = 10, ready = true): PoolClaim {
  return { ...c, status: boundStatus(c, claimMember(p), ready, NOW - age * S, NOW - age * S) };
}

/** The planner's input as the caches hold it: the pool and the claims before the door. */
type CachedInput = Omit<ClaimPlanInput, 'pool' | 'claims'> & { pool: InstancePool | undefined; claims: readonly PoolClaim[] };

/**
 * Through the door, as the controller does it: the pool and every claim resolved. The simulation's passes go through
 * one that remembers each claim version, as the controller's does (its world replaces a claim on every write).
 */
function resolved(input: CachedInput, door = resolveClaim): ClaimPlanInput {
  return { ...input, pool: input.pool && resolvePool(input.pool).resolved, claims: input.claims.map((c) => door(c).claim) };
}

function plan(over: Partial<CachedInput>): ClaimAction[] {
  return planClaims(resolved({ pool: pool(), claims: [], members: [], templateHash: HASH, now: NOW, ...over }));
}

function summary(a: ClaimAction): string {
  switch (a.kind) {
    case 'bind':
      return `bind ${a.claim.name} ${a.member.name}`;
    case 'repair-status':
      return `repair-status ${a.claim.name} ${a.member}`;
    case 'set-pending':
      return `set-pending ${a.claim.name} ${a.reason}${a.queuePosition === undefined ? '' : ` #${a.queuePosition}`}`;
    case 'fail':
      return `fail ${a.claim.name} ${a.reason}`;
    case 'release':
      return `release ${a.claim.name} ${a.member ?? '-'} ${a.reason} ${a.policy}`;
    case 'mark-lost':
      return `mark-lost ${a.claim.name}`;
    case 'update-ready':
      return `update-ready ${a.claim.name} ${a.ready}`;
    case 'return-member':
      return `return-member ${a.claim.name} ${a.member.name}`;
    case 'delete-member':
      return `delete-member ${a.claim.name} ${a.member.name} ${a.reason}`;
    case 'add-finalizer':
    case 'remove-finalizer':
      return `${a.kind} ${a.claim.name}`;
    case 'set-pool-pending':
      return `set-pool-pending ${a.pendingClaims}`;
    case 'create-cold':
      return `create-cold ${a.claim.name} ${a.pods.map((p) => p.metadata?.name ?? '').join('+')}`;
    case 'requeue':
      return `requeue ${a.afterMs} ${a.why}`;
  }
}

const run = (over: Partial<CachedInput>): string[] => plan(over).map(summary);

describe('planClaims: binding', () => {
  it('binds a fresh claim to the ready member with one pod patch and one status write, nothing else', () => {
    const c = claim('c1', { spec: { acquiredBy: 'ci' } });
    const m = pod('m1', { rv: '42' });
    const actions = plan({ claims: [c], members: [m] });
    expect(actions).toEqual([
      {
        kind: 'bind',
        claim: { name: 'c1', uid: 'uid-c1' },
        member: { name: 'm1', uid: 'uid-m1', resourceVersion: '42', nodeName: 'node-1' },
        patch: (() => {
          // The bind patch plus the member's first fencing token and the autoscaler's veto.
          const patch = memberClaimPatch(c, m, NOW);
          return { metadata: { ...patch.metadata, annotations: { ...patch.metadata.annotations, 'warmpool.dev/lease-token': '1', 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } } };
        })(),
        status: boundStatus(c, { name: 'm1', uid: 'uid-m1', podIP: '10.0.0.1', nodeName: 'node-1', token: 1 }, true, NOW, NOW),
      },
    ]);
    expect((actions[0] as BindAction).status.waitedSeconds).toBe(1);
  });

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'priority first, the other waits unwritten within the grace',
      input: {
        claims: [claim('low', { age: 1 }), claim('high', { age: 1, spec: { priority: 5 } })],
        members: [pod('m1')],
      },
      want: ['bind high m1', 'set-pool-pending 1', `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`],
    },
    {
      name: 'oldest ready member first',
      input: {
        claims: [claim('a', { age: 3 }), claim('b', { age: 2 })],
        members: [pod('young', { readyAge: 5 }), pod('old', { readyAge: 90 })],
      },
      want: ['bind a old', 'bind b young'],
    },
    {
      name: 'a Return claim gets the finalizer first',
      input: { claims: [claim('r', { spec: { reclaimPolicy: 'Return' } })], members: [pod('m1')] },
      want: [
        'add-finalizer r',
        'bind r m1',
      ],
    },
    {
      name: 'a Return claim that has the finalizer binds at once',
      input: {
        claims: [claim('r', { spec: { reclaimPolicy: 'Return' }, finalizers: [CLAIM_FINALIZER] })],
        members: [pod('m1')],
      },
      want: ['bind r m1'],
    },
    { name: 'a paused pool still hands out members', input: { pool: pool({ paused: true }), claims: [claim('c')], members: [pod('m1')] }, want: ['bind c m1'] },
    {
      name: 'never a member that is not Ready, being deleted, warming, failed or claimed',
      input: {
        claims: [claim('c', { age: 1 })],
        members: [
          pod('not-ready', { ready: false }),
          pod('deleting', { deleting: true }),
          pod('warming', { state: 'warming' }),
          pod('failed', { phase: 'Failed' }),
          pod('taken', { claim: claim('other') }),
        ],
      },
      want: ['delete-member other taken claim-gone', 'set-pool-pending 1', `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`],
    },
    { name: 'a member on an older template may be claimed', input: { claims: [claim('c')], members: [pod('m1', { hash: 'old' })] }, want: ['bind c m1'] },
    {
      name: 'never the member a Bound claim names, even when the pod does not show the bind yet',
      input: {
        claims: [bound(claim('b'), pod('m1')), claim('c', { age: 1 })],
        members: [pod('m1')],
      },
      want: ['set-pool-pending 1', `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });
});

describe('planClaims: waiting', () => {
  const queued = (position: number): PoolClaimStatus => pendingStatus(claim('w'), 'Queued', 'waiting for a ready member of pool web', position, T0);

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'past the grace: Pending with its position', input: { claims: [claim('w', { age: 5 })] }, want: ['set-pending w Queued #1', 'set-pool-pending 1'] },
    {
      name: 'position unchanged: no write',
      input: {
        claims: [claim('w', { age: 5, status: queued(1) })],
        pool: { ...pool(), status: { pendingClaims: 1 } },
      },
      want: [],
    },
    {
      name: 'position moved within its power-of-two bucket: no write',
      input: {
        claims: [...Array.from({ length: 4 }, (_, i) => claim(`a${i}`, { age: 9, spec: { priority: 1 } })), claim('w', { age: 5, status: queued(7) })],
        pool: { ...pool(), status: { pendingClaims: 5 } },
      },
      want: ['set-pending a0 Queued #1', 'set-pending a1 Queued #2', 'set-pending a2 Queued #3', 'set-pending a3 Queued #4'],
    },
    {
      name: 'position left its bucket: rewritten exactly',
      input: {
        claims: [claim('a', { age: 9, status: queued(1) }), claim('w', { age: 5, status: queued(8) })],
        pool: { ...pool(), status: { pendingClaims: 2 } },
      },
      want: ['set-pending w Queued #2'],
    },
    { name: 'waitTimeoutSeconds 0 fails at once, without the grace', input: { claims: [claim('z', { spec: { waitTimeoutSeconds: 0 } })] }, want: ['fail z NoReadyMembers'] },
    { name: 'waitTimeoutSeconds elapsed', input: { claims: [claim('t', { age: 30, spec: { waitTimeoutSeconds: 30 } })] }, want: ['fail t NoReadyMembers'] },
    {
      name: 'waitTimeoutSeconds ahead: wait, requeue at the deadline',
      input: { claims: [claim('t', { age: 10, spec: { waitTimeoutSeconds: 30 } })] },
      want: [
        'set-pending t Queued #1',
        'set-pool-pending 1',
        'requeue 20000 wait-timeout',
      ],
    },
    {
      name: 'a timed-out claim does not count against maxPending',
      input: {
        pool: pool({ claimQueue: { maxPending: 1 } }),
        claims: [claim('t', { age: 30, spec: { waitTimeoutSeconds: 5 } }), claim('w', { age: 5 })],
      },
      want: ['fail t NoReadyMembers', 'set-pending w Queued #1', 'set-pool-pending 1'],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it.each<{ name: string; claimQueue: ClaimQueueSpec; want: string[] }>([
    { name: 'RejectNewest', claimQueue: { maxPending: 1, onFull: 'RejectNewest' }, want: ['fail b QueueFull', 'fail c QueueFull', 'set-pending a Queued #1', 'set-pool-pending 1'] },
    { name: 'RejectOldest', claimQueue: { maxPending: 1, onFull: 'RejectOldest' }, want: ['fail a QueueFull', 'fail b QueueFull', 'set-pending c Queued #1', 'set-pool-pending 1'] },
  ])('backpressure $name: served claims never count as waiting', ({ claimQueue, want }) => {
    const claims = [claim('served', { age: 50 }), claim('a', { age: 40 }), claim('b', { age: 30 }), claim('c', { age: 20 })];
    expect(run({ pool: pool({ claimQueue }), claims, members: [pod('m1')] })).toEqual(['bind served m1', ...want]);
  });

  it('the first Pending write carries a Queued event; later ones none', () => {
    const [first] = plan({ claims: [claim('w', { age: 5 })] });
    expect(first).toMatchObject({ kind: 'set-pending', event: { type: 'Normal', reason: 'Queued' } });
    const [later] = plan({ claims: [claim('a', { age: 9 }), claim('w', { age: 5, status: queued(1) })] });
    expect(later).toMatchObject({ kind: 'set-pending', claim: { name: 'a' } });
    const [moved] = plan({ claims: [claim('w', { age: 5, status: queued(9) })] });
    expect(moved).toMatchObject({ kind: 'set-pending', queuePosition: 1 });
    expect(moved).not.toHaveProperty('event');
  });
});

describe('planClaims: pool missing, draining, deleted', () => {
  const notFound = pendingStatus(claim('c'), 'PoolNotFound', 'InstancePool web not found', undefined, T0);

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'missing pool: Pending PoolNotFound once past the grace', input: { pool: undefined, claims: [claim('c', { age: 5 })] }, want: ['set-pending c PoolNotFound'] },
    { name: 'missing pool, already said so: nothing', input: { pool: undefined, claims: [claim('c', { age: 5, status: notFound })] }, want: [] },
    {
      name: 'missing pool, waitTimeoutSeconds elapsed',
      input: { pool: undefined, claims: [claim('c', { age: 9, spec: { waitTimeoutSeconds: 9 } })] },
      want: [
        'fail c PoolNotFound',
      ],
    },
    { name: 'missing pool, waitTimeoutSeconds 0', input: { pool: undefined, claims: [claim('c', { spec: { waitTimeoutSeconds: 0 } })] }, want: ['fail c PoolNotFound'] },
    {
      name: 'the pool appears: PoolNotFound turns into a bind',
      input: { claims: [claim('c', { age: 5, status: notFound })], members: [pod('m1')] },
      want: [
        'bind c m1',
      ],
    },
    {
      name: 'draining: pending claims fail, bound claims keep their members',
      input: {
        pool: pool({ drain: true }),
        claims: [claim('p', { age: 5 }), bound(claim('b'), pod('m1'))],
        members: [pod('m1', { claim: claim('b') }), pod('m2')],
      },
      want: ['fail p PoolDraining'],
    },
    {
      name: 'being deleted: pending claims fail',
      input: { pool: pool({}, { deletionTimestamp: new Date(NOW) }), claims: [claim('p')], members: [pod('m2')] },
      want: [
        'fail p PoolDraining',
      ],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('PoolNotFound is a Warning event and a Bound=False condition', () => {
    const [action] = plan({ pool: undefined, claims: [claim('c', { age: 5 })] });
    expect(action).toMatchObject({
      event: { type: 'Warning', reason: 'PoolNotFound' },
      status: { phase: 'Pending', conditions: expect.arrayContaining([expect.objectContaining({ type: 'Bound', status: 'False', reason: 'PoolNotFound' })]) as unknown },
    });
  });
});

describe('planClaims: crash repair and idempotency', () => {
  const c = claim('c');

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'the member records the claim, the status does not: repair, never bind again',
      input: {
        claims: [c],
        members: [pod('m1', { claim: c }), pod('m2')],
      },
      want: ['repair-status c m1'],
    },
    { name: 'already Bound to its member: nothing', input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c }), pod('m2')] }, want: [] },
    { name: 'Bound in status, the pod cache does not show it yet: nothing', input: { claims: [bound(c, pod('m1'))], members: [pod('m1'), pod('m2')] }, want: [] },
    {
      name: 'two members record one claim: keep the one the status names, delete the other',
      input: {
        claims: [bound(c, pod('m1'))],
        members: [pod('m1', { claim: c }), pod('m2', { claim: c })],
      },
      want: ['delete-member c m2 duplicate'],
    },
    {
      name: 'Bound to a member the pod cache does not show yet, another member records it too: never repointed, the named one is read live',
      input: {
        claims: [bound(c, pod('m1'))],
        members: [pod('m2', { claim: c })],
      },
      want: ['mark-lost c'],
    },
    {
      name: 'Bound to a member the cache shows unclaimed yet, another records it too: nothing until the cache catches up',
      input: {
        claims: [bound(c, pod('m1'))],
        members: [pod('m1'), pod('m2', { claim: c })],
      },
      want: [],
    },
    {
      name: 'two members record a claim whose status names neither yet: repair the keeper, release nothing until it is written',
      input: {
        claims: [c],
        members: [pod('m1', { claim: c }), pod('m2', { claim: c })],
      },
      want: ['repair-status c m1'],
    },
    {
      name: 'two members record a Return claim: the extra one goes back to the pool',
      input: {
        claims: [bound(claim('c', { spec: { reclaimPolicy: 'Return' } }), pod('m1'))],
        members: [pod('m1', { claim: c }), pod('m2', { claim: c })],
      },
      want: ['return-member c m2'],
    },
    {
      name: 'the member records a deleted claim: delete it (the pool reference keeps the GC away)',
      input: { members: [pod('m1', { claim: c })] },
      want: [
        'delete-member c m1 claim-gone',
      ],
    },
    {
      name: 'a claim recreated under the same name is a new claim',
      input: {
        claims: [claim('c', { uid: 'new-uid' })],
        members: [pod('m1', { claim: c }), pod('m2')],
      },
      want: ['delete-member c m1 claim-gone', 'bind c m2'],
    },
    {
      name: 'the recorded member died before the status was written: Lost, not Bound',
      input: {
        claims: [c],
        members: [pod('m1', { claim: c, phase: 'Failed' }), pod('m2')],
      },
      want: ['mark-lost c', 'delete-member c m1 lost'],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('repair writes Bound with the bind time the member recorded', () => {
    const [action] = plan({ claims: [c], members: [pod('m1', { claim: c, claimedAge: 7 })] });
    expect(action).toMatchObject({ kind: 'repair-status', status: { phase: 'Bound', boundAt: new Date(NOW - 7 * S).toISOString(), member: { name: 'm1' } } });
  });
});

describe('planClaims: bound claims', () => {
  const c = claim('c');
  const ttl = (seconds: number, policy: 'Delete' | 'Return' = 'Delete'): PoolClaim =>
    claim('c', { spec: { ttlSecondsAfterBound: seconds, reclaimPolicy: policy } });

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'member no longer Ready: the Ready condition follows',
      input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c, ready: false })] },
      want: [
        'update-ready c false',
      ],
    },
    { name: 'member Ready again', input: { claims: [bound(c, pod('m1'), 10, false)], members: [pod('m1', { claim: c })] }, want: ['update-ready c true'] },
    { name: 'member gone: Lost', input: { claims: [bound(c, pod('m1'))], members: [pod('m2')] }, want: ['mark-lost c'] },
    {
      name: 'member failed: Lost, and the failed pod is deleted',
      input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c, phase: 'Failed' })] },
      want: [
        'mark-lost c',
        'delete-member c m1 lost',
      ],
    },
    { name: 'member evicted: Lost', input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c, evicted: true })] }, want: ['mark-lost c', 'delete-member c m1 lost'] },
    { name: 'member being deleted by someone else: Lost', input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c, deleting: true })] }, want: ['mark-lost c'] },
    {
      name: 'member now marked with another claim: Lost',
      input: { claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: claim('x') })] },
      want: [
        'mark-lost c',
        'delete-member x m1 claim-gone',
      ],
    },
    {
      name: 'a Lost claim is never bound again',
      input: {
        claims: [{ ...c, status: { ...bound(c, pod('m1')).status, phase: 'Lost' } }],
        members: [pod('m2')],
      },
      want: [],
    },
    { name: 'TTL ahead: requeue at the expiry', input: { claims: [bound(ttl(60), pod('m1'), 10)], members: [pod('m1', { claim: c })] }, want: ['requeue 50000 ttl'] },
    {
      name: 'TTL expired, Delete: Released, then the member is deleted',
      input: { claims: [bound(ttl(10), pod('m1'), 10)], members: [pod('m1', { claim: c })] },
      want: [
        'release c m1 Expired Delete',
        'delete-member c m1 released',
      ],
    },
    {
      name: 'TTL expired, Return: the member goes back',
      input: {
        claims: [bound(ttl(5, 'Return'), pod('m1'), 10)],
        members: [pod('m1', { claim: c })],
      },
      want: ['release c m1 Expired Return', 'return-member c m1'],
    },
    {
      name: 'TTL expired, Return, member on an old template: deleted instead',
      input: {
        claims: [bound(ttl(5, 'Return'), pod('m1'), 10)],
        members: [pod('m1', { claim: c, hash: 'old' })],
      },
      want: ['release c m1 Expired Return', 'delete-member c m1 not-returnable'],
    },
    {
      name: 'Released with the member still marked (crash after the status): finish the release',
      input: {
        claims: [{ ...c, spec: { ...c.spec, reclaimPolicy: 'Return' }, status: { phase: 'Released' } }],
        members: [pod('m1', { claim: c })],
      },
      want: ['return-member c m1'],
    },
    { name: 'Failed and nothing held: nothing', input: { claims: [{ ...c, status: failedStatus(c, 'QueueFull', 'full', T0) }], members: [pod('m1')] }, want: [] },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('Lost says why, as a Warning event and Ready=False MemberLost', () => {
    const [action] = plan({ claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: c, phase: 'Failed' })] });
    expect(action).toMatchObject({
      kind: 'mark-lost',
      event: { type: 'Warning', reason: 'MemberLost', message: 'member m1 failed' },
      status: { phase: 'Lost', member: { name: 'm1' } },
      unseen: false,
    });
  });

  it('a Bound claim whose named member is missing from the cache is not repointed to another member recording it', () => {
    expect(plan({ claims: [bound(c, pod('m1'))], members: [pod('m2', { claim: c })] })[0]).toMatchObject({
      kind: 'mark-lost',
      member: 'm1',
      unseen: true,
    });
  });

  it('a member missing from the pod cache, or shown with another claim, is Lost only once read live', () => {
    expect(plan({ claims: [bound(c, pod('m1'))], members: [pod('m2')] })[0]).toMatchObject({ kind: 'mark-lost', member: 'm1', unseen: true });
    expect(plan({ claims: [bound(c, pod('m1'))], members: [pod('m1', { claim: claim('x') })] })[0]).toMatchObject({
      kind: 'mark-lost',
      unseen: true,
    });
  });
});

describe('planClaims: claims and pools the schema would refuse (stored before a CRD upgrade) are planned as stored', () => {
  // What the door gives the planner for an invalid object is its stored spec with the defaults applied, exactly as the
  // planner read it before the door existed; these rows pin that outcome.
  const bad = (name: string, spec: Record<string, unknown>, o: ClaimOpts = {}): PoolClaim => claim(name, { ...o, spec });
  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'a negative waitTimeoutSeconds fails at once when no member is free',
      input: { claims: [bad('c', { waitTimeoutSeconds: -5 })] },
      want: ['fail c NoReadyMembers'],
    },
    {
      name: 'a priority beyond int32 is served first',
      input: { claims: [claim('a', { age: 5 }), bad('b', { priority: 2 ** 40 }, { age: 1 })], members: [pod('m1')] },
      want: ['bind b m1', 'set-pending a Queued #1', 'set-pool-pending 1'],
    },
    {
      name: 'an unknown reclaimPolicy deletes the member when the claim goes',
      input: {
        claims: [bad('c', { reclaimPolicy: 'Keep' }, { deleting: true, finalizers: [CLAIM_FINALIZER] })],
        members: [pod('m1', { claim: claim('c') })],
      },
      want: ['delete-member c m1 released', 'remove-finalizer c'],
    },
    {
      name: 'a pool with an invalid size still hands out the members it has, by its stored queue policy',
      input: {
        pool: pool({ targetSize: -1, claimQueue: { maxPending: 0 } }),
        claims: [claim('a', { age: 5 }), claim('b', { age: 5 })],
        members: [pod('m1')],
      },
      want: ['bind a m1', 'fail b QueueFull'],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });
});

describe('planClaims: deletion and finalizers', () => {
  const ret = (o: ClaimOpts = {}): PoolClaim =>
    claim('c', { deleting: true, finalizers: [CLAIM_FINALIZER], ...o, spec: { reclaimPolicy: 'Return', ...o.spec } });
  const c = claim('c');

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'Return, member Ready and current: returned, then the finalizer goes',
      input: { claims: [ret()], members: [pod('m1', { claim: c })] },
      want: [
        'return-member c m1',
        'remove-finalizer c',
      ],
    },
    {
      name: 'Return, member not Ready: deleted',
      input: { claims: [ret()], members: [pod('m1', { claim: c, ready: false })] },
      want: [
        'delete-member c m1 not-returnable',
        'remove-finalizer c',
      ],
    },
    {
      name: 'Return, member on an old template: deleted',
      input: { claims: [ret()], members: [pod('m1', { claim: c, hash: 'old' })] },
      want: [
        'delete-member c m1 not-returnable',
        'remove-finalizer c',
      ],
    },
    {
      name: 'Return into a draining pool: deleted',
      input: { pool: pool({ drain: true }), claims: [ret()], members: [pod('m1', { claim: c })] },
      want: [
        'delete-member c m1 not-returnable',
        'remove-finalizer c',
      ],
    },
    {
      name: 'Return, member already being deleted: only the finalizer',
      input: { claims: [ret()], members: [pod('m1', { claim: c, deleting: true })] },
      want: [
        'remove-finalizer c',
      ],
    },
    { name: 'Return, never bound: only the finalizer', input: { claims: [ret()] }, want: ['remove-finalizer c'] },
    {
      name: 'Delete that somehow has the finalizer: member deleted, finalizer removed',
      input: {
        claims: [ret({ spec: { reclaimPolicy: 'Delete' } })],
        members: [pod('m1', { claim: c })],
      },
      want: ['delete-member c m1 released', 'remove-finalizer c'],
    },
    {
      name: 'Delete without finalizer, seen while deleting (foreground): member deleted',
      input: {
        claims: [claim('c', { deleting: true, finalizers: ['foregroundDeletion'] })],
        members: [pod('m1', { claim: c })],
      },
      want: ['delete-member c m1 released'],
    },
    { name: 'a deleting claim is never bound', input: { claims: [claim('c', { deleting: true, finalizers: ['x'] })], members: [pod('m1')] }, want: [] },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });
});

describe('planClaims: requeue', () => {
  it('asks once, for the earliest timer', () => {
    const c = claim('b', { spec: { ttlSecondsAfterBound: 60 } });
    const actions = run({
      claims: [bound(c, pod('m1'), 10), claim('w', { age: 10, spec: { waitTimeoutSeconds: 40 } }), claim('fresh', { age: 0 })],
      members: [pod('m1', { claim: c })],
    });
    expect(actions.filter((a) => a.startsWith('requeue'))).toEqual([`requeue ${PENDING_WRITE_GRACE_MS} pending-grace`]);
  });
});

describe('planClaims: impostors (pods that carry the pool labels but are not its members)', () => {
  const poolRef = (uid: string, controller = true): V1OwnerReference => ({ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid, controller });
  const claimRefOf = (c: PoolClaim, controller = true): V1OwnerReference => ({
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    name: c.metadata.name ?? '',
    uid: c.metadata.uid ?? '',
    controller,
  });
  const waits = ['set-pool-pending 1', `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`];
  const ghost = claim('ghost');
  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'a Ready pod with no owner is never bound', input: { claims: [claim('c', { age: 1 })], members: [pod('fake', { owners: [] })] }, want: waits },
    {
      name: 'nor one controlled by another pool (a pool of the same name, deleted and made again)',
      input: {
        claims: [claim('c', { age: 1 })],
        members: [pod('old', { owners: [poolRef('old-pool-uid')] })],
      },
      want: waits,
    },
    {
      name: 'nor one that names the pool as a mere owner, not its controller',
      input: {
        claims: [claim('c', { age: 1 })],
        members: [pod('fake', { owners: [poolRef('pool-uid', false)] })],
      },
      want: waits,
    },
    {
      name: 'nor one controlled by a claim whose uid it does not record',
      input: {
        claims: [claim('c', { age: 1 })],
        members: [pod('fake', { owners: [claimRefOf(claim('someone'))] })],
      },
      want: waits,
    },
    {
      name: 'the real member is bound, the impostor left alone',
      input: {
        claims: [claim('c')],
        members: [pod('a-fake', { readyAge: 99, owners: [] }), pod('m1')],
      },
      want: ['bind c m1'],
    },
    {
      name: 'a pod recording a claim that does not exist is never deleted when it is not a member',
      input: {
        members: [pod('fake', { claim: ghost, owners: [] }), pod('fake2', { claim: ghost, owners: [poolRef('other')] })],
      },
      want: [],
    },
    { name: 'while the pool member recording it is', input: { members: [pod('m1', { claim: ghost })] }, want: ['delete-member ghost m1 claim-gone'] },
    {
      name: 'a member a claim controls is its member even with the pool gone',
      input: {
        pool: undefined,
        claims: [bound(claim('b'), pod('m1'))],
        members: [pod('m1', { claim: claim('b'), owners: [claimRefOf(claim('b'))] })],
      },
      want: [],
    },
    {
      name: 'an impostor recording a live claim is not taken for its member',
      input: {
        claims: [bound(claim('b'), pod('m1'))],
        members: [pod('m1', { claim: claim('b') }), pod('fake', { claim: claim('b'), owners: [] })],
      },
      want: [],
    },
    {
      name: 'an impostor is not counted: a claim bound to one is Lost',
      input: {
        claims: [bound(claim('b'), pod('fake'))],
        members: [pod('fake', { claim: claim('b'), owners: [] })],
      },
      want: ['mark-lost b'],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });
});

describe('planClaims: bind failures', () => {
  const failure = (o: Partial<BindFailure> = {}): BindFailure => ({ failures: 1, lastAt: NOW - 100, message: 'HTTP 500: boom', final: false, ...o });
  const failures = (entries: Record<string, BindFailure>): Map<string, BindFailure> => new Map(Object.entries(entries));
  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'a final refusal fails the claim at once; the member goes to the next claim',
      input: {
        claims: [claim('bad', { age: 5 }), claim('good', { age: 1 })],
        members: [pod('m1')],
        bindFailures: failures({ 'uid-bad': failure({ final: true, message: 'HTTP 422: too long' }) }),
      },
      want: ['fail bad BindFailed', 'bind good m1'],
    },
    {
      name: 'a claim in back-off is not bound, and does not hold up the claims behind it',
      input: {
        claims: [claim('slow', { age: 5, spec: { priority: 9 } }), claim('next', { age: 1 })],
        members: [pod('m1'), pod('m2')],
        bindFailures: failures({ 'uid-slow': failure({ failures: 3, lastAt: NOW - 1_000 }) }),
      },
      want: ['bind next m1', 'set-pending slow Queued #1', 'set-pool-pending 1', `requeue ${4 * S - 1_000} bind-backoff`],
    },
    {
      name: 'once its back-off is over it is bound again',
      input: {
        claims: [claim('slow', { age: 5 })],
        members: [pod('m1')],
        bindFailures: failures({ 'uid-slow': failure({ failures: 2, lastAt: NOW - 2 * S }) }),
      },
      want: ['bind slow m1'],
    },
    {
      name: 'a final refusal of a claim that is no longer pending changes nothing',
      input: {
        claims: [{ ...claim('done'), status: { phase: 'Failed' } }],
        bindFailures: failures({ 'uid-done': failure({ final: true }) }),
      },
      want: [],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('BindFailed says so in the Bound and Stalled conditions, with the API server message, and as a Warning event', () => {
    const actions = plan({
      claims: [claim('bad')],
      members: [pod('m1')],
      bindFailures: failures({ 'uid-bad': failure({ final: true, message: 'HTTP 422: metadata.annotations: Too long' }) }),
    });
    const f = actions.find((a): a is FailAction => a.kind === 'fail');
    const message = 'binding a member of pool web failed: HTTP 422: metadata.annotations: Too long';
    expect(f?.status).toEqual(failedStatus(claim('bad'), 'BindFailed', message, NOW));
    expect(f?.event).toEqual({ type: 'Warning', reason: 'BindFailed', message });
    expect(conform(f?.status, claimStatusSchema, 'status')).toMatchObject({ ok: true });
  });
});

describe('planClaims: requeue bounds', () => {
  it.each<{ name: string; input: Partial<CachedInput>; want: string }>([
    {
      name: 'a deadline a millisecond away is planned again no sooner than the floor',
      input: {
        claims: [{ ...claim('w', { spec: { waitTimeoutSeconds: 10 } }), metadata: { ...claim('w').metadata, creationTimestamp: new Date(NOW - 10 * S + 1) } }],
      },
      want: `requeue ${REQUEUE_FLOOR_MS} wait-timeout`,
    },
    {
      name: 'a 30-day TTL wakes within the hour, never past the timer limit',
      input: {
        claims: [bound(claim('b', { spec: { ttlSecondsAfterBound: 2_592_000 } }), pod('m1'))],
        members: [pod('m1', { claim: claim('b') })],
      },
      want: `requeue ${MAX_TIMER_DELAY_MS} ttl`,
    },
    {
      name: 'int32-max timeouts too',
      input: {
        claims: [{ ...claim('w', { age: 5, spec: { waitTimeoutSeconds: 2_147_483_647 } }), status: pendingStatus(claim('w'), 'Queued', 'waiting for a ready member of pool web', 1, T0) }],
      },
      want: `requeue ${MAX_TIMER_DELAY_MS} wait-timeout`,
    },
  ])('$name', ({ input, want }) => {
    expect(run(input).filter((a) => a.startsWith('requeue'))).toEqual([want]);
  });
});

// ---- properties -------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every failure reproduces from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

function randomPool(r: () => number): InstancePool | undefined {
  const roll = r();
  if (roll < 0.1) return undefined;
  const p = pool({
    drain: roll > 0.9,
    claimOrder: pick(r, ['OldestReady', 'NewestReady', 'PackNodes', 'SpreadNodes'] as const),
    claimQueue: {
      strategy: pick(r, ['Priority', 'FIFO', 'FairShare'] as const),
      onFull: pick(r, ['RejectNewest', 'RejectOldest'] as const),
      ...(r() < 0.4 && { maxPending: Math.floor(r() * 4) }),
    },
  });
  if (r() < 0.05) p.metadata.deletionTimestamp = new Date(NOW);
  return p;
}

const INT32_MAX = 2_147_483_647;

/**
 * `instantTtl`: ttlSecondsAfterBound 0 is allowed, but a claim with it is released by the pass after its bind, so a
 * simulation whose clock stands still would never come to rest; it is left out there.
 */
function randomClaimSpec(r: () => number, instantTtl = true): Partial<PoolClaimSpec> {
  return {
    priority: r() < 0.1 ? pick(r, [INT32_MAX, -INT32_MAX - 1, 0]) : Math.floor(r() * 5) - 2,
    reclaimPolicy: r() < 0.5 ? 'Return' : 'Delete',
    ...(r() < 0.6 && { acquiredBy: pick(r, ['alice', 'bob', 'carol', '']) }),
    ...(r() < 0.3 && { waitTimeoutSeconds: pick(r, [0, 5, 60, 2_592_000, INT32_MAX]) }),
    ...(r() < 0.3 && { ttlSecondsAfterBound: pick(r, [instantTtl ? 0 : 1, 1, 30, 600, 2_592_000, INT32_MAX]) }),
  };
}

/** A pod that carries the pool's labels but is not its member: no owner, another pool, or a claim it does not record. */
function impostorOwners(r: () => number, claims: readonly PoolClaim[]): V1OwnerReference[] {
  const other = pick(r, [...claims, claim('stranger')]);
  return pick(r, [
    [],
    [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'another-pool-uid', controller: true }],
    [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'pool-uid', controller: false }],
    [{ apiVersion: API_VERSION, kind: CLAIM_KIND, name: other.metadata.name ?? '', uid: `not-${other.metadata.uid ?? ''}`, controller: true }],
  ]);
}

/** Some claims' bind failures as the shell records them: final refusals, back-offs running or over. */
function randomBindFailures(r: () => number, claims: readonly PoolClaim[]): Map<string, BindFailure> {
  const out = new Map<string, BindFailure>();
  for (const c of claims) {
    if (r() >= 0.15) continue;
    const failures = pick(r, [1, 2, 7, 64, 5_000]);
    out.set(c.metadata.uid ?? '', { failures, lastAt: NOW - Math.floor(r() * 400_000), message: 'HTTP 422: refused', final: r() < 0.4 });
  }
  return out;
}

function randomWorld(seed: number, scale = 1): ClaimPlanInput {
  return resolved(randomCachedWorld(seed, scale));
}

function randomCachedWorld(seed: number, scale: number): CachedInput {
  const r = rng(seed);
  const claims: PoolClaim[] = [];
  const ghosts = [claim('ghost-1'), claim('ghost-2')];
  // A large world (scale > 1) has at least half its maximum, so it always holds thousands.
  const size = (max: number): number => Math.floor((scale > 1 ? 0.5 + r() / 2 : r()) * max * scale);
  const n = size(12);
  for (let i = 0; i < n; i++) {
    claims.push(
      claim(`c${i}`, {
        age: Math.floor(r() * 100),
        spec: randomClaimSpec(r),
        deleting: r() < 0.1,
        ...(r() < 0.3 && { finalizers: [CLAIM_FINALIZER] }),
      }),
    );
  }
  const members: V1Pod[] = [];
  const m = size(14);
  for (let i = 0; i < m; i++) {
    const owner = r() < 0.35 ? pick(r, [...claims, ...ghosts]) : undefined;
    members.push(
      pod(`m${i}`, {
        ...(r() < 0.1 && { owners: impostorOwners(r, claims) }),
        ready: r() < 0.8,
        state: owner ? 'claimed' : pick(r, ['ready', 'ready', 'ready', 'warming'] as const),
        readyAge: Math.floor(r() * 90),
        node: pick(r, ['n1', 'n2', 'n3']),
        hash: r() < 0.8 ? HASH : 'old',
        ...(owner && { claim: owner }),
        deleting: r() < 0.1,
        phase: r() < 0.08 ? 'Failed' : 'Running',
        evicted: r() < 0.04,
        rv: String(Math.floor(r() * 100)),
      }),
    );
  }
  // Give some claims a status: Bound (to a random member, maybe the wrong one), Pending, or terminal.
  for (const c of claims) {
    const roll = r();
    const target = members.length > 0 ? pick(r, members) : undefined;
    if (roll < 0.3 && target) c.status = boundStatus(c, claimMember(target), true, NOW - 20 * S, NOW - 20 * S);
    else if (roll < 0.5) c.status = pendingStatus(c, 'Queued', 'waiting for a ready member of pool web', 1 + Math.floor(r() * 5), T0);
    else if (roll < 0.6) c.status = { phase: pick(r, ['Released', 'Failed', 'Lost'] as const) };
  }
  const p = randomPool(r);
  // Extremes of the pool: an empty template (its hash is then whatever the pool controller computed, or none), sizes.
  if (p !== undefined && r() < 0.1) p.spec = { ...p.spec, template: {}, targetSize: pick(r, [0, INT32_MAX]) };
  const templateHash = p !== undefined && r() < 0.05 ? undefined : HASH;
  return { pool: p, claims, members, templateHash, now: NOW, bindFailures: randomBindFailures(r, claims) };
}

const MEMBER_WRITES = new Set(['bind', 'return-member', 'delete-member']);

function checkPlan(input: ClaimPlanInput, actions: ClaimAction[]): void {
  const pods = new Map(input.members.map((p) => [p.metadata?.name ?? '', p]));
  const claims = new Map(input.claims.map((c) => [c.metadata.uid ?? '', c]));
  // What the pool's own members record (an impostor's record does not count).
  const recordedUids = new Set(
    ownedMembers(input.members, input.pool?.metadata.uid).map((p) => p.metadata?.annotations?.['warmpool.dev/claim-uid']),
  );
  // Claims held back by a bind failure (final, or in back-off) are out of the queue's order.
  const heldBack = (uid: string): boolean => {
    const failure = input.bindFailures?.get(uid);
    return failure !== undefined && bindRetryAt(failure) > input.now;
  };
  const binds = actions.filter((a): a is BindAction => a.kind === 'bind');

  // One member never gets two writes, one claim never two binds.
  const touched = actions.flatMap((a) => (a.kind === 'bind' || a.kind === 'return-member' || a.kind === 'delete-member' ? [a.member.name] : []));
  expect(new Set(touched).size).toBe(touched.length);
  expect(new Set(binds.map((b) => b.claim.uid)).size).toBe(binds.length);
  expect(actions.filter((a) => MEMBER_WRITES.has(a.kind)).length).toBe(touched.length);

  // Only the pool's own members are ever written to.
  for (const a of actions) {
    if (a.kind !== 'bind' && a.kind !== 'return-member' && a.kind !== 'delete-member') continue;
    const owner = memberOwner(pods.get(a.member.name) as V1Pod, input.pool?.metadata.uid);
    expect(owner === undefined ? `${a.kind} of impostor ${a.member.name}` : 'member').toBe('member');
  }

  // A member a live claim holds (its status names it, the member records it) is deleted or handed back only when the
  // same plan ends the claim (TTL expiry, Lost).
  const ended = new Set(actions.flatMap((x) => (x.kind === 'release' || x.kind === 'mark-lost' ? [x.claim.uid] : [])));
  for (const a of actions) {
    if (a.kind !== 'return-member' && a.kind !== 'delete-member') continue;
    const p = pods.get(a.member.name);
    const c = claims.get(p?.metadata?.annotations?.['warmpool.dev/claim-uid'] ?? '');
    if (c === undefined || c.metadata.deletionTimestamp || ['Released', 'Failed', 'Lost'].includes(c.status?.phase ?? '')) continue;
    if (c.status?.member?.uid !== p?.metadata?.uid) continue;
    expect(ended.has(c.metadata.uid ?? '') ? 'ends' : `${a.kind} of ${a.member.name}, held by ${c.metadata.name ?? ''}`).toBe('ends');
  }

  // Every requeue is finite, no sooner than the floor and no later than a timer may sleep.
  for (const a of actions) {
    if (a.kind !== 'requeue') continue;
    expect(Number.isFinite(a.afterMs)).toBe(true);
    expect(a.afterMs).toBeGreaterThanOrEqual(REQUEUE_FLOOR_MS);
    expect(a.afterMs).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
  }

  for (const b of binds) {
    const p = pods.get(b.member.name);
    expect(p).toBeDefined();
    expect(memberOwner(p as V1Pod, input.pool?.metadata.uid)).toBe('pool');
    // Never a claim the API server refused for good, nor one still in its back-off.
    const failure = input.bindFailures?.get(b.claim.uid);
    if (failure !== undefined) expect(bindRetryAt(failure)).toBeLessThanOrEqual(input.now);
    // Only a claimable member: labelled ready, Ready, not being deleted, healthy, unmarked.
    expect(isClaimable(classifyMember(p as V1Pod))).toBe(true);
    expect(b.patch.metadata.resourceVersion).toBe(p?.metadata?.resourceVersion);
    const c = claims.get(b.claim.uid);
    expect(c?.metadata.deletionTimestamp).toBeUndefined();
    expect([undefined, 'Pending']).toContain(c?.status?.phase);
    expect(recordedUids.has(b.claim.uid)).toBe(false);
    expect(input.pool).toBeDefined();
    expect(input.pool?.spec.drain).not.toBe(true);
  }

  // Queue order respects priority: every claim served precedes every pending claim left unserved.
  if ((input.pool?.spec.claimQueue?.strategy ?? 'Priority') === 'Priority') {
    const unserved = actions.flatMap((a) =>
      ((a.kind === 'set-pending' && a.reason === 'Queued') || (a.kind === 'fail' && a.reason !== 'PoolDraining')) && !heldBack(a.claim.uid)
        ? [a.claim.uid]
        : [],
    );
    // comparePriority is a total order, so comparing the last served with the first unserved covers every pair (and
    // keeps the check linear for thousands of claims).
    const byOrder = (uids: readonly string[]): ResolvedClaim[] => uids.map((uid) => claims.get(uid) as ResolvedClaim).sort(comparePriority);
    const served = byOrder(binds.map((b) => b.claim.uid));
    const left = byOrder(unserved);
    const lastServed = served[served.length - 1];
    const firstLeft = left[0];
    if (lastServed !== undefined && firstLeft !== undefined) expect(comparePriority(lastServed, firstLeft)).toBeLessThan(0);
    const positions = actions
      .flatMap((a) => (a.kind === 'set-pending' && a.queuePosition !== undefined ? [a] : []))
      .sort((x, y) => (x.queuePosition ?? 0) - (y.queuePosition ?? 0));
    for (let i = 1; i < positions.length; i++) {
      const x = positions[i - 1];
      const y = positions[i];
      if (x === undefined || y === undefined || (x.queuePosition ?? 0) === (y.queuePosition ?? 0)) continue;
      expect(comparePriority(claims.get(x.claim.uid) as ResolvedClaim, claims.get(y.claim.uid) as ResolvedClaim)).toBeLessThan(0);
    }
  }

  // Terminal claims are never bound or repaired; every status written is one the CRD schema admits (the first 200
  // of a plan: the schema walk is the slow part of a plan of thousands, and one status is much like another).
  let conformed = 0;
  for (const a of actions) {
    if (!('status' in a)) continue;
    const phase = claims.get(a.claim.uid)?.status?.phase;
    if (a.kind === 'bind' || a.kind === 'repair-status') expect(['Released', 'Failed', 'Lost']).not.toContain(phase);
    if (conformed++ < 200) expect(conform(a.status, claimStatusSchema, 'status')).toMatchObject({ ok: true });
  }
  expect(actions.filter((a) => a.kind === 'requeue').length).toBeLessThanOrEqual(1);
}

describe('planClaims: properties over random pools, claims and members', () => {
  it.each(Array.from({ length: 400 }, (_, i) => i + 1))('seed %i', (seed) => {
    const input = randomWorld(seed);
    const actions = planClaims(input);
    checkPlan(input, actions);
    // Deterministic whatever the order of the caches.
    const r = rng(seed * 7919);
    const shuffle = <T>(list: readonly T[]): T[] => [...list].sort(() => r() - 0.5);
    expect(planClaims({ ...input, claims: shuffle(input.claims), members: shuffle(input.members) })).toEqual(actions);
  });

  // Thousands of claims and members in one pass: still bounded, and quick (a pass is on the claim path).
  it.each([1, 2])('large world, seed %i', (seed) => {
    const input = randomWorld(10_000 + seed, 170);
    expect(Math.min(input.claims.length, input.members.length)).toBeGreaterThanOrEqual(1_000);
    const t0 = performance.now();
    const actions = planClaims(input);
    expect(performance.now() - t0).toBeLessThan(1_000);
    checkPlan(input, actions);
    // Each claim at most one bind; each member at most one write (checkPlan); at most one requeue.
    expect(actions.filter((a) => a.kind === 'bind').length).toBeLessThanOrEqual(Math.min(input.claims.length, input.members.length));
  });
});

// ---- a multi-pass simulation: plan, apply (with resourceVersion preconditions), let the world move, repeat ------

interface World {
  /** Its own door: a world is a cluster of its own, where a uid at a generation has one spec (api/resolve.ts). */
  door: ReturnType<typeof claimResolver>;
  pool: InstancePool;
  claims: Map<string, PoolClaim>;
  pods: Map<string, V1Pod>;
  now: number;
  rv: number;
}

function mergeMap(base: Record<string, string> | undefined, patch: Record<string, string | null>): Record<string, string> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * Applies one action as the API server would; false when a precondition fails (the chain stops). `crashMidBind`: the
 * operator dies between the bind's pod patch and its status write.
 */
function applyAction(w: World, a: ClaimAction, bindHistory: Map<string, number>, crashMidBind: boolean): boolean {
  const bump = (): string => String(++w.rv);
  const setStatus = (uid: string, status: PoolClaimStatus): boolean => {
    const c = w.claims.get(uid);
    if (!c) return false;
    w.claims.set(uid, { ...c, metadata: { ...c.metadata, resourceVersion: bump() }, status });
    return true;
  };
  const patchPod = (name: string, patch: BindAction['patch']): boolean => {
    const p = w.pods.get(name);
    if (!p || p.metadata?.resourceVersion !== patch.metadata.resourceVersion) return false;
    w.pods.set(name, {
      ...p,
      metadata: {
        ...p.metadata,
        resourceVersion: bump(),
        labels: mergeMap(p.metadata.labels, patch.metadata.labels),
        annotations: mergeMap(p.metadata.annotations, patch.metadata.annotations),
        ownerReferences: patch.metadata.ownerReferences,
      },
    });
    return true;
  };
  const patchFinalizers = (uid: string, patch: { metadata: { resourceVersion: string; finalizers: string[] } }): boolean => {
    const c = w.claims.get(uid);
    if (!c || c.metadata.resourceVersion !== patch.metadata.resourceVersion) return false;
    if (c.metadata.deletionTimestamp && patch.metadata.finalizers.length === 0) w.claims.delete(uid);
    else w.claims.set(uid, { ...c, metadata: { ...c.metadata, resourceVersion: bump(), finalizers: patch.metadata.finalizers } });
    return true;
  };
  switch (a.kind) {
    case 'bind':
      if (!w.claims.has(a.claim.uid) || !patchPod(a.member.name, a.patch)) return false;
      // A claim of several: the other patches; one refused, or a crash after the first, leaves the set partial.
      if (crashMidBind && (a.extra ?? []).length > 0) return false;
      if (!(a.extra ?? []).every((e) => patchPod(e.member.name, e.patch))) return false;
      bindHistory.set(a.claim.uid, (bindHistory.get(a.claim.uid) ?? 0) + 1);
      return !crashMidBind && setStatus(a.claim.uid, a.status);
    case 'repair-status':
    case 'set-pending':
    case 'fail':
    case 'release':
    case 'mark-lost':
    case 'update-ready':
      return setStatus(a.claim.uid, a.status);
    case 'return-member':
      return patchPod(a.member.name, a.patch);
    case 'delete-member': {
      const p = w.pods.get(a.member.name);
      if (!p || p.metadata?.uid !== a.member.uid || p.metadata.resourceVersion !== a.member.resourceVersion) return false;
      w.pods.set(a.member.name, { ...p, metadata: { ...p.metadata, resourceVersion: bump(), deletionTimestamp: new Date(w.now) } });
      return true;
    }
    case 'add-finalizer':
    case 'remove-finalizer':
      return patchFinalizers(a.claim.uid, a.patch);
    case 'set-pool-pending':
      w.pool = { ...w.pool, status: { ...w.pool.status, pendingClaims: a.pendingClaims } };
      return true;
    case 'create-cold':
      for (const p of a.pods) {
        const name = p.metadata?.name ?? '';
        if (w.pods.has(name)) return false;
        w.pods.set(name, { ...p, metadata: { ...p.metadata, uid: `uid-${name}`, resourceVersion: bump() } });
      }
      return true;
    case 'requeue':
      return true;
  }
}

interface Faults {
  /** Chance that the operator dies after any write, cutting its chain short (between bind's two writes too). */
  crash: number;
  /** The pod cache the planner sees, when it lags behind the world. */
  stalePods?: readonly V1Pod[];
  r: () => number;
}

function pass(w: World, bindHistory: Map<string, number>, faults?: Faults): ClaimAction[] {
  const members = faults?.stalePods ?? [...w.pods.values()];
  const input = resolved({ pool: w.pool, claims: [...w.claims.values()], members, templateHash: HASH, now: w.now }, w.door);
  const actions = planClaims(input);
  checkPlan(input, actions);
  const broken = new Set<string>();
  const crashed = (): boolean => faults !== undefined && faults.r() < faults.crash;
  for (const a of actions) {
    const chain = 'claim' in a ? a.claim.uid : undefined;
    if (chain !== undefined && broken.has(chain)) continue;
    if (!applyAction(w, a, bindHistory, crashed()) || crashed()) {
      if (chain !== undefined) broken.add(chain);
    }
  }
  return actions;
}

function newPod(w: World, name: string, r: () => number): V1Pod {
  const p = pod(name, { node: pick(r, ['n1', 'n2', 'n3']), rv: String(++w.rv), readyAge: 0 });
  const annotations = { ...p.metadata?.annotations, 'warmpool.dev/ready-at': new Date(w.now).toISOString() };
  return { ...p, metadata: { ...p.metadata, annotations } };
}

function newClaim(w: World, name: string, r: () => number): PoolClaim {
  const c = claim(name, { spec: randomClaimSpec(r, false) });
  return { ...c, metadata: { ...c.metadata, creationTimestamp: new Date(Math.floor(w.now / S) * S) } };
}

/** The rest of the world: claims come and go, the pool refills, members fail, time passes. */
function moveWorld(w: World, r: () => number, step: number, make = newClaim): void {
  w.now += Math.floor(r() * 3000);
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    const c = make(w, `s${step}-${i}`, r);
    w.claims.set(c.metadata.uid ?? '', c);
  }
  for (const c of [...w.claims.values()]) {
    if (r() < 0.06 && !c.metadata.deletionTimestamp) {
      if ((c.metadata.finalizers ?? []).length === 0) w.claims.delete(c.metadata.uid ?? '');
      else w.claims.set(c.metadata.uid ?? '', { ...c, metadata: { ...c.metadata, deletionTimestamp: new Date(w.now) } });
    }
  }
  for (const [name, p] of [...w.pods]) {
    const roll = r();
    const metadata = { ...p.metadata, resourceVersion: String(++w.rv) };
    if (p.metadata?.deletionTimestamp) {
      if (roll < 0.6) w.pods.delete(name);
    } else if (roll < 0.03) {
      w.pods.set(name, { ...p, metadata, status: { ...p.status, phase: 'Failed' } });
    } else if (roll < 0.06) {
      const conditions = [{ type: 'Ready', status: r() < 0.5 ? 'True' : 'False', lastTransitionTime: new Date(w.now) }];
      w.pods.set(name, { ...p, metadata, status: { ...p.status, conditions } });
    }
  }
  const unclaimed = [...w.pods.values()].filter((p) => p.metadata?.labels?.['warmpool.dev/state'] === 'ready' && !p.metadata.deletionTimestamp);
  for (let i = unclaimed.length; i < 3; i++) {
    const p = newPod(w, `p${step}-${i}`, r);
    w.pods.set(p.metadata?.name ?? '', p);
  }
  if (r() < 0.05) w.pool = { ...w.pool, spec: { ...w.pool.spec, drain: !w.pool.spec.drain } };
}

/** Safety after every pass: one member per claim, a Bound claim's member records it, terminal stays terminal. */
function checkWorld(w: World, bindHistory: Map<string, number>, phases: Map<string, string>): void {
  const holders = new Map<string, number>();
  for (const p of w.pods.values()) {
    const uid = p.metadata?.annotations?.['warmpool.dev/claim-uid'];
    if (uid !== undefined && !p.metadata?.deletionTimestamp) holders.set(uid, (holders.get(uid) ?? 0) + 1);
  }
  for (const count of holders.values()) expect(count).toBe(1);
  for (const count of bindHistory.values()) expect(count).toBe(1);
  for (const c of w.claims.values()) {
    const uid = c.metadata.uid ?? '';
    const phase = c.status?.phase ?? 'new';
    const before = phases.get(uid);
    if (before === 'Released' || before === 'Failed' || before === 'Lost') expect(phase).toBe(before);
    phases.set(uid, phase);
    if (phase === 'Bound' && !c.metadata.deletionTimestamp) {
      const p = w.pods.get(c.status?.member?.name ?? '');
      expect(p?.metadata?.annotations?.['warmpool.dev/claim-uid']).toBe(uid);
    }
  }
}

describe('planClaims: multi-pass simulation', () => {
  it.each(Array.from({ length: 60 }, (_, i) => i + 1))('seed %i', (seed) => {
    const r = rng(seed);
    const w: World = { door: claimResolver(), pool: randomPool(r) ?? pool(), claims: new Map(), pods: new Map(), now: NOW, rv: 100 };
    w.pool = { ...w.pool, metadata: { ...w.pool.metadata, deletionTimestamp: undefined } };
    const bindHistory = new Map<string, number>();
    const phases = new Map<string, string>();
    let previousPods: V1Pod[] = [];
    for (let step = 0; step < 40; step++) {
      // First a pass with faults: a lagging pod cache and crashes.
      const stalePods = r() < 0.3 ? previousPods : undefined;
      previousPods = [...w.pods.values()];
      pass(w, bindHistory, { crash: 0.15, r, ...(stalePods && { stalePods }) });
      checkWorld(w, bindHistory, phases);
      // Converges: at a standstill, a member freed by one pass is handed out by the next, then nothing is left to write.
      const writes = [1, 2, 3].map(() => {
        const actions = pass(w, bindHistory);
        checkWorld(w, bindHistory, phases);
        return actions.filter((a) => a.kind !== 'requeue').map(summary);
      });
      expect(writes[2]).toEqual([]);
      moveWorld(w, r, step);
    }
    // Let it settle with plenty of members and an open pool: no claim that may wait for ever is left waiting.
    w.pool = { ...w.pool, spec: { ...w.pool.spec, drain: false, claimQueue: {} } };
    for (let i = 0; i < 60; i++) w.pods.set(`final-${i}`, newPod(w, `final-${i}`, r));
    for (let i = 0; i < 3; i++) {
      w.now += 5_000;
      pass(w, bindHistory);
      checkWorld(w, bindHistory, phases);
    }
    const waiting = [...w.claims.values()].filter((c) => !c.metadata.deletionTimestamp && (c.status?.phase ?? 'Pending') === 'Pending');
    expect(waiting.map((c) => c.metadata.name)).toEqual([]);
  });
});

describe('planClaims: memberMetadata (issue 21)', () => {
  const stamps = { labels: { team: 'a' }, annotations: { job: 'build-7' } };
  const templated = pool({
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'img' }] } },
  });

  it('rides in the bind patch itself: one pod write, the operator marks intact', () => {
    const c = claim('c', { spec: { memberMetadata: stamps } });
    const [bind] = plan({ claims: [c], members: [pod('m1')] });
    expect(bind?.kind).toBe('bind');
    const patch = (bind as BindAction).patch.metadata;
    expect(patch.labels).toEqual({ team: 'a', 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'c' });
    expect(patch.annotations).toMatchObject({ job: 'build-7', 'warmpool.dev/claim-uid': 'uid-c' });
  });

  it('a stored claim with reserved keys (an older CRD) never stamps them: the operator marks win', () => {
    const c = claim('c', { spec: { memberMetadata: { labels: { 'warmpool.dev/state': 'ready', 'warmpool.dev/x': 'y', ok: '1' } } } });
    const [bind] = plan({ claims: [c], members: [pod('m1')] });
    expect((bind as BindAction).patch.metadata.labels).toEqual({ ok: '1', 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'c' });
  });

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'a key the template sets: Failed InvalidSpec, the member stays ready for the next claim',
      input: {
        pool: templated,
        claims: [claim('bad', { age: 2, spec: { memberMetadata: { labels: { app: 'mine' } } } }), claim('good', { age: 1 })],
        members: [pod('m1')],
      },
      want: ['fail bad InvalidSpec', 'bind good m1'],
    },
    {
      name: 'keys of its own bind as usual',
      input: { pool: templated, claims: [claim('c', { spec: { memberMetadata: stamps } })], members: [pod('m1')] },
      want: ['bind c m1'],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('names the field and the key in the failure', () => {
    const c = claim('bad', { spec: { memberMetadata: { labels: { app: 'mine' } } } });
    const fail = plan({ pool: templated, claims: [c] }).find((a): a is FailAction => a.kind === 'fail');
    expect(fail?.event.message).toBe('spec.memberMetadata.labels: app: set by the template of pool web');
  });

  it('a Return hands the member back without the claim stamps', () => {
    const c = claim('c', { spec: { reclaimPolicy: 'Return', memberMetadata: stamps }, deleting: true, finalizers: [CLAIM_FINALIZER] });
    const ret = plan({ claims: [c], members: [pod('m1', { claim: c })] }).find((a) => a.kind === 'return-member');
    expect(ret?.kind === 'return-member' && ret.patch.metadata.labels).toEqual({ team: null, 'warmpool.dev/state': 'ready', 'warmpool.dev/claim': null });
    expect(ret?.kind === 'return-member' && ret.patch.metadata.annotations).toMatchObject({ job: null, 'warmpool.dev/claim-uid': null });
  });
});

describe('planClaims: idleTimeoutSeconds and the heartbeat (issue 21)', () => {
  const idle = (timeout: number, heartbeatAge?: number | string, policy: 'Delete' | 'Return' = 'Delete'): PoolClaim => {
    const c = claim('c', { spec: { idleTimeoutSeconds: timeout, reclaimPolicy: policy } });
    if (heartbeatAge !== undefined) {
      const value = typeof heartbeatAge === 'string' ? heartbeatAge : new Date(NOW - heartbeatAge * S).toISOString();
      c.metadata.annotations = { 'warmpool.dev/heartbeat': value };
    }
    return c;
  };
  const m = (c: PoolClaim): V1Pod => pod('m1', { claim: c });

  it.each<{ name: string; c: PoolClaim; boundAge: number; want: string[] }>([
    { name: 'bound 10 s ago, no heartbeat, timeout 30: wait until 30 s after the bind', c: idle(30), boundAge: 10, want: [`requeue ${20 * S} idle`] },
    { name: 'bound 40 s ago, no heartbeat, timeout 30: Released Idle, member deleted', c: idle(30), boundAge: 40, want: ['release c m1 Idle Delete', 'delete-member c m1 released'] },
    { name: 'a heartbeat 5 s ago keeps it: the timer moves to 30 s after the beat', c: idle(30, 5), boundAge: 40, want: [`requeue ${25 * S} idle`] },
    { name: 'a heartbeat 31 s ago: Released', c: idle(30, 31), boundAge: 40, want: ['release c m1 Idle Delete', 'delete-member c m1 released'] },
    { name: 'a heartbeat older than the bind counts from the bind', c: idle(30, 100), boundAge: 10, want: [`requeue ${20 * S} idle`] },
    { name: 'a heartbeat in the future counts as now', c: idle(30, -3600), boundAge: 40, want: [`requeue ${30 * S} idle`] },
    { name: 'a heartbeat that does not parse is none', c: idle(30, 'yesterday'), boundAge: 40, want: ['release c m1 Idle Delete', 'delete-member c m1 released'] },
    { name: 'Return: the idle member goes back to the pool', c: idle(30, undefined, 'Return'), boundAge: 40, want: ['release c m1 Idle Return', 'return-member c m1'] },
    { name: 'the earlier of TTL and idle sets the timer', c: { ...idle(30, 1), spec: { ...idle(30, 1).spec, ttlSecondsAfterBound: 15 } }, boundAge: 10, want: [`requeue ${5 * S} ttl`] },
  ])('$name', ({ c, boundAge, want }) => {
    expect(run({ claims: [bound(c, m(c), boundAge)], members: [m(c)] })).toEqual(want);
  });

  it('the Released status says Idle and why', () => {
    const c = idle(30);
    const release = plan({ claims: [bound(c, m(c), 40)], members: [m(c)] })[0];
    expect(release?.kind === 'release' && release.status.phase).toBe('Released');
    expect(release?.kind === 'release' && release.status.conditions?.find((x) => x.type === 'Bound')).toMatchObject({
      status: 'False',
      reason: 'Idle',
      message: 'no heartbeat (annotation warmpool.dev/heartbeat) for 30s (idleTimeoutSeconds)',
    });
  });
});

describe('planClaims: acceptWarming (issue 21)', () => {
  /** A warming member, started `startedAge` seconds ago; node null: not placed yet. */
  const warming = (name: string, startedAge: number, node: string | null = 'node-1', unschedulable = false): V1Pod => {
    const p = pod(name, { ready: false, state: 'warming' });
    p.metadata = { ...p.metadata, annotations: { 'warmpool.dev/warming-started-at': new Date(NOW - startedAge * S).toISOString() } };
    p.spec = { containers: [], ...(node !== null && { nodeName: node }) };
    if (unschedulable) p.status = { ...p.status, conditions: [...(p.status?.conditions ?? []), { type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] };
    return p;
  };
  const eager = (name: string, age = 1, more: Partial<PoolClaimSpec> = {}): PoolClaim => claim(name, { age, spec: { acceptWarming: true, ...more } });
  const grace = `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`;

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    {
      name: 'no ready member: the warming member closest to Ready (warming longest) is bound at once',
      input: { claims: [eager('c')], members: [warming('young', 1), warming('old', 4)] },
      want: ['bind c old'],
    },
    {
      name: 'a placed member is closer than one warming longer that is not on a node yet',
      input: { claims: [eager('c')], members: [warming('unplaced', 9, null), warming('placed', 2)] },
      want: ['bind c placed'],
    },
    {
      name: 'never an unschedulable or a claimed member',
      input: { claims: [eager('c')], members: [warming('stuck', 9, null, true), pod('taken', { claim: claim('other'), ready: false })] },
      want: ['delete-member other taken claim-gone', 'set-pool-pending 1', grace],
    },
    {
      name: 'a ready member still comes first',
      input: { claims: [eager('c')], members: [warming('w', 9), pod('r')] },
      want: ['bind c r'],
    },
    {
      name: 'a member Ready but not yet marked ready by the pool is the closest of all',
      input: { claims: [eager('c')], members: [warming('w', 9), pod('unmarked', { state: 'warming', ready: true })] },
      want: ['bind c unmarked'],
    },
    {
      name: 'without acceptWarming a claim waits for Ready',
      input: { claims: [claim('c')], members: [warming('w', 9)] },
      want: ['set-pool-pending 1', grace],
    },
    {
      name: 'queue order holds: a waiting claim ahead keeps the member that becomes Ready first; the eager one behind takes the next',
      input: { claims: [claim('first', { age: 1 }), eager('second', 1)], members: [warming('next', 9), warming('later', 1)] },
      want: ['bind second later', 'set-pool-pending 1', grace],
    },
    {
      name: 'queue order holds: with one warming member, the eager claim behind a waiting one waits',
      input: { claims: [claim('first', { age: 1 }), eager('second', 1)], members: [warming('next', 9)] },
      want: ['set-pool-pending 2', grace],
    },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('Bound with Ready False, then Ready follows the member', () => {
    const c = eager('c');
    const w = warming('w', 4);
    const bind = plan({ claims: [c], members: [w] })[0] as BindAction;
    expect(bind.status.phase).toBe('Bound');
    expect(bind.status.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'MemberNotReady' });
    const held = { ...c, status: bind.status };
    expect(run({ claims: [held], members: [pod('w', { claim: c, ready: false })] })).toEqual([]);
    expect(run({ claims: [held], members: [pod('w', { claim: c, ready: true })] })).toEqual(['update-ready c true']);
  });
});

describe('planClaims: count, all or nothing (issue 21)', () => {
  const many = (name: string, count: number, o: ClaimOpts = {}): PoolClaim => claim(name, { ...o, spec: { count, ...o.spec } });
  /** Like run, with a bind showing every member of its set. */
  const runMany = (over: Partial<CachedInput>): string[] =>
    plan(over).map((a) => (a.kind === 'bind' ? `bind ${a.claim.name} ${[a.member, ...(a.extra ?? []).map((e) => e.member)].map((m) => m.name).join('+')}` : summary(a)));
  const grace = `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`;
  /** The claim as Bound to all these pods, 10 s ago. */
  const boundTo = (c: PoolClaim, pods: V1Pod[], ready = true): PoolClaim => ({
    ...c,
    status: boundStatus(c, claimMember(pods[0] as V1Pod), ready, NOW - 10 * S, NOW - 10 * S, pods.map(claimMember)),
  });

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'count 3, 2 ready: nothing is held', input: { claims: [many('c', 3)], members: [pod('m1'), pod('m2')] }, want: ['set-pool-pending 1', grace] },
    { name: 'count 3, 3 ready: all three in one bind', input: { claims: [many('c', 3)], members: [pod('m1', { readyAge: 3 }), pod('m2', { readyAge: 2 }), pod('m3', { readyAge: 1 })] }, want: ['bind c m1+m2+m3'] },
    {
      name: 'one queue entry: a claim of 3 that cannot be filled holds up the claim of 1 behind it',
      input: { claims: [many('big', 3, { age: 1, spec: { priority: 1 } }), claim('small', { age: 1 })], members: [pod('m1'), pod('m2')] },
      want: ['set-pool-pending 2', grace],
    },
    {
      name: 'two claims of 2 and 4 ready: distinct members',
      input: { claims: [many('a', 2, { age: 2 }), many('b', 2, { age: 1 })], members: [pod('m1', { readyAge: 4 }), pod('m2', { readyAge: 3 }), pod('m3', { readyAge: 2 }), pod('m4', { readyAge: 1 })] },
      want: ['bind a m1+m2', 'bind b m3+m4'],
    },
    {
      name: 'SpreadNodes spreads a set over the nodes',
      input: { pool: pool({ claimOrder: 'SpreadNodes' }), claims: [many('c', 2)], members: [pod('a1', { node: 'a', readyAge: 3 }), pod('a2', { node: 'a', readyAge: 2 }), pod('b1', { node: 'b', readyAge: 1 })] },
      want: ['bind c a1+b1'],
    },
    { name: 'count beyond maxSize fails at once', input: { pool: pool({ targetSize: 2, maxSize: 4 }), claims: [many('c', 5)], members: [pod('m1')] }, want: ['fail c CountExceedsMaxSize'] },
  ])('$name', ({ input, want }) => {
    expect(runMany(input)).toEqual(want);
  });

  it('the bind status lists every member, member is the first; Ready only when all are', () => {
    const c = many('c', 2);
    const w = pod('w', { ready: false, state: 'warming' });
    const actions = plan({ claims: [c], members: [pod('m1', { readyAge: 2 }), pod('m2', { readyAge: 1 }), w] });
    const bind = actions[0] as BindAction;
    expect(bind.status.member?.name).toBe('m1');
    expect(bind.status.members?.map((m) => m.name)).toEqual(['m1', 'm2']);
    expect(bind.extra?.map((e) => e.patch.metadata.labels['warmpool.dev/claim'])).toEqual(['c']);
  });

  it('the failure names count and maxSize', () => {
    const fail = plan({ pool: pool({ targetSize: 2, maxSize: 4 }), claims: [many('c', 5)] }).find((a): a is FailAction => a.kind === 'fail');
    expect(fail?.event.message).toBe('count 5 is more than the maxSize 4 of pool web');
  });

  const c = many('c', 3);
  const held = ['m1', 'm2', 'm3'].map((n) => pod(n, { claim: c }));
  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'Bound and all well: nothing', input: { claims: [boundTo(c, held)], members: held }, want: [] },
    {
      name: 'one member failed: Lost, and the whole set deleted',
      input: { claims: [boundTo(c, held)], members: [held[0] as V1Pod, pod('m2', { claim: c, phase: 'Failed' }), held[2] as V1Pod] },
      want: ['mark-lost c', 'delete-member c m1 lost', 'delete-member c m2 lost', 'delete-member c m3 lost'],
    },
    {
      name: 'one member gone: Lost (unseen), the others deleted',
      input: { claims: [boundTo(c, held)], members: [held[0] as V1Pod, held[2] as V1Pod] },
      want: ['mark-lost c', 'delete-member c m1 lost', 'delete-member c m3 lost'],
    },
    { name: 'one member not Ready: Ready False', input: { claims: [boundTo(c, held)], members: [held[0] as V1Pod, pod('m2', { claim: c, ready: false }), held[2] as V1Pod] }, want: ['update-ready c false'] },
    {
      name: 'TTL expired: released together',
      input: { claims: [boundTo({ ...c, spec: { ...c.spec, ttlSecondsAfterBound: 5 } }, held)], members: held },
      want: ['release c m1 Expired Delete', 'delete-member c m1 released', 'delete-member c m2 released', 'delete-member c m3 released'],
    },
    {
      name: 'a partial set (a patch refused, no status): handed back, never kept',
      input: { claims: [c], members: [held[0] as V1Pod, held[1] as V1Pod, pod('m9')] },
      want: ['return-member c m1', 'return-member c m2'],
    },
    { name: 'the whole set recorded but no status (a crash before it): repaired', input: { claims: [c], members: held }, want: ['repair-status c m1'] },
    {
      name: 'a fourth member recording the Bound claim goes back',
      input: { claims: [boundTo(c, held)], members: [...held, pod('m4', { claim: c })] },
      want: ['delete-member c m4 duplicate'],
    },
  ])('$name', ({ input, want }) => {
    expect(runMany(input)).toEqual(want);
  });

  it('a repaired status names the whole set', () => {
    const repair = plan({ claims: [c], members: held })[0];
    expect(repair?.kind === 'repair-status' && repair.status.members?.map((m) => m.name)).toEqual(['m1', 'm2', 'm3']);
  });
});

describe('planClaims: fallback Cold (issue 21)', () => {
  const cold = (name: string, o: ClaimOpts = {}): PoolClaim => claim(name, { age: 1, ...o, spec: { fallback: 'Cold', ...o.spec } });
  const grace = `requeue ${PENDING_WRITE_GRACE_MS - S} pending-grace`;
  const empty = pool({ targetSize: 0, maxSize: 2 });

  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'no ready member: a member is created for the claim', input: { pool: empty, claims: [cold('c')] }, want: ['create-cold c c-cold-uidc'] },
    { name: 'a ready member is still taken first', input: { pool: empty, claims: [cold('c')], members: [pod('m1')] }, want: ['bind c m1'] },
    {
      name: 'a claim without the fallback ahead in the queue: nobody behind it is served cold',
      input: { pool: empty, claims: [claim('first', { age: 1, spec: { priority: 1 } }), cold('c')] },
      want: ['set-pool-pending 2', grace],
    },
    {
      name: 'cold members count toward maxSize: with 1 member of 2, one more claim is served cold, the next waits',
      input: { pool: empty, claims: [cold('a', { age: 2 }), cold('b')], members: [pod('m0', { claim: claim('other') })] },
      want: ['delete-member other m0 claim-gone', 'create-cold a a-cold-uida', 'set-pool-pending 1', grace],
    },
    { name: 'a claim of 2 gets 2 cold members', input: { pool: empty, claims: [cold('c', { spec: { count: 2 } })] }, want: ['create-cold c c-cold-uidc-0+c-cold-uidc-1'] },
    { name: 'a Return claim gets its finalizer first', input: { pool: empty, claims: [cold('r', { spec: { reclaimPolicy: 'Return' } })] }, want: ['add-finalizer r', 'create-cold r r-cold-uidr'] },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('the cold member is born bound: claimed, owned by the claim, the template hash and the pool label, not the pool as controller', () => {
    const c = cold('c', { spec: { acquiredBy: 'ci', memberMetadata: { labels: { team: 'a' } } } });
    const action = plan({ pool: empty, claims: [c] })[0];
    const p = action?.kind === 'create-cold' ? action.pods[0] : undefined;
    expect(p?.metadata?.labels).toEqual({ team: 'a', 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'claimed', 'warmpool.dev/template-hash': HASH, 'warmpool.dev/claim': 'c' });
    expect(p?.metadata?.annotations).toMatchObject({ 'warmpool.dev/claim-uid': 'uid-c', 'warmpool.dev/cold': 'true', 'warmpool.dev/acquired-by': 'ci' });
    expect(p?.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'PoolClaim', name: 'c', uid: 'uid-c', controller: true })]);
    expect(p?.spec?.containers).toEqual([{ name: 'main', image: 'img' }]);
  });

  const c = cold('c');
  const coldPod = (ready: boolean): V1Pod => {
    const p = pod('c-cold-uidc', { claim: c, ready });
    p.metadata = { ...p.metadata, annotations: { ...p.metadata?.annotations, 'warmpool.dev/cold': 'true' } };
    return p;
  };
  it.each<{ name: string; input: Partial<CachedInput>; want: string[] }>([
    { name: 'its member warming: the claim waits (no write within the grace)', input: { pool: empty, claims: [c], members: [coldPod(false)] }, want: [grace] },
    { name: 'its member warming past the grace: Pending, ColdStarting', input: { pool: empty, claims: [cold('c', { age: 5 })], members: [coldPod(false)] }, want: ['set-pending c ColdStarting'] },
    { name: 'its member Ready: Bound', input: { pool: empty, claims: [c], members: [coldPod(true)] }, want: ['repair-status c c-cold-uidc'] },
  ])('$name', ({ input, want }) => {
    expect(run(input)).toEqual(want);
  });

  it('Bound says the member was cold', () => {
    const repair = plan({ pool: empty, claims: [c], members: [coldPod(true)] })[0];
    expect(repair?.kind === 'repair-status' && repair.status.member).toMatchObject({ name: 'c-cold-uidc', cold: true });
    expect(repair?.kind === 'repair-status' && getCondition(repair.status.conditions, 'Ready')?.status).toBe('True');
  });

  it('returned to the pool, a cold member loses its cold mark', () => {
    const gone = { ...c, spec: { ...c.spec, reclaimPolicy: 'Return' as const }, metadata: { ...c.metadata, deletionTimestamp: new Date(NOW), finalizers: [CLAIM_FINALIZER] } };
    const ret = plan({ pool: empty, claims: [gone], members: [coldPod(true)] }).find((a) => a.kind === 'return-member');
    expect(ret?.kind === 'return-member' && ret.patch.metadata.annotations['warmpool.dev/cold']).toBeNull();
  });
});

describe('planClaims: multi-pass simulation with claims of several members (issue 21)', () => {
  /** A claim of 1 to 3 members, sometimes accepting warming members. */
  const newMany = (w: World, name: string, r: () => number): PoolClaim => {
    const c = newClaim(w, name, r);
    return { ...c, spec: { ...c.spec, count: 1 + Math.floor(r() * 3), ...(r() < 0.3 && { acceptWarming: true }) } };
  };
  /** All or nothing after every pass: no claim holds more than its count; a Bound claim holds exactly its set. */
  const checkSets = (w: World, phases: Map<string, string>): void => {
    const holders = new Map<string, number>();
    for (const p of w.pods.values()) {
      const uid = p.metadata?.annotations?.['warmpool.dev/claim-uid'];
      if (uid !== undefined && !p.metadata?.deletionTimestamp) holders.set(uid, (holders.get(uid) ?? 0) + 1);
    }
    for (const c of w.claims.values()) {
      const uid = c.metadata.uid ?? '';
      const count = c.spec.count ?? 1;
      expect(holders.get(uid) ?? 0).toBeLessThanOrEqual(count);
      const phase = c.status?.phase ?? 'new';
      const before = phases.get(uid);
      if (before === 'Released' || before === 'Failed' || before === 'Lost') expect(phase).toBe(before);
      phases.set(uid, phase);
      if (phase === 'Bound' && !c.metadata.deletionTimestamp) {
        const named = c.status?.members ?? (c.status?.member ? [c.status.member] : []);
        expect(named).toHaveLength(count);
        for (const m of named) expect(`${m.name} ${w.pods.get(m.name)?.metadata?.annotations?.['warmpool.dev/claim-uid'] ?? 'none'}`).toBe(`${m.name} ${uid}`);
      }
    }
  };

  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('seed %i', (seed) => {
    const r = rng(1000 + seed);
    const w: World = { door: claimResolver(), pool: pool({ targetSize: 6, maxSize: 100 }), claims: new Map(), pods: new Map(), now: NOW, rv: 100 };
    const bindHistory = new Map<string, number>();
    const phases = new Map<string, string>();
    let previousPods: V1Pod[] = [];
    for (let step = 0; step < 40; step++) {
      const stalePods = r() < 0.3 ? previousPods : undefined;
      previousPods = [...w.pods.values()];
      pass(w, bindHistory, { crash: 0.15, r, ...(stalePods && { stalePods }) });
      checkSets(w, phases);
      const writes = [1, 2, 3, 4].map(() => {
        const actions = pass(w, bindHistory);
        checkSets(w, phases);
        return actions.filter((a) => a.kind !== 'requeue').map(summary);
      });
      expect(writes[3]).toEqual([]);
      moveWorld(w, r, step, newMany);
    }
    w.pool = { ...w.pool, spec: { ...w.pool.spec, drain: false, claimQueue: {} } };
    for (let i = 0; i < 200; i++) w.pods.set(`final-${i}`, newPod(w, `final-${i}`, r));
    for (let i = 0; i < 4; i++) {
      w.now += 5_000;
      pass(w, bindHistory);
      checkSets(w, phases);
    }
    const waiting = [...w.claims.values()].filter((c) => !c.metadata.deletionTimestamp && (c.status?.phase ?? 'Pending') === 'Pending');
    expect(waiting.map((c) => c.metadata.name)).toEqual([]);
  });
});
