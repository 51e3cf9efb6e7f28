import { resolveClaim, type ResolvedClaim } from '../api/resolve.js';
import type { PoolClaim, PoolClaimSpec } from '../api/types.js';
import { API_VERSION, CLAIM_KIND } from '../api/types.js';
import { applyBackpressure, compareArrival, orderClaims } from './queue.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');

/** A claim created `t` seconds after T0, as resolved at the door (the queue sees only those). */
function claim(name: string, t: number, spec: Partial<PoolClaimSpec> = {}): ResolvedClaim {
  return resolveClaim({
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: new Date(T0 + t * 1000) },
    spec: { poolName: 'web', ...spec },
  }).claim;
}

const names = (claims: readonly PoolClaim[]): string[] => claims.map((c) => c.metadata.name ?? '');

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('orderClaims', () => {
  const claims = [
    claim('low-old', 0),
    claim('high-new', 5, { priority: 10 }),
    claim('high-old', 1, { priority: 10 }),
    claim('neg', 0, { priority: -1 }),
    claim('b-same-second', 2),
    claim('a-same-second', 2),
  ];

  it.each([
    { strategy: 'Priority', want: ['high-old', 'high-new', 'low-old', 'a-same-second', 'b-same-second', 'neg'] },
    { strategy: 'FIFO', want: ['low-old', 'neg', 'high-old', 'a-same-second', 'b-same-second', 'high-new'] },
  ] as const)('$strategy', ({ strategy, want }) => {
    expect(names(orderClaims(claims, strategy))).toEqual(want);
  });

  it('FairShare rotates over acquirers, oldest head first, each sub-queue FIFO whatever the priority', () => {
    const fair = [
      claim('a1', 0, { acquiredBy: 'alice' }),
      claim('a2', 1, { acquiredBy: 'alice', priority: 100 }),
      claim('a3', 2, { acquiredBy: 'alice' }),
      claim('a4', 3, { acquiredBy: 'alice' }),
      claim('b1', 5, { acquiredBy: 'bob' }),
      claim('n1', 4),
      claim('n2', 6),
    ];
    // alice's oldest (0) < anonymous' (4) < bob's (5): that is the rotation in every round.
    expect(names(orderClaims(fair, 'FairShare'))).toEqual(['a1', 'n1', 'b1', 'a2', 'n2', 'a3', 'a4']);
  });

  it.each(['Priority', 'FIFO', 'FairShare'] as const)('%s does not depend on the input order', (strategy) => {
    const many = Array.from({ length: 30 }, (_, i) =>
      claim(`c${i}`, i % 4, { priority: i % 3, ...(i % 5 !== 0 && { acquiredBy: `team-${i % 3}` }) }),
    );
    const expected = names(orderClaims(many, strategy));
    for (const seed of [1, 2, 3]) expect(names(orderClaims(shuffled(many, seed), strategy))).toEqual(expected);
  });

  it('treats a claim without creationTimestamp as the newest', () => {
    const bare: ResolvedClaim = { ...claim('bare', 0), metadata: { name: 'bare', uid: 'u' } };
    expect(names([bare, claim('z', 100)].sort(compareArrival))).toEqual(['z', 'bare']);
  });
});

describe('applyBackpressure', () => {
  // In queue (priority) order; arrival order is c0 < c1 < c2 < c3.
  const waiting = [claim('c3', 3, { priority: 5 }), claim('c0', 0), claim('c1', 1), claim('c2', 2)];

  it.each([
    { name: 'unbounded', maxPending: undefined, onFull: 'RejectNewest', kept: ['c3', 'c0', 'c1', 'c2'], rejected: [] },
    { name: 'within the limit', maxPending: 4, onFull: 'RejectNewest', kept: ['c3', 'c0', 'c1', 'c2'], rejected: [] },
    { name: 'RejectNewest fails the latest arrivals, even of higher priority', maxPending: 2, onFull: 'RejectNewest', kept: ['c0', 'c1'], rejected: ['c2', 'c3'] },
    { name: 'RejectOldest fails the longest waiting', maxPending: 2, onFull: 'RejectOldest', kept: ['c3', 'c2'], rejected: ['c0', 'c1'] },
    { name: 'maxPending 0 keeps nobody waiting', maxPending: 0, onFull: 'RejectOldest', kept: [], rejected: ['c0', 'c1', 'c2', 'c3'] },
  ] as const)('$name', ({ maxPending, onFull, kept, rejected }) => {
    const out = applyBackpressure(waiting, maxPending, onFull);
    expect(names(out.ordered)).toEqual(kept);
    expect(names(out.rejected)).toEqual(rejected);
  });
});
