import { backoffDelayMs, TokenBucket } from './rate-limit.js';

describe('backoffDelayMs', () => {
  test.each([
    { failures: 0, want: 5 },
    { failures: 1, want: 10 },
    { failures: 2, want: 20 },
    { failures: 10, want: 5120 },
    { failures: 13, want: 40960 },
    { failures: 14, want: 60000 },
    { failures: 2000, want: 60000 },
  ])('after $failures failures waits $want ms', ({ failures, want }) => {
    expect(backoffDelayMs(failures, 5, 60_000)).toBe(want);
  });
});

describe('TokenBucket', () => {
  test('serves the burst at once, then spaces reservations at 1/qps', () => {
    const b = new TokenBucket(10, 3);
    expect([b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 0]);
    expect(b.reserve(0)).toBeCloseTo(100);
    expect(b.reserve(0)).toBeCloseTo(200);
  });

  test('refills with time, never above the burst', () => {
    const b = new TokenBucket(10, 2);
    b.reserve(0);
    b.reserve(0);
    expect(b.reserve(100)).toBeCloseTo(0); // one token back after 100 ms
    expect(b.reserve(10_000)).toBe(0);
    expect(b.reserve(10_000)).toBe(0);
    expect(b.reserve(10_000)).toBeCloseTo(100); // the burst capped the refill at 2
  });

  test('a clock going backwards does not mint tokens', () => {
    const b = new TokenBucket(1, 1);
    b.reserve(5_000);
    expect(b.reserve(1_000)).toBeCloseTo(1000);
  });

  test('rejects nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1)).toThrow();
    expect(() => new TokenBucket(1, 0)).toThrow();
  });
});
