import { jest } from '@jest/globals';
import { CLAIM_QUIET_MS, NAMESPACE_CLAIMS_PRUNE_AT, NamespaceClaims, refillYield, refillYieldBoundMs, type RefillYieldInput } from './refill-yield.js';

const base: RefillYieldInput = { now: 100_000, lastClaimAt: undefined, deferredSince: undefined, readyMembers: 5, maxMs: 2_000 };

describe('refillYield', () => {
  test.each<{ name: string; input: Partial<RefillYieldInput>; expected: ReturnType<typeof refillYield> }>([
    { name: 'no claim since start: create', input: {}, expected: { kind: 'create' } },
    { name: 'a claim just bound: wait out the quiet window', input: { lastClaimAt: 100_000 }, expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS, boundMs: 2_000 } },
    { name: 'a claim 100 ms ago: wait the rest of the window', input: { lastClaimAt: 99_900 }, expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS - 100, boundMs: 2_000 } },
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
      expected: { kind: 'wait', afterMs: 100, boundMs: 100 },
    },
    {
      name: 'clock stepped back past the last claim: the window, never more',
      input: { lastClaimAt: 160_000 },
      expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS, boundMs: 2_000 },
    },
    {
      name: "the pool's claims paused but its namespace's go on: wait for them too",
      input: { lastClaimAt: 99_000, namespaceClaimAt: 99_950 },
      expected: { kind: 'wait', afterMs: CLAIM_QUIET_MS - 50, boundMs: 2_000 },
    },
    {
      name: 'the namespace keeps the pool waiting only to the bound',
      input: { lastClaimAt: 98_000, namespaceClaimAt: 100_000, deferredSince: 98_000 },
      expected: { kind: 'create' },
    },
    {
      name: "a pool with no claim of its own within the bound does not wait for its namespace's",
      input: { lastClaimAt: 98_000, namespaceClaimAt: 100_000 },
      expected: { kind: 'create' },
    },
    {
      name: 'a pool never claimed does not wait for its namespace',
      input: { namespaceClaimAt: 100_000 },
      expected: { kind: 'create' },
    },
    {
      name: 'the namespace quiet too: create',
      input: { lastClaimAt: 99_000, namespaceClaimAt: 100_000 - CLAIM_QUIET_MS },
      expected: { kind: 'create' },
    },
    {
      name: 'no ready member left: create, whatever the namespace does',
      input: { lastClaimAt: 100_000, namespaceClaimAt: 100_000, readyMembers: 0 },
      expected: { kind: 'create' },
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

describe('NamespaceClaims', () => {
  test("one namespace's claims are not another's", () => {
    const c = new NamespaceClaims();
    c.record('team-a', 1_000);
    c.record('team-a', 900);
    expect(c.lastAt('team-a')).toBe(1_000);
    expect(c.lastAt('team-b')).toBeUndefined();
  });

  describe('waking the pools that wait', () => {
    beforeEach(() => jest.useFakeTimers({ now: 100_000 }));
    afterEach(() => jest.useRealTimers());

    test('once the claims pause, every waiting pool of the namespace is woken once; none of another namespace', () => {
      const woken: string[][] = [];
      const c = new NamespaceClaims(CLAIM_QUIET_MS, (keys) => woken.push([...keys].sort()));
      c.record('a', Date.now());
      c.waitFor('a', 'a/p1');
      c.waitFor('a', 'a/p2');
      c.waitFor('a', 'a/p1');
      c.record('b', Date.now());
      jest.advanceTimersByTime(CLAIM_QUIET_MS - 1);
      expect(woken).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(woken).toEqual([['a/p1', 'a/p2']]);
      jest.advanceTimersByTime(10 * CLAIM_QUIET_MS);
      expect(woken).toHaveLength(1);
    });

    test('claims that keep coming hold the wake until they pause, with one timer per quiet window', () => {
      const woken: string[][] = [];
      const c = new NamespaceClaims(CLAIM_QUIET_MS, (keys) => woken.push([...keys]));
      c.record('a', Date.now());
      c.waitFor('a', 'a/p1');
      for (let i = 0; i < 20; i++) {
        jest.advanceTimersByTime(50);
        c.record('a', Date.now());
      }
      expect(woken).toEqual([]);
      expect(jest.getTimerCount()).toBe(1);
      jest.advanceTimersByTime(CLAIM_QUIET_MS);
      expect(woken).toEqual([['a/p1']]);
    });

    test('stop drops the timers: nothing is woken after', () => {
      const woken: string[][] = [];
      const c = new NamespaceClaims(CLAIM_QUIET_MS, (keys) => woken.push([...keys]));
      c.record('a', Date.now());
      c.waitFor('a', 'a/p1');
      c.stop();
      jest.advanceTimersByTime(10 * CLAIM_QUIET_MS);
      expect(woken).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  test('past the bound on namespaces, those whose claims have paused are forgotten, the others kept', () => {
    const c = new NamespaceClaims();
    for (let i = 0; i < NAMESPACE_CLAIMS_PRUNE_AT - 1; i++) c.record(`old-${i}`, 0);
    c.record('recent', 10_000);
    expect(c.size).toBe(NAMESPACE_CLAIMS_PRUNE_AT);
    c.record('new', 10_000 + CLAIM_QUIET_MS - 1);
    expect(c.size).toBe(2);
    expect(c.lastAt('recent')).toBe(10_000);
    expect(c.lastAt('old-0')).toBeUndefined();
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
