import type { ClaimOrder, PoolClaim } from '../api/types.js';
import { API_VERSION, CLAIM_KIND } from '../api/types.js';
import type { MemberPhase, MemberView } from '../member/members.js';
import { allocate, isClaimable } from './allocate.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');

function claim(name: string): PoolClaim {
  return {
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    metadata: { name, uid: `uid-${name}`, creationTimestamp: new Date(T0) },
    spec: { poolName: 'web' },
  };
}

/** A member that became ready `readyAt` seconds after T0 on `node`. */
function member(name: string, readyAt: number | undefined, node = 'n1', phase: MemberPhase = 'ready', over: Partial<MemberView> = {}): MemberView {
  return {
    name,
    uid: `uid-${name}`,
    resourceVersion: '1',
    stateLabel: phase === 'claimed' ? 'claimed' : 'ready',
    phase,
    healthy: true,
    failure: undefined,
    ready: true,
    unschedulable: false,
    unschedulableMessage: undefined,
    evicted: false,
    createdAt: T0 - 60_000,
    scheduledAt: T0 - 59_000,
    readyAt: readyAt === undefined ? undefined : T0 + readyAt * 1000,
    warmingStartedAt: T0 - 60_000,
    templateHash: 'h',
    nodeName: node,
    claimName: phase === 'claimed' ? `owner-of-${name}` : undefined,
    claimUid: phase === 'claimed' ? `uid-owner-of-${name}` : undefined,
    leaseToken: 0,
    reuses: 0,
    returnedAt: undefined,
    resting: undefined,
    readySince: undefined,
    ...over,
  };
}

const claims = (n: number): PoolClaim[] => Array.from({ length: n }, (_, i) => claim(`c${i}`));
const picks = (order: ClaimOrder, members: MemberView[], n: number, excluded: string[] = []): string[] =>
  allocate(claims(n), members, order, new Set(excluded)).map((p) => `${p.claim.metadata.name}:${p.member.name}`);

describe('isClaimable', () => {
  it.each([
    { name: 'ready, labelled ready', view: member('m', 1), want: true },
    { name: 'on an older template (any ready member may be claimed)', view: member('m', 1, 'n1', 'ready', { templateHash: 'old' }), want: true },
    { name: 'Ready but still labelled warming', view: member('m', 1, 'n1', 'ready', { stateLabel: 'warming' }), want: false },
    { name: 'labelled ready, Ready went False', view: member('m', 1, 'n1', 'failed', { ready: false, healthy: false, failure: 'NotReady' }), want: false },
    { name: 'being deleted', view: member('m', 1, 'n1', 'terminating'), want: false },
    { name: 'claimed', view: member('m', 1, 'n1', 'claimed'), want: false },
    { name: 'carrying only a claim uid', view: member('m', 1, 'n1', 'ready', { claimUid: 'x' }), want: false },
    { name: 'warming', view: member('m', undefined, 'n1', 'warming', { stateLabel: 'warming', ready: false }), want: false },
  ])('$name -> $want', ({ view, want }) => {
    expect(isClaimable(view)).toBe(want);
  });
});

describe('allocate', () => {
  const members = [member('m-new', 30), member('m-old', 10), member('m-none', undefined), member('m-b', 20), member('m-a', 20)];

  it.each([
    { order: 'OldestReady', want: ['c0:m-old', 'c1:m-a', 'c2:m-b', 'c3:m-new', 'c4:m-none'] },
    { order: 'NewestReady', want: ['c0:m-new', 'c1:m-a', 'c2:m-b', 'c3:m-old', 'c4:m-none'] },
  ] as const)('$order, ties by name, no ready time last', ({ order, want }) => {
    expect(picks(order, members, 5)).toEqual(want);
  });

  it('serves claims in the order given, each member once; the rest stay unpaired', () => {
    expect(picks('OldestReady', [member('x', 1), member('y', 2)], 4)).toEqual(['c0:x', 'c1:y']);
  });

  it('never hands out an excluded or unclaimable member', () => {
    const mixed = [member('x', 1), member('gone', 0, 'n1', 'terminating'), member('taken', 0, 'n1', 'claimed'), member('y', 2)];
    expect(picks('OldestReady', mixed, 3, ['uid-x'])).toEqual(['c0:y']);
  });

  it('PackNodes fills the node with the most claimed members first, counting its own picks', () => {
    const pool = [
      member('busy-claimed-1', 0, 'busy', 'claimed'),
      member('busy-claimed-2', 0, 'busy', 'claimed'),
      member('quiet-claimed', 0, 'quiet', 'claimed'),
      member('q1', 1, 'quiet'),
      member('q2', 2, 'quiet'),
      member('b1', 5, 'busy'),
      member('b2', 6, 'busy'),
      member('e1', 0, 'empty'),
    ];
    expect(picks('PackNodes', pool, 5)).toEqual(['c0:b1', 'c1:b2', 'c2:q1', 'c3:q2', 'c4:e1']);
  });

  it('SpreadNodes takes the node with the fewest claimed members, ties to the oldest ready head', () => {
    const pool = [
      member('a-claimed', 0, 'a', 'claimed'),
      member('a1', 1, 'a'),
      member('b1', 4, 'b'),
      member('b2', 5, 'b'),
      member('c1', 3, 'c'),
      member('c2', 9, 'c'),
    ];
    // b and c start at 0: c1 (3s) is older than b1 (4s); then b; then all at 1: a1 is the oldest head.
    expect(picks('SpreadNodes', pool, 6)).toEqual(['c0:c1', 'c1:b1', 'c2:a1', 'c3:b2', 'c4:c2']);
  });
});

describe('allocate: count, all or nothing in queue order (issue 21)', () => {
  const of = (name: string, count: number): PoolClaim => ({ ...claim(name), spec: { poolName: 'web', count } });
  const pool = [member('a', 1, 'n1'), member('b', 2, 'n1'), member('c', 3, 'n2')];
  test.each<{ name: string; order: ClaimOrder; claims: PoolClaim[]; want: string[] }>([
    { name: 'a claim of 2 takes two members', order: 'OldestReady', claims: [of('x', 2), of('y', 1)], want: ['x:a', 'x:b', 'y:c'] },
    { name: 'a claim of 4 of 3 takes none, and holds up the claim behind it', order: 'OldestReady', claims: [of('x', 4), of('y', 1)], want: [] },
    { name: 'a claim that fits after one that took its share', order: 'NewestReady', claims: [of('x', 2), of('y', 2)], want: ['x:c', 'x:b'] },
    { name: 'by node, none when the set cannot be filled', order: 'SpreadNodes', claims: [of('x', 1), of('y', 3)], want: ['x:a'] },
    { name: 'by node, a set spread over the nodes', order: 'SpreadNodes', claims: [of('x', 2)], want: ['x:a', 'x:c'] },
  ])('$name', ({ order, claims, want }) => {
    expect(allocate(claims, pool, order, new Set()).map((p) => `${p.claim.metadata.name ?? ''}:${p.member.name}`)).toEqual(want);
  });
});
