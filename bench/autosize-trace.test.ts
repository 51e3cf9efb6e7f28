import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_PHASES,
  integrateReady,
  meanRate,
  parsePhases,
  poissonArrivals,
  summarizeWaits,
  traceSeconds,
  waited,
  type ClaimRecord,
} from './autosize-trace.js';

describe('parsePhases', () => {
  it('reads the default trace: quiet, a 10x burst, quiet', () => {
    const phases = parsePhases(DEFAULT_PHASES);
    expect(phases).toEqual([
      { ratePerSecond: 0.5, seconds: 60 },
      { ratePerSecond: 5, seconds: 30 },
      { ratePerSecond: 0.5, seconds: 60 },
    ]);
    expect(traceSeconds(phases)).toBe(150);
    expect(meanRate(phases)).toBeCloseTo(210 / 150, 10);
  });

  const refused: { name: string; text: string; error: RegExp }[] = [
    { name: 'nothing', text: '', error: /AUTOSIZE_PHASES="": want 1 to 10 phases/ },
    { name: 'eleven phases', text: Array.from({ length: 11 }, () => '1:1').join(','), error: /want 1 to 10 phases/ },
    { name: 'no seconds', text: '0.5:60,5', error: /AUTOSIZE_PHASES\[1\]="5"/ },
    { name: 'a rate of 0', text: '0:60', error: /AUTOSIZE_PHASES\[0\]="0:60"/ },
    { name: 'a rate above 50/s', text: '51:10', error: /at most 50 claims\/s/ },
    { name: 'a negative rate', text: '-1:10', error: /AUTOSIZE_PHASES\[0\]/ },
    { name: '0 seconds', text: '1:0', error: /1 to 3600 whole seconds/ },
    { name: 'fractional seconds', text: '1:1.5', error: /AUTOSIZE_PHASES\[0\]/ },
    { name: 'over an hour', text: '1:3601', error: /1 to 3600 whole seconds/ },
    { name: 'too many claims in all', text: '50:3600', error: /180000 claims expected, at most 20000/ },
  ];
  it.each(refused)('refuses $name, naming the variable', ({ text, error }) => {
    expect(() => parsePhases(text)).toThrow(error);
  });
});

describe('poissonArrivals', () => {
  const phases = parsePhases('1:100,10:100');

  it('is the same trace for the same seed and another for another seed', () => {
    expect(poissonArrivals(phases, 7)).toEqual(poissonArrivals(phases, 7));
    expect(poissonArrivals(phases, 8)).not.toEqual(poissonArrivals(phases, 7));
  });

  it('keeps each arrival within its phase, in time order', () => {
    const a = poissonArrivals(phases, 3);
    for (let i = 1; i < a.length; i++) expect(a[i]?.atMs).toBeGreaterThanOrEqual(a[i - 1]?.atMs ?? 0);
    for (const x of a) {
      expect(x.atMs).toBeGreaterThanOrEqual(x.phase * 100_000);
      expect(x.atMs).toBeLessThan((x.phase + 1) * 100_000);
    }
  });

  // Fixed seeds: deterministic. The bounds are 4 standard deviations of a Poisson count (sqrt(mean)).
  const counts: { name: string; seed: number; phase: number; mean: number }[] = [
    { name: 'quiet phase, seed 1', seed: 1, phase: 0, mean: 100 },
    { name: 'busy phase, seed 1', seed: 1, phase: 1, mean: 1000 },
    { name: 'quiet phase, seed 2', seed: 2, phase: 0, mean: 100 },
    { name: 'busy phase, seed 2', seed: 2, phase: 1, mean: 1000 },
  ];
  it.each(counts)('arrives at the phase rate: $name', ({ seed, phase, mean }) => {
    const n = poissonArrivals(phases, seed).filter((x) => x.phase === phase).length;
    expect(Math.abs(n - mean)).toBeLessThanOrEqual(4 * Math.sqrt(mean));
  });

  it('has exponential gaps: their spread is that of a Poisson process, not of a clock', () => {
    const a = poissonArrivals(parsePhases('10:1000'), 5).map((x) => x.atMs);
    const gaps = a.slice(1).map((t, i) => t - (a[i] ?? 0));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeGreaterThan(95);
    expect(mean).toBeLessThan(105);
    // An exponential's standard deviation equals its mean; evenly spaced arrivals would have none.
    expect(sd / mean).toBeGreaterThan(0.9);
    expect(sd / mean).toBeLessThan(1.1);
  });
});

describe('waited', () => {
  const cases: { name: string; claim: ClaimRecord; waited: boolean | undefined }[] = [
    { name: 'bound to a member ready before it came', claim: { phase: 0, createdAtMs: 1000, boundAtMs: 1030, memberReadyAtMs: 400 }, waited: false },
    {
      name: 'bound late by a slow pass, to a member ready before it came',
      claim: { phase: 0, createdAtMs: 1000, boundAtMs: 2500, memberReadyAtMs: 999 },
      waited: false,
    },
    { name: 'bound to a member that became ready after it came', claim: { phase: 0, createdAtMs: 1000, boundAtMs: 1900, memberReadyAtMs: 1850 }, waited: true },
    { name: 'never bound', claim: { phase: 0, createdAtMs: 1000 }, waited: true },
    { name: "bound, its member's ready stamp not seen", claim: { phase: 0, createdAtMs: 1000, boundAtMs: 1030 }, waited: undefined },
  ];
  it.each(cases)('$name: $waited', ({ claim, waited: want }) => {
    expect(waited(claim)).toBe(want);
  });
});

describe('summarizeWaits', () => {
  it('counts waits by phase and leaves claims of unknown members out of the share', () => {
    const records: ClaimRecord[] = [
      { phase: 0, createdAtMs: 10, boundAtMs: 20, memberReadyAtMs: 5 },
      { phase: 1, createdAtMs: 10, boundAtMs: 900, memberReadyAtMs: 800 },
      { phase: 1, createdAtMs: 10 },
      { phase: 1, createdAtMs: 10, boundAtMs: 20, memberReadyAtMs: 1 },
      { phase: 2, createdAtMs: 10, boundAtMs: 20 },
    ];
    expect(summarizeWaits(records, 3)).toEqual({
      claims: 5,
      waited: 2,
      unbound: 1,
      unknown: 1,
      waitedShare: 0.5,
      byPhase: [
        { claims: 1, waited: 0 },
        { claims: 3, waited: 2 },
        { claims: 0, waited: 0 },
      ],
    });
  });
});

describe('integrateReady', () => {
  it('holds each sample until the next, within the window', () => {
    const samples = [
      { atMs: 0, ready: 4 },
      { atMs: 2000, ready: 10 },
      { atMs: 5000, ready: 0 },
      { atMs: 6000, ready: 2 },
    ];
    // 1000..2000 at 4, 2000..5000 at 10, 5000..6000 at 0, 6000..8000 at 2.
    expect(integrateReady(samples, 1000, 8000)).toBeCloseTo(4 + 30 + 0 + 4, 10);
    expect(integrateReady(samples, 0, 1000)).toBeCloseTo(4, 10);
  });
});
