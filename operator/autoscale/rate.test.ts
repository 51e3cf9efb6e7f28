import { MIN_HISTORY_MS, addArrival, newRate, rateAt, type RateState } from './rate.js';

/** Arrivals every `everyMs` from `fromMs` up to (not including) `toMs`. */
function feed(state: RateState, fromMs: number, toMs: number, everyMs: number, windowMs: number): RateState {
  let s = state;
  for (let t = fromMs; t < toMs; t += everyMs) s = addArrival(s, t, windowMs);
  return s;
}

describe('the exponentially weighted claim rate', () => {
  test.each<{ name: string; windowMs: number; everyMs: number; forMs: number; readAfterMs: number; want: number; within: number }>([
    { name: 'steady 5/s over many windows', windowMs: 10_000, everyMs: 200, forMs: 100_000, readAfterMs: 0, want: 5, within: 0.1 },
    // Corrected for the short history: no ramp from 0 over the first windows.
    { name: 'steady 5/s, read after one window only', windowMs: 60_000, everyMs: 200, forMs: 60_000, readAfterMs: 0, want: 5, within: 0.1 },
    { name: 'steady 5/s, read after 10 s of a 60 s window', windowMs: 60_000, everyMs: 200, forMs: 10_000, readAfterMs: 0, want: 5, within: 0.2 },
    { name: 'decays by e after a window of silence', windowMs: 10_000, everyMs: 200, forMs: 100_000, readAfterMs: 10_000, want: 5 / Math.E, within: 0.1 },
    { name: 'gone after many windows of silence', windowMs: 10_000, everyMs: 200, forMs: 100_000, readAfterMs: 200_000, want: 0, within: 0.001 },
    { name: 'one per minute', windowMs: 600_000, everyMs: 60_000, forMs: 6_000_000, readAfterMs: 0, want: 1 / 60, within: 0.002 },
  ])('$name', ({ windowMs, everyMs, forMs, readAfterMs, want, within }) => {
    const s = feed(newRate(0), 0, forMs, everyMs, windowMs);
    expect(Math.abs(rateAt(s, forMs + readAfterMs, windowMs) - want)).toBeLessThan(within);
  });

  test('a first arrival right after a start does not read as a huge rate', () => {
    const s = addArrival(newRate(0), 1, 60_000);
    // One claim over the minimum history: about one per 5 s (a 5 s history of a 60 s window holds 8% of its weight).
    const oneIn = (1 / 60) / (1 - Math.exp(-MIN_HISTORY_MS / 60_000));
    expect(rateAt(s, 2, 60_000)).toBeCloseTo(oneIn, 5);
    expect(oneIn).toBeLessThan(0.21);
  });

  test('hostile times: future and NaN arrivals, out of order, before the start', () => {
    let s = newRate(1000);
    s = addArrival(s, Number.NaN, 10_000);
    s = addArrival(s, 500, 10_000); // before the start: counted at the start
    s = addArrival(s, 3000, 10_000);
    s = addArrival(s, 2000, 10_000); // out of order: decayed into the sum
    const r = rateAt(s, 3000, 10_000);
    expect(Number.isFinite(r)).toBe(true);
    expect(r).toBeGreaterThan(0);
    // Four arrivals within 2 s of a 5 s minimum history: below 1/s, above 0.5/s.
    expect(r).toBeLessThan(1);
    expect(r).toBeGreaterThan(0.5);
  });

  test('a NaN window reads as the longest and still gives a finite rate', () => {
    const s = feed(newRate(0), 0, 10_000, 100, Number.NaN);
    expect(Number.isFinite(rateAt(s, 10_000, Number.NaN))).toBe(true);
  });
});
