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
  it.each<[string, PoolClaim, PoolClaim | undefined, boolean]>([
    ['a new claim', claim(), undefined, true],
    ['a status write that keeps the phase (queue position, Ready mirror)', claim({}, 'Pending'), claim({}, 'Pending'), false],
    ['a phase change (another replica bound it)', claim({}, 'Bound'), claim({}, 'Pending'), true],
    ['a spec change', claim({ generation: 2 }), claim(), true],
    ['deletion starts', claim({ deletionTimestamp: new Date() }), claim(), true],
    ['a finalizer goes', claim({ finalizers: [] }), claim({ finalizers: ['warmpool.dev/claim-release'] }), true],
  ])('claim: %s', (_n, now, old, want) => {
    expect(claimChangeMatters(now, old)).toBe(want);
  });

  it.each<[string, V1Pod, V1Pod | undefined, boolean]>([
    ['a new member', pod('warming', false), undefined, true],
    ['marked ready: claimable now', pod('ready', true), pod('warming', true), true],
    ['becomes Ready', pod('warming', true), pod('warming', false), true],
    ['our bind (ready -> claimed with a claim uid)', pod('claimed', true, 'u'), pod('ready', true), false],
    ['a claimed member loses readiness', pod('claimed', false, 'u'), pod('claimed', true, 'u'), true],
    ['a member handed back', pod('ready', true), pod('claimed', true, 'u'), true],
    ['deletion starts', pod('claimed', true, 'u', { deletionTimestamp: new Date() }), pod('claimed', true, 'u'), true],
    ['nothing the planner reads changed', pod('ready', true), pod('ready', true), false],
  ])('pod: %s', (_n, now, old, want) => {
    expect(podChangeMatters(now, old)).toBe(want);
  });

  const pool = (over: Partial<InstancePool['metadata']> = {}, status: InstancePool['status'] = {}): InstancePool => ({
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'p', namespace: 'n', uid: 'pu', generation: 1, ...over },
    spec: { targetSize: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
    status,
  });
  it.each<[string, InstancePool, InstancePool | undefined, boolean]>([
    ['a new pool', pool(), undefined, true],
    ['the pool controller writes its counts', pool({}, { readyCount: 3 }), pool({}, { readyCount: 2 }), false],
    ['a spec change (drain, queue policy, template)', pool({ generation: 2 }), pool(), true],
    ['deletion starts', pool({ deletionTimestamp: new Date() }), pool(), true],
    ['pendingClaims changed by another writer', pool({}, { pendingClaims: 0 }), pool({}, { pendingClaims: 4 }), true],
    ['recreated under the same name', pool({ uid: 'other' }), pool(), true],
  ])('pool: %s', (_n, now, old, want) => {
    expect(poolChangeMattersToClaims(now, old)).toBe(want);
  });
});
