import type { V1Pod } from '@kubernetes/client-node';
import type { PoolClaim } from '../api/types.js';
import { claimChangeMatters, podChangeMatters } from './controller.js';

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
});
