import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim } from '../api/types.js';
import { claimChangeMatters, podChangeMatters, poolChangeMattersToClaims } from './controller.js';

const claim = (over: Partial<PoolClaim['metadata']> = {}, phase?: string): PoolClaim => ({
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'PoolClaim',
  metadata: { name: 'c', namespace: 'n', uid: 'u', generation: 1, ...over },
  spec: { poolName: 'p' },
  ...(phase ? { status: { phase: phase as 'Pending' } } : {}),
});

const pod = (state: string, ready: boolean, claimUid?: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: {
    name: 'm',
    labels: { 'warmpool.dev/pool': 'p', 'warmpool.dev/state': state },
    annotations: claimUid ? { 'warmpool.dev/claim-uid': claimUid } : {},
    ...extra,
  },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('which updates wake the claim planner', () => {
  it.each<{ name: string; now: PoolClaim; old: PoolClaim | undefined; want: boolean }>([
    { name: 'a new claim', now: claim(), old: undefined, want: true },
    { name: 'a status write that keeps the phase (queue position, Ready mirror)', now: claim({}, 'Pending'), old: claim({}, 'Pending'), want: false },
    { name: 'a phase change (another replica bound it)', now: claim({}, 'Bound'), old: claim({}, 'Pending'), want: true },
    { name: 'a spec change', now: claim({ generation: 2 }), old: claim(), want: true },
    { name: 'deletion starts', now: claim({ deletionTimestamp: new Date() }), old: claim(), want: true },
    { name: 'a finalizer goes', now: claim({ finalizers: [] }), old: claim({ finalizers: ['warmpool.dev/claim-release'] }), want: true },
  ])('claim: $name', ({ now, old, want }) => {
    expect(claimChangeMatters(now, old)).toBe(want);
  });

  it.each<{ name: string; now: V1Pod; old: V1Pod | undefined; want: boolean }>([
    { name: 'a new member', now: pod('warming', false), old: undefined, want: true },
    { name: 'marked ready: claimable now', now: pod('ready', true), old: pod('warming', true), want: true },
    { name: 'becomes Ready', now: pod('warming', true), old: pod('warming', false), want: true },
    { name: 'our bind (ready -> claimed with a claim uid)', now: pod('claimed', true, 'u'), old: pod('ready', true), want: false },
    { name: 'a claimed member loses readiness', now: pod('claimed', false, 'u'), old: pod('claimed', true, 'u'), want: true },
    { name: 'a member handed back', now: pod('ready', true), old: pod('claimed', true, 'u'), want: true },
    { name: 'deletion starts', now: pod('claimed', true, 'u', { deletionTimestamp: new Date() }), old: pod('claimed', true, 'u'), want: true },
    { name: 'nothing the planner reads changed', now: pod('ready', true), old: pod('ready', true), want: false },
  ])('pod: $name', ({ now, old, want }) => {
    expect(podChangeMatters(now, old)).toBe(want);
  });

  const pool = (over: Partial<InstancePool['metadata']> = {}, status: InstancePool['status'] = {}): InstancePool => ({
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'p', namespace: 'n', uid: 'pu', generation: 1, ...over },
    spec: { targetSize: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
    status,
  });
  it.each<{ name: string; now: InstancePool; old: InstancePool | undefined; want: boolean }>([
    { name: 'a new pool', now: pool(), old: undefined, want: true },
    { name: 'the pool controller writes its counts', now: pool({}, { readyCount: 3 }), old: pool({}, { readyCount: 2 }), want: false },
    { name: 'a spec change (drain, queue policy, template)', now: pool({ generation: 2 }), old: pool(), want: true },
    { name: 'deletion starts', now: pool({ deletionTimestamp: new Date() }), old: pool(), want: true },
    { name: 'pendingClaims changed by another writer', now: pool({}, { pendingClaims: 0 }), old: pool({}, { pendingClaims: 4 }), want: true },
    { name: 'recreated under the same name', now: pool({ uid: 'other' }), old: pool(), want: true },
  ])('pool: $name', ({ now, old, want }) => {
    expect(poolChangeMattersToClaims(now, old)).toBe(want);
  });
});
