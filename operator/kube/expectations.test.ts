import { Expectations, EXPECTATIONS_TTL_MS } from './expectations.js';

const T0 = 1_000_000;

describe('Expectations', () => {
  test('an unknown key is satisfied', () => {
    expect(new Expectations().satisfied('p', T0)).toBe(true);
  });

  test('creations are satisfied once each has been observed', () => {
    const e = new Expectations();
    e.expectCreations('p', 2, T0);
    expect(e.satisfied('p', T0)).toBe(false);
    e.creationObserved('p');
    expect(e.satisfied('p', T0)).toBe(false);
    expect(e.pending('p')).toEqual({ creations: 1, deletions: [] });
    e.creationObserved('p');
    expect(e.satisfied('p', T0)).toBe(true);
  });

  test('extra observations (pods made by someone else) never go below zero', () => {
    const e = new Expectations();
    e.expectCreations('p', 1, T0);
    e.creationObserved('p');
    e.creationObserved('p');
    e.expectCreations('p', 1, T0);
    expect(e.satisfied('p', T0)).toBe(false);
  });

  test('lowerCreations takes back creations whose create call failed', () => {
    const e = new Expectations();
    e.expectCreations('p', 4, T0);
    e.creationObserved('p');
    e.lowerCreations('p', 2);
    expect(e.pending('p').creations).toBe(1);
    e.lowerCreations('p', 5);
    expect(e.satisfied('p', T0)).toBe(true);
  });

  test('deletions are tracked by uid', () => {
    const e = new Expectations();
    e.expectDeletions('p', ['u1', 'u2'], T0);
    e.deletionObserved('p', 'u3');
    e.deletionObserved('p', 'u1');
    expect(e.satisfied('p', T0)).toBe(false);
    expect(e.pending('p')).toEqual({ creations: 0, deletions: ['u2'] });
    e.deletionObserved('p', 'u1'); // observing twice is harmless
    e.deletionObserved('p', 'u2');
    expect(e.satisfied('p', T0)).toBe(true);
  });

  test('creations and deletions outstanding together must both be observed', () => {
    const e = new Expectations();
    e.expectCreations('p', 1, T0);
    e.expectDeletions('p', ['u1'], T0);
    e.creationObserved('p');
    expect(e.satisfied('p', T0)).toBe(false);
    e.deletionObserved('p', 'u1');
    expect(e.satisfied('p', T0)).toBe(true);
  });

  test('keys are independent', () => {
    const e = new Expectations();
    e.expectCreations('a', 1, T0);
    expect(e.satisfied('b', T0)).toBe(true);
    e.creationObserved('b');
    expect(e.satisfied('a', T0)).toBe(false);
  });

  test('a record older than the TTL counts as satisfied, so a lost event cannot wedge a key', () => {
    const e = new Expectations();
    e.expectCreations('p', 3, T0);
    expect(e.satisfied('p', T0 + EXPECTATIONS_TTL_MS)).toBe(false);
    expect(e.satisfied('p', T0 + EXPECTATIONS_TTL_MS + 1)).toBe(true);
  });

  test('raising an expired record replaces it instead of adding to its stale count', () => {
    const e = new Expectations();
    e.expectCreations('p', 3, T0);
    const later = T0 + EXPECTATIONS_TTL_MS + 1;
    e.expectCreations('p', 1, later);
    expect(e.pending('p').creations).toBe(1);
    e.creationObserved('p');
    expect(e.satisfied('p', later)).toBe(true);
  });

  test('raising an outstanding record adds to it and restarts its TTL', () => {
    const e = new Expectations(1000);
    e.expectCreations('p', 1, T0);
    e.expectDeletions('p', ['u1'], T0 + 900);
    expect(e.pending('p')).toEqual({ creations: 1, deletions: ['u1'] });
    expect(e.satisfied('p', T0 + 1500)).toBe(false);
    expect(e.satisfied('p', T0 + 1901)).toBe(true);
  });

  test('clear forgets the key', () => {
    const e = new Expectations();
    e.expectCreations('p', 1, T0);
    e.clear('p');
    expect(e.satisfied('p', T0)).toBe(true);
    expect(e.pending('p')).toEqual({ creations: 0, deletions: [] });
  });
});
