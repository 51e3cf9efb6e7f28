import type { PoolClaim } from '../api/types.js';
import { Arrivals, claimArrival } from './arrivals.js';

const created = Date.parse('2026-11-24T12:00:00Z'); // truncated: the claim was made within this second

describe('claimArrival, for the latency metrics', () => {
  it.each<{ name: string; created: number | undefined; seen: number | undefined; want: number | undefined }>([
    { name: 'seen within its creation second: the precise first sight', created, seen: created + 900, want: created + 900 },
    { name: 'seen after its creation second (existed before we started): the truncated time', created, seen: created + 5_000, want: created },
    { name: 'a clock skewed before creation: the truncated time', created, seen: created - 10, want: created },
    { name: 'never seen (bound by a pass after a restart): the truncated time', created, seen: undefined, want: created },
    { name: 'no creationTimestamp: the first sight', created: undefined, seen: created, want: created },
  ])('$name', ({ created: c, seen, want }) => {
    expect(claimArrival(c, seen)).toBe(want);
  });
});

function claim(uid: string, phase?: 'Pending' | 'Bound'): PoolClaim {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'PoolClaim',
    metadata: { name: uid, namespace: 'ns', uid },
    spec: { poolName: 'web' },
    ...(phase && { status: { phase } }),
  };
}

type Step = { seen: PoolClaim; at: number } | { forget: string };

describe('Arrivals: first sights until the claim binds or goes', () => {
  it.each<{ name: string; steps: Step[]; take: string; want: number | undefined }>([
    { name: 'a new claim is timed from its first sight', steps: [{ seen: claim('a'), at: created + 300 }], take: 'a', want: created + 300 },
    {
      name: 'a claim that already has a phase (written before we started) keeps its creation time',
      steps: [{ seen: claim('a', 'Pending'), at: created + 300 }],
      take: 'a',
      want: created,
    },
    { name: 'a claim never seen keeps its creation time', steps: [{ seen: claim('b'), at: created + 300 }], take: 'a', want: created },
    { name: 'a deleted claim is forgotten', steps: [{ seen: claim('a'), at: created + 300 }, { forget: 'a' }], take: 'a', want: created },
    {
      name: 'seen again (a relist) is timed from the latest sight',
      steps: [{ seen: claim('a'), at: created + 100 }, { seen: claim('a'), at: created + 700 }],
      take: 'a',
      want: created + 700,
    },
  ])('$name', ({ steps, take, want }) => {
    const arrivals = new Arrivals();
    for (const step of steps) {
      if ('forget' in step) arrivals.forget(step.forget);
      else arrivals.seen(step.seen, step.at);
    }
    expect(arrivals.take(take, created)).toBe(want);
    // Taken once: a second bind of the same uid (none happens) would fall back to the creation time.
    expect(arrivals.take(take, created)).toBe(created);
  });
});

describe('Arrivals.seen says which sights are new arrivals (the autoscaler counts these)', () => {
  it.each<{ name: string; steps: { claim: PoolClaim; at: number }[]; want: boolean[] }>([
    { name: 'a new claim once', steps: [{ claim: claim('a'), at: created }], want: [true] },
    { name: 'seen again (a relist): one arrival', steps: [{ claim: claim('a'), at: created }, { claim: claim('a'), at: created + 5 }], want: [true, false] },
    { name: 'two claims: two arrivals', steps: [{ claim: claim('a'), at: created }, { claim: claim('b'), at: created }], want: [true, true] },
    { name: 'a claim with a phase (from before a restart) is no arrival', steps: [{ claim: claim('a', 'Bound'), at: created }], want: [false] },
  ])('$name', ({ steps, want }) => {
    const arrivals = new Arrivals();
    expect(steps.map((s) => arrivals.seen(s.claim, s.at))).toEqual(want);
  });
});
