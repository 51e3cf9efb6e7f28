import { CLAIM_QUIET_MS, refillYield, refillYieldBoundMs, type RefillYieldInput } from './refill-yield.js';

const base: RefillYieldInput = { now: 100_000, lastClaimAt: undefined, deferredSince: undefined, readyMembers: 5, maxMs: 2_000 };

describe('refillYield', () => {
  test.each<{ name: string; input: Partial<RefillYieldInput>; expected: ReturnType<typeof refillYield> }>([
    { name: 'no claim since start: create', input: {}, expected: { kind: 'create' } },
    { name: 'a claim just bound: wait out the quiet window', input: { lastClaimAt: 100_000 }, expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS } },
    { name: 'a claim 100 ms ago: wait the rest of the window', input: { lastClaimAt: 99_900 }, expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS - 100 } },
    { name: 'claims paused: create', input: { lastClaimAt: 100_000 - CLAIM_QUIET_MS }, expected: { kind: 'create' } },
    { name: 'no ready member left: create at once (a claim would queue)', input: { lastClaimAt: 100_000, readyMembers: 0 }, expected: { kind: 'create' } },
    { name: 'yielding turned off', input: { lastClaimAt: 100_000, maxMs: 0 }, expected: { kind: 'create' } },
    {
      name: 'claims never pause: the bound ends the wait',
      input: { lastClaimAt: 100_000, deferredSince: 98_000 },
      expected: { kind: 'create' },
    },
    {
      name: 'near the bound: wait only what is left of it',
      input: { lastClaimAt: 100_000, deferredSince: 98_100 },
      expected: { kind: 'wait', afterMs: 100 },
    },
    {
      name: 'clock stepped back past the last claim: the window, never more',
      input: { lastClaimAt: 160_000 },
      expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS },
    },
    {
      name: 'clock stepped back past the start of the wait: the wait ends',
      input: { lastClaimAt: 100_000, deferredSince: 900_000 },
      expected: { kind: 'create' },
    },
  ])('$name', ({ input, expected }) => {
    expect(refillYield({ ...base, ...input })).toEqual(expected);
  });

  test('a pool under steady claims creates within the bound', () => {
    // Claims every 20 ms forever; the pool is planned again whenever it is told to.
    let now = 0;
    let since: number | undefined;
    for (;;) {
      const d = refillYield({ now, lastClaimAt: now - (now % 20), deferredSince: since, readyMembers: 3, maxMs: 2_000 });
      if (d.kind === 'create') break;
      since ??= now;
      expect(d.afterMs).toBeGreaterThan(0);
      now += d.afterMs;
    }
    expect(now).toBeLessThanOrEqual(2_000);
    expect(now).toBeGreaterThanOrEqual(2_000 - CLAIM_QUIET_MS);
  });
});

describe('refillYieldBoundMs', () => {
  test.each([
    { mode: undefined, want: 2_000 },
    { mode: 'Proportional', want: 2_000 },
    { mode: 'Objective', want: 0 },
  ])('a pool with autoscaling mode $mode yields at most $want ms', ({ mode, want }) => {
    expect(refillYieldBoundMs(mode, 2_000)).toBe(want);
  });
});
