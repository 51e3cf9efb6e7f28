// Member safety in the claim planner (issue 20), table-driven: fencing tokens, the eviction veto.
import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, InstancePoolSpec, PoolClaim, PoolClaimSpec, PoolClaimStatus } from '../api/types.js';
import { API_VERSION, CLAIM_FINALIZER, CLAIM_KIND, POOL_KIND } from '../api/types.js';
import { resolveClaim, resolvePool } from '../api/resolve.js';
import type { ClaimAction } from './model.js';
import { boundStatus, claimMember } from './model.js';
import { planClaims } from './plan.js';

const S = 1000;
const NOW = Date.parse('2026-11-24T12:00:00Z');
const HASH = 'hash-1';

function pool(spec: Partial<InstancePoolSpec> = {}, meta: Partial<InstancePool['metadata']> = {}): InstancePool {
  return {
    apiVersion: API_VERSION,
    kind: POOL_KIND,
    metadata: { name: 'web', namespace: 'ns', uid: 'pool-uid', ...meta },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'img' }] } }, targetSize: 3, ...spec },
  };
}

function claim(name: string, o: { spec?: Partial<PoolClaimSpec>; status?: PoolClaimStatus; finalizers?: string[] } = {}): PoolClaim {
  return {
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: '10',
      creationTimestamp: new Date(NOW - 60 * S),
      finalizers: o.finalizers ?? [CLAIM_FINALIZER],
    },
    spec: { poolName: 'web', ...o.spec },
    ...(o.status && { status: o.status }),
  };
}

interface PodOpts {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** The claim this member is bound to. */
  claim?: PoolClaim;
  ready?: boolean;
  /** When the Ready condition last changed (default 50 s ago). */
  readySince?: number;
}

function pod(name: string, o: PodOpts = {}): V1Pod {
  const c = o.claim;
  const owner = c
    ? { apiVersion: API_VERSION, kind: CLAIM_KIND, name: c.metadata.name ?? '', uid: c.metadata.uid ?? '', controller: true }
    : { apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'pool-uid', controller: true };
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '5',
      labels: {
        'warmpool.dev/pool': 'web',
        'warmpool.dev/state': c ? 'claimed' : 'ready',
        'warmpool.dev/template-hash': HASH,
        ...(c && { 'warmpool.dev/claim': c.metadata.name ?? '' }),
        ...o.labels,
      },
      annotations: {
        'warmpool.dev/ready-at': new Date(NOW - 50 * S).toISOString(),
        ...(c && { 'warmpool.dev/claim-uid': c.metadata.uid ?? '', 'warmpool.dev/claimed-at': new Date(NOW - 10 * S).toISOString() }),
        ...o.annotations,
      },
      ownerReferences: [owner],
    },
    spec: { containers: [], nodeName: 'node-1' },
    status: {
      phase: 'Running',
      podIP: '127.64.0.5',
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: new Date(o.readySince ?? NOW - 50 * S) },
      ],
    },
  };
}

function plan(input: { pool?: InstancePool; claims: PoolClaim[]; members: V1Pod[]; now?: number }): ClaimAction[] {
  return planClaims({
    pool: resolvePool(input.pool ?? pool()).resolved,
    claims: input.claims.map((c) => resolveClaim(c).claim),
    members: input.members,
    templateHash: HASH,
    now: input.now ?? NOW,
  });
}

function bindOf(actions: ClaimAction[]): Extract<ClaimAction, { kind: 'bind' }> {
  const bind = actions.find((a): a is Extract<ClaimAction, { kind: 'bind' }> => a.kind === 'bind');
  if (bind === undefined) throw new Error(`no bind in ${JSON.stringify(actions.map((a) => a.kind))}`);
  return bind;
}

describe('planClaims: fencing token', () => {
  it.each<{ name: string; token: string | undefined; want: number }>([
    { name: 'a member never bound gets token 1', token: undefined, want: 1 },
    { name: 'a returned member gets one above its last bind', token: '7', want: 8 },
    { name: 'a hand-edited token that is not a count reads as 0', token: 'seven', want: 1 },
    { name: 'a negative token reads as 0', token: '-4', want: 1 },
    { name: 'a token past what a number holds exactly stays below the limit', token: '99999999999999999999', want: 1 },
  ])('$name', ({ token, want }) => {
    const member = pod('m1', token === undefined ? {} : { annotations: { 'warmpool.dev/lease-token': token } });
    const bind = bindOf(plan({ claims: [claim('c1')], members: [member] }));
    expect(bind.patch.metadata.annotations['warmpool.dev/lease-token']).toBe(String(want));
    expect(bind.status.member?.token).toBe(want);
  });

  it('the bind writes the token in the same patch: one pod patch, then the status', () => {
    const actions = plan({ claims: [claim('c1')], members: [pod('m1')] }).filter((a) => a.kind !== 'requeue');
    expect(actions.map((a) => a.kind)).toEqual(['bind']);
  });

  it('a status repaired from the member (crash between the two bind writes) names the token the member records', () => {
    const c = claim('c1');
    const member = pod('m1', { claim: c, annotations: { 'warmpool.dev/lease-token': '3' } });
    const repair = plan({ claims: [c], members: [member] }).find((a) => a.kind === 'repair-status');
    expect(repair?.kind === 'repair-status' && repair.status.member?.token).toBe(3);
  });
});

/** A Return claim bound to `member` 10 s ago whose TTL (1 s) ran out: this pass releases it and returns the member. */
function expiredReturn(member: V1Pod): { claim: PoolClaim; member: V1Pod } {
  const c = claim('r', { spec: { reclaimPolicy: 'Return', ttlSecondsAfterBound: 1 } });
  const bound = pod(member.metadata?.name ?? '', { claim: c, annotations: member.metadata?.annotations ?? {} });
  return { claim: { ...c, status: boundStatus(c, claimMember(bound), true, NOW - 10 * S, NOW - 10 * S) }, member: bound };
}

describe('planClaims: the token stays on record', () => {
  it('a claim whose member failed goes Lost still naming the token it held', () => {
    const c = claim('c1');
    const member = pod('m1', { claim: c, annotations: { 'warmpool.dev/lease-token': '4' } });
    member.status = { ...member.status, phase: 'Failed' };
    const bound = { ...c, status: boundStatus(c, { ...claimMember(member), token: 4 }, true, NOW - 60 * S, NOW - 60 * S) };
    const lost = plan({ claims: [bound], members: [member] }).find((a) => a.kind === 'mark-lost');
    expect(lost?.kind === 'mark-lost' && lost.status.member?.token).toBe(4);
  });
});

describe('planClaims: eviction protection', () => {
  it.each<{ name: string; evictionProtection: boolean | undefined; want: string | undefined }>([
    { name: 'on by default: the bind vetoes the autoscaler', evictionProtection: undefined, want: 'false' },
    { name: 'on: the same', evictionProtection: true, want: 'false' },
    { name: 'off: the bind leaves the annotation alone', evictionProtection: false, want: undefined },
  ])('$name', ({ evictionProtection, want }) => {
    const p = pool(evictionProtection === undefined ? {} : { evictionProtection });
    const bind = bindOf(plan({ pool: p, claims: [claim('c1')], members: [pod('m1')] }));
    expect(bind.patch.metadata.annotations['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe(want);
  });

  it.each<{ name: string; template: Record<string, string> | undefined; want: string | null }>([
    { name: 'the return removes the veto', template: undefined, want: null },
    { name: 'the return puts back what the template says', template: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' }, want: 'true' },
  ])('$name', ({ template, want }) => {
    const base = pool();
    const p = template ? { ...base, spec: { ...base.spec, template: { ...base.spec.template, metadata: { annotations: template } } } } : base;
    const { claim: c, member } = expiredReturn(pod('m1', { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }));
    const back = plan({ pool: p, claims: [c], members: [member] }).find((a) => a.kind === 'return-member');
    expect(back?.kind === 'return-member' && back.patch.metadata.annotations['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe(want);
  });
});

describe('planClaims: drain deadline', () => {
  const DRAIN_AT = NOW - 10 * S;
  /** A pool draining since DRAIN_AT (status.drainStartedAt), or being deleted since then. */
  function going(o: { deleting?: boolean; deadlineSeconds?: number; onDeadline?: 'Wait' | 'Release'; started?: boolean }): InstancePool {
    const p = pool(
      { drain: o.deleting !== true, drainPolicy: { ...(o.deadlineSeconds !== undefined && { deadlineSeconds: o.deadlineSeconds }), ...(o.onDeadline && { onDeadline: o.onDeadline }) } },
      o.deleting === true ? { deletionTimestamp: new Date(DRAIN_AT) } : {},
    );
    if (o.started !== false) p.status = { drainStartedAt: new Date(DRAIN_AT).toISOString() };
    return p;
  }
  /** Claim b1 bound to member m1 for a minute. */
  function held(policy: 'Delete' | 'Return' = 'Delete'): { claim: PoolClaim; member: V1Pod } {
    const c = claim('b1', { spec: { reclaimPolicy: policy } });
    const member = pod('m1', { claim: c });
    return { claim: { ...c, status: boundStatus(c, claimMember(member), true, NOW - 60 * S, NOW - 60 * S) }, member };
  }
  const summary = (a: ClaimAction): string => {
    switch (a.kind) {
      case 'release':
        return `release ${a.claim.name} ${a.reason}`;
      case 'delete-member':
        return `delete-member ${a.member.name} ${a.reason}`;
      case 'requeue':
        return `requeue ${a.afterMs} ${a.why}`;
      default:
        return a.kind;
    }
  };

  it.each<{ name: string; pool: InstancePool; policy?: 'Delete' | 'Return'; want: string[] }>([
    { name: 'Release, past the deadline: Released (Drained) and the member deleted', pool: going({ deadlineSeconds: 5, onDeadline: 'Release' }), want: ['release b1 Drained', 'delete-member m1 released'] },
    { name: 'Release, before the deadline: wait for it', pool: going({ deadlineSeconds: 30, onDeadline: 'Release' }), want: ['requeue 20000 drain-deadline'] },
    { name: 'Wait, past the deadline: keeps waiting', pool: going({ deadlineSeconds: 5, onDeadline: 'Wait' }), want: [] },
    { name: 'no deadline (onDeadline defaults to Wait): keeps waiting', pool: going({}), want: [] },
    { name: 'Release without a deadline: keeps waiting', pool: going({ onDeadline: 'Release' }), want: [] },
    { name: 'drain start not written yet: nothing ends', pool: going({ deadlineSeconds: 5, onDeadline: 'Release', started: false }), want: [] },
    { name: 'a deletion counts from its deletionTimestamp', pool: going({ deleting: true, deadlineSeconds: 5, onDeadline: 'Release', started: false }), want: ['release b1 Drained', 'delete-member m1 released'] },
    {
      name: 'a Return claim: its member is deleted all the same (the pool is going)',
      pool: going({ deadlineSeconds: 5, onDeadline: 'Release' }),
      policy: 'Return',
      want: ['release b1 Drained', 'delete-member m1 not-returnable'],
    },
    { name: 'an active pool with a drain policy: nothing', pool: pool({ drainPolicy: { deadlineSeconds: 0, onDeadline: 'Release' } }), want: [] },
  ])('$name', ({ pool: p, policy, want }) => {
    const { claim: c, member } = held(policy);
    const actions = plan({ pool: p, claims: [c], members: [member] }).filter((a) => a.kind !== 'set-pool-pending');
    expect(actions.map(summary)).toEqual(want);
  });

  it('the release says why: phase Released, Bound False with reason Drained, a Normal Event', () => {
    const { claim: c, member } = held();
    const release = plan({ pool: going({ deadlineSeconds: 5, onDeadline: 'Release' }), claims: [c], members: [member] }).find((a) => a.kind === 'release');
    expect(release?.kind === 'release' && release.status.phase).toBe('Released');
    expect(release?.kind === 'release' && release.status.conditions?.find((x) => x.type === 'Bound')).toMatchObject({ status: 'False', reason: 'Drained' });
    expect(release?.kind === 'release' && release.event).toMatchObject({ type: 'Normal', reason: 'Drained' });
  });
});

describe('planClaims: reuse on return', () => {
  /** Claim r (Return) deleted while bound to m1, which records `reuses` returns so far: this pass hands m1 back. */
  function returning(reuses: number | undefined): { claim: PoolClaim; member: V1Pod } {
    const c = claim('r', { spec: { reclaimPolicy: 'Return' } });
    const member = pod('m1', { claim: c, ...(reuses !== undefined && { annotations: { 'warmpool.dev/reuse-count': String(reuses) } }) });
    const bound = { ...c, status: boundStatus(c, claimMember(member), true, NOW - 60 * S, NOW - 60 * S) };
    return { claim: { ...bound, metadata: { ...bound.metadata, deletionTimestamp: new Date(NOW - S) } }, member };
  }
  const iso = new Date(NOW).toISOString();

  it.each<{
    name: string;
    reuse: InstancePoolSpec['reuse'];
    reuses: number | undefined;
    want: { kind: 'return-member'; state: string; count: string } | { kind: 'delete-member'; reason: string };
  }>([
    { name: 'no reuse settings: back as ready, counted', reuse: undefined, reuses: undefined, want: { kind: 'return-member', state: 'ready', count: '1' } },
    { name: 'a cooldown: back as cooling', reuse: { cooldownSeconds: 3 }, reuses: 4, want: { kind: 'return-member', state: 'cooling', count: '5' } },
    { name: 'requireReset: back as resetting', reuse: { requireReset: true }, reuses: 0, want: { kind: 'return-member', state: 'resetting', count: '1' } },
    { name: 'requireReset and a cooldown: resetting (the cooldown also applies)', reuse: { requireReset: true, cooldownSeconds: 3 }, reuses: 0, want: { kind: 'return-member', state: 'resetting', count: '1' } },
    { name: 'maxReuses 2, returned once: its second return is allowed', reuse: { maxReuses: 2 }, reuses: 1, want: { kind: 'return-member', state: 'ready', count: '2' } },
    { name: 'maxReuses 2, returned twice: the third return deletes it', reuse: { maxReuses: 2 }, reuses: 2, want: { kind: 'delete-member', reason: 'max-reuses' } },
    { name: 'maxReuses 0: never reused', reuse: { maxReuses: 0 }, reuses: undefined, want: { kind: 'delete-member', reason: 'max-reuses' } },
  ])('$name', ({ reuse, reuses, want }) => {
    const { claim: c, member } = returning(reuses);
    const actions = plan({ pool: pool(reuse === undefined ? {} : { reuse }), claims: [c], members: [member] });
    const act = actions.find((a) => a.kind === 'return-member' || a.kind === 'delete-member');
    if (want.kind === 'delete-member') {
      expect(act?.kind === 'delete-member' && act.reason).toBe(want.reason);
      return;
    }
    expect(act?.kind).toBe('return-member');
    if (act?.kind !== 'return-member') return;
    expect(act.patch.metadata.labels['warmpool.dev/state']).toBe(want.state);
    expect(act.patch.metadata.annotations['warmpool.dev/reuse-count']).toBe(want.count);
    expect(act.patch.metadata.annotations['warmpool.dev/returned-at']).toBe(iso);
    // The return keeps the member's token: the next bind raises it.
    expect(act.patch.metadata.annotations['warmpool.dev/lease-token']).toBeUndefined();
  });

  it('a resting member (cooling or resetting) is never handed out', () => {
    for (const state of ['cooling', 'resetting']) {
      const actions = plan({ claims: [claim('c1')], members: [pod('m1', { labels: { 'warmpool.dev/state': state } })] });
      expect(actions.filter((a) => a.kind === 'bind')).toEqual([]);
    }
  });
});
