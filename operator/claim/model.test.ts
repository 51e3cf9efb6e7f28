import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim, PoolClaimStatus } from '../api/types.js';
import { API_VERSION, CLAIM_FINALIZER, CLAIM_KIND } from '../api/types.js';
import {
  addFinalizerPatch,
  boundStatus,
  failedStatus,
  lostStatus,
  memberClaimPatch,
  memberReturnPatch,
  pendingStatus,
  readyStatus,
  releasedStatus,
  removeFinalizerPatch,
  pendingCurrent,
  readyCurrent,
  statusMergePatch,
} from './model.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');
const NOW = T0 + 5_250;
const poolRef = { apiVersion: API_VERSION, kind: 'InstancePool', name: 'web', uid: 'pool-uid', controller: true, blockOwnerDeletion: false };
const returnPool: InstancePool = {
  apiVersion: API_VERSION,
  kind: 'InstancePool',
  metadata: { name: 'web', namespace: 'ns', uid: 'pool-uid' },
  spec: { targetSize: 1, template: { spec: { containers: [{ name: 'main', image: 'x' }] } } },
};

function claim(over: Partial<PoolClaim> = {}): PoolClaim {
  return {
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    metadata: { name: 'job-1', namespace: 'ns', uid: 'claim-uid', generation: 2, resourceVersion: '40', creationTimestamp: new Date(T0) },
    spec: { poolName: 'web', acquiredBy: 'ci' },
    ...over,
  };
}

const pod: V1Pod = {
  metadata: {
    name: 'web-abc',
    uid: 'pod-uid',
    resourceVersion: '77',
    labels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'ready', app: 'x' },
    ownerReferences: [poolRef],
  },
  spec: { containers: [], nodeName: 'node-1' },
  status: { podIP: '10.0.0.7' },
};

describe('member patches', () => {
  it('memberClaimPatch claims with the resourceVersion precondition and hands the controller reference to the claim', () => {
    expect(memberClaimPatch(claim(), pod, NOW)).toEqual({
      metadata: {
        resourceVersion: '77',
        labels: { 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'job-1' },
        annotations: {
          'warmpool.dev/claim-uid': 'claim-uid',
          'warmpool.dev/claimed-at': '2026-11-24T12:00:05.250Z',
          'warmpool.dev/acquired-by': 'ci',
          'warmpool.dev/acquired-for': null,
        },
        ownerReferences: [
          { apiVersion: API_VERSION, kind: CLAIM_KIND, name: 'job-1', uid: 'claim-uid', controller: true, blockOwnerDeletion: false },
        ],
      },
    });
  });

  it('memberClaimPatch replaces a stale claim reference instead of adding a second one', () => {
    const stale = { apiVersion: 'warmpool.dev/v1alpha0', kind: CLAIM_KIND, name: 'old', uid: 'old-uid' };
    const refs = memberClaimPatch(claim(), { ...pod, metadata: { ...pod.metadata, ownerReferences: [poolRef, stale] } }, NOW).metadata
      .ownerReferences;
    expect(refs.map((r) => r.uid)).toEqual(['claim-uid']);
  });

  it('memberReturnPatch relabels ready, nulls every claim mark and gives the pool its controller reference back', () => {
    const claimed: V1Pod = { ...pod, metadata: { ...pod.metadata, ...memberClaimPatch(claim(), pod, NOW).metadata } } as V1Pod;
    expect(memberReturnPatch(claimed, returnPool)).toEqual({
      metadata: {
        resourceVersion: '77',
        labels: { 'warmpool.dev/state': 'ready', 'warmpool.dev/claim': null },
        annotations: {
          'warmpool.dev/claim-uid': null,
          'warmpool.dev/claimed-at': null,
          'warmpool.dev/acquired-by': null,
          'warmpool.dev/acquired-for': null,
        },
        ownerReferences: [poolRef],
      },
    });
  });
});

/** The Bound and Ready conditions only (the kstatus conditions are checked on their own below). */
function core(status: PoolClaimStatus, types: readonly string[] = ['Bound', 'Ready']): PoolClaimStatus {
  return { ...status, conditions: status.conditions?.filter((c) => types.includes(c.type)) };
}

describe('claim statuses', () => {
  const member = { name: 'web-abc', uid: 'pod-uid', podIP: '10.0.0.7', nodeName: 'node-1' };

  it('boundStatus: member, boundAt in ms, waitedSeconds, Bound and Ready True, generation', () => {
    expect(core(boundStatus(claim(), member, true, NOW, NOW))).toEqual({
      phase: 'Bound',
      member,
      boundAt: '2026-11-24T12:00:05.250Z',
      waitedSeconds: 5.25,
      observedGeneration: 2,
      conditions: [
        { type: 'Bound', status: 'True', reason: 'Bound', message: 'bound to member web-abc', observedGeneration: 2, lastTransitionTime: '2026-11-24T12:00:05Z' },
        { type: 'Ready', status: 'True', reason: 'MemberReady', message: 'member web-abc is Ready', observedGeneration: 2, lastTransitionTime: '2026-11-24T12:00:05Z' },
      ],
    });
  });

  it('pendingStatus keeps lastTransitionTime while Bound stays False; queuePosition only when given', () => {
    const first = pendingStatus(claim(), 'PoolNotFound', 'no pool', undefined, T0);
    expect(first.queuePosition).toBeUndefined();
    const later = pendingStatus(claim({ status: first }), 'Queued', 'waiting', 3, NOW + 60_000);
    expect(later).toMatchObject({ phase: 'Pending', queuePosition: 3 });
    expect(core(later, ['Bound']).conditions).toEqual([
      { type: 'Bound', status: 'False', reason: 'Queued', message: 'waiting', observedGeneration: 2, lastTransitionTime: '2026-11-24T12:00:00Z' },
    ]);
  });

  it('failedStatus drops the queue position', () => {
    const waiting = claim({ status: pendingStatus(claim(), 'Queued', 'waiting', 9, T0) });
    expect(core(failedStatus(waiting, 'QueueFull', 'full', NOW), ['Bound'])).toEqual({
      phase: 'Failed',
      observedGeneration: 2,
      conditions: [{ type: 'Bound', status: 'False', reason: 'QueueFull', message: 'full', observedGeneration: 2, lastTransitionTime: '2026-11-24T12:00:00Z' }],
    });
  });

  it('releasedStatus keeps what was held and sets releasedAt; lostStatus keeps the member', () => {
    const bound = claim({ status: boundStatus(claim(), member, true, T0 + 1000, T0 + 1000) });
    const released = releasedStatus(bound, 'held for 2s', NOW);
    expect(released).toMatchObject({ phase: 'Released', member, boundAt: '2026-11-24T12:00:01.000Z', releasedAt: '2026-11-24T12:00:05.250Z' });
    expect(core(released, ['Bound']).conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Bound', 'False', 'Expired'],
    ]);
    const lost = lostStatus(bound, undefined, 'member web-abc is gone', NOW);
    expect(lost).toMatchObject({ phase: 'Lost', member });
    expect(core(lost).conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Bound', 'False', 'MemberLost'],
      ['Ready', 'False', 'MemberLost'],
    ]);
  });

  it('readyStatus changes only the Ready condition', () => {
    const bound = claim({ status: boundStatus(claim(), member, true, T0, T0) });
    expect(readyStatus(bound, true, NOW)).toEqual(bound.status);
    const notReady = readyStatus(bound, false, NOW);
    expect(notReady.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'MemberNotReady', lastTransitionTime: '2026-11-24T12:00:05Z' });
    expect(notReady.conditions?.find((c) => c.type === 'Bound')).toEqual(bound.status?.conditions?.[0]);
  });
});

describe('pendingCurrent and readyCurrent', () => {
  const member = { name: 'web-abc', uid: 'pod-uid' };
  const pending = claim({ status: pendingStatus(claim(), 'Queued', 'waiting', 4, T0) });

  it.each<{ name: string; c: PoolClaim; want: boolean }>([
    { name: 'the same', c: pending, want: true },
    { name: 'another position', c: claim({ status: { ...pending.status, queuePosition: 5 } }), want: false },
    { name: 'another reason', c: claim({ status: pendingStatus(claim(), 'PoolNotFound', 'waiting', 4, T0) }), want: false },
    { name: 'another message', c: claim({ status: pendingStatus(claim(), 'Queued', 'other', 4, T0) }), want: false },
    { name: 'a newer generation', c: { ...pending, metadata: { ...pending.metadata, generation: 3 } }, want: false },
    { name: 'no status', c: claim(), want: false },
  ])('pendingCurrent: $name -> $want', ({ c, want }) => {
    expect(pendingCurrent(c, 'Queued', 'waiting', 4)).toBe(want);
  });

  it('readyCurrent follows the member', () => {
    const bound = claim({ status: boundStatus(claim(), member, true, T0, T0) });
    expect(readyCurrent(bound, true)).toBe(true);
    expect(readyCurrent(bound, false)).toBe(false);
    expect(readyCurrent(claim({ status: readyStatus(bound, false, NOW) }), false)).toBe(true);
  });
});

describe('statusMergePatch', () => {
  it('nulls what the next status drops, nested fields included, and replaces lists whole', () => {
    const current: PoolClaimStatus = {
      phase: 'Pending',
      queuePosition: 4,
      member: { name: 'm', uid: 'u', podIP: '1.2.3.4' },
      conditions: [{ type: 'Bound', status: 'False', reason: 'Queued', message: '', lastTransitionTime: 't' }],
    };
    const next: PoolClaimStatus = { phase: 'Bound', member: { name: 'm2', uid: 'u2' }, conditions: [] };
    expect(statusMergePatch(current, next)).toEqual({
      status: { phase: 'Bound', member: { name: 'm2', uid: 'u2', podIP: null }, conditions: [], queuePosition: null },
    });
    expect(statusMergePatch(undefined, { phase: 'Pending' })).toEqual({ status: { phase: 'Pending' } });
  });
});

describe('finalizer patches', () => {
  it('add and remove only ours, guarded by the resourceVersion', () => {
    const c = claim({ metadata: { ...claim().metadata, finalizers: ['other/keep'] } });
    expect(addFinalizerPatch(c)).toEqual({ metadata: { resourceVersion: '40', finalizers: ['other/keep', CLAIM_FINALIZER] } });
    const withOurs = claim({ metadata: { ...claim().metadata, finalizers: ['other/keep', CLAIM_FINALIZER] } });
    expect(removeFinalizerPatch(withOurs)).toEqual({ metadata: { resourceVersion: '40', finalizers: ['other/keep'] } });
  });
});

describe('kstatus conditions of a claim', () => {
  const member = { name: 'web-abc', uid: 'pod-uid' };
  const kstatus = (st: PoolClaimStatus): Record<string, string | undefined> => ({
    Reconciling: st.conditions?.find((c) => c.type === 'Reconciling')?.status,
    Stalled: st.conditions?.find((c) => c.type === 'Stalled')?.status,
    Ready: st.conditions?.find((c) => c.type === 'Ready')?.status,
  });
  it.each<{ name: string; build: () => PoolClaimStatus; want: Record<string, string | undefined> }>([
    { name: 'Pending is in progress', build: () => pendingStatus(claim(), 'Queued', 'waiting', 1, NOW), want: { Reconciling: 'True', Stalled: undefined, Ready: 'False' } },
    { name: 'Bound is current', build: () => boundStatus(claim(), member, true, NOW, NOW), want: { Reconciling: undefined, Stalled: undefined, Ready: 'True' } },
    { name: 'Failed has failed', build: () => failedStatus(claim(), 'NoReadyMembers', 'none', NOW), want: { Reconciling: undefined, Stalled: 'True', Ready: 'False' } },
    { name: 'Lost has failed', build: () => lostStatus(claim(), member, 'gone', NOW), want: { Reconciling: undefined, Stalled: 'True', Ready: 'False' } },
    { name: 'Released is current and has no Ready condition', build: () => releasedStatus(claim(), 'held', NOW), want: { Reconciling: undefined, Stalled: undefined, Ready: undefined } },
  ])('$name', ({ build, want }) => {
    expect(kstatus(build())).toEqual(want);
  });

  it('keeps Reconciling and Stalled only while True: binding a waiting claim removes its Reconciling', () => {
    const waiting = claim();
    waiting.status = pendingStatus(waiting, 'Queued', 'waiting', 1, NOW);
    expect(waiting.status.conditions?.map((c) => c.type).sort()).toEqual(['Bound', 'Ready', 'Reconciling']);
    const bound = boundStatus(waiting, member, true, NOW + 1000, NOW + 1000);
    expect(bound.conditions?.map((c) => `${c.type}=${c.status}`).sort()).toEqual(['Bound=True', 'Ready=True']);
    const gone = claim();
    gone.status = bound;
    expect(lostStatus(gone, member, 'gone', NOW + 2000).conditions?.map((c) => `${c.type}=${c.status}`).sort()).toEqual(['Bound=False', 'Ready=False', 'Stalled=True']);
  });
});
