// The Objective's Poisson arithmetic against values summed exactly (Python decimal, 60 digits), the bounds of its
// inputs, and the far tail where a naive sum from 0 underflows or cancels.
import { MAX_POISSON_MEAN, lnFactorial, objectiveSize, poissonTailAtLeast } from './poisson.js';

describe('poissonTailAtLeast: P[X >= n]', () => {
  test.each<{ name: string; mean: number; n: number; want: number; digits: number }>([
    { name: 'n = 0 is certain', mean: 10, n: 0, want: 1, digits: 12 },
    { name: 'mean 0 never reaches 1', mean: 0, n: 1, want: 0, digits: 12 },
    { name: 'one arrival within a warm-up of mean 2', mean: 2, n: 1, want: 0.8646647167633873, digits: 12 },
    { name: 'mean 10, n 18', mean: 10, n: 18, want: 0.014277613597049488, digits: 12 },
    { name: 'mean 10, n 19', mean: 10, n: 19, want: 0.007186504603854171, digits: 12 },
    { name: 'mean 10 at its mean', mean: 10, n: 10, want: 0.5420702855281477, digits: 10 },
    // exp(-1000) underflows: a sum from k = 0 gives 0 here.
    { name: 'mean 1000, n 1100 (far from 0)', mean: 1000, n: 1100, want: 0.000962630405866557, digits: 9 },
    { name: 'mean 5000, n 5250', mean: 5000, n: 5250, want: 0.000230846931390273, digits: 9 },
    { name: 'NaN mean reads as 0', mean: Number.NaN, n: 3, want: 0, digits: 12 },
    { name: 'a negative mean reads as 0', mean: -5, n: 3, want: 0, digits: 12 },
  ])('$name', ({ mean, n, want, digits }) => {
    expect(poissonTailAtLeast(mean, n)).toBeCloseTo(want, digits);
  });

  test('relative accuracy in the far tail (1e-9 of 1e-3)', () => {
    expect(Math.abs(poissonTailAtLeast(1000, 1100) / 0.000962630405866557 - 1)).toBeLessThan(1e-9);
  });

  test('lnFactorial is exact below 20 and continuous across', () => {
    expect(lnFactorial(0)).toBe(0);
    expect(lnFactorial(5)).toBeCloseTo(Math.log(120), 12);
    expect(lnFactorial(20) - lnFactorial(19)).toBeCloseTo(Math.log(20), 10);
    expect(lnFactorial(171)).toBeCloseTo(711.7147258022901, 8);
  });
});

describe('objectiveSize: the smallest n with P[X >= n] <= the objective, within [0, maxSize]', () => {
  test.each<{ name: string; mean: number; p: number; maxSize: number; want: number }>([
    { name: 'the acceptance case: 5/s x (2 s + 1 s)', mean: 15, p: 0.01, maxSize: 100, want: 26 },
    { name: 'mean 10 at 1%', mean: 10, p: 0.01, maxSize: 100, want: 19 },
    { name: 'mean 1.5 at 1%', mean: 1.5, p: 0.01, maxSize: 100, want: 6 },
    { name: 'mean 0.1 at 1%', mean: 0.1, p: 0.01, maxSize: 100, want: 2 },
    { name: 'mean 3 at 5%', mean: 3, p: 0.05, maxSize: 100, want: 7 },
    { name: 'mean 100 at 0.1%', mean: 100, p: 0.001, maxSize: 1000, want: 133 },
    { name: 'a trickle still keeps one member', mean: 0.001, p: 0.01, maxSize: 100, want: 1 },
    { name: 'no arrivals need no member', mean: 0, p: 0.01, maxSize: 100, want: 0 },
    { name: 'capped at maxSize', mean: 15, p: 0.01, maxSize: 20, want: 20 },
    { name: 'a mean far past maxSize returns at once', mean: 1e12, p: 0.01, maxSize: 100_000, want: 100_000 },
    { name: 'maxSize 0', mean: 15, p: 0.01, maxSize: 0, want: 0 },
    { name: 'an objective of 0 reads as the strictest (1e-6)', mean: 1.5, p: 0, maxSize: 100, want: objectiveSize(1.5, 1e-6, 100) },
    { name: 'an objective past 0.5 reads as 0.5', mean: 10, p: 0.9, maxSize: 100, want: objectiveSize(10, 0.5, 100) },
    { name: 'NaN maxSize reads as 0', mean: 10, p: 0.01, maxSize: Number.NaN, want: 0 },
  ])('$name', ({ mean, p, maxSize, want }) => {
    expect(objectiveSize(mean, p, maxSize)).toBe(want);
  });

  test('the answer meets the objective and one less does not', () => {
    for (const mean of [0.05, 0.7, 3, 15, 42, 250, 4000]) {
      for (const p of [0.1, 0.01, 0.001]) {
        const n = objectiveSize(mean, p, 100_000);
        expect(poissonTailAtLeast(mean, n)).toBeLessThanOrEqual(p);
        expect(poissonTailAtLeast(mean, n - 1)).toBeGreaterThan(p);
      }
    }
  });

  test('the largest mean is answered quickly', () => {
    const t0 = performance.now();
    objectiveSize(MAX_POISSON_MEAN - 1, 1e-6, MAX_POISSON_MEAN * 2);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
