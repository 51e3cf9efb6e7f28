// The Objective mode's arithmetic: claims arrive as a Poisson process, and a claim finds no ready member exactly when
// n or more claims arrived within one warm-up (plus the operator's reaction) before it, each of them having taken a
// member whose replacement is still warming. So with n warm members the share of claims that wait is P[X >= n] for
// X ~ Poisson(rate x (warm-up + reaction)), and the pool wants the smallest n that keeps it at or below the objective.

/** The largest Poisson mean taken: far past any pool (maxSize is at most 100000), small enough for a short walk. */
export const MAX_POISSON_MEAN = 1e6;
/** The objective's bounds: below 1e-6 the tail's terms would need more than double precision to mean anything. */
export const MIN_WAIT_PROBABILITY = 1e-6;
export const MAX_WAIT_PROBABILITY = 0.5;

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln(k!), exact by summation below 20, Stirling's series (error below 1e-12) above. */
export function lnFactorial(k: number): number {
  if (k < 20) {
    let s = 0;
    for (let i = 2; i <= k; i++) s += Math.log(i);
    return s;
  }
  const k2 = k * k;
  return k * Math.log(k) - k + 0.5 * Math.log(k) + LN_SQRT_2PI + 1 / (12 * k) - 1 / (360 * k * k2) + 1 / (1260 * k2 * k2 * k);
}

/** A mean within [0, MAX_POISSON_MEAN]; NaN reads as 0 (no arrivals measured), +Infinity as the maximum. */
export function boundMean(mean: number): number {
  if (Number.isNaN(mean) || mean <= 0) return 0;
  return Math.min(mean, MAX_POISSON_MEAN);
}

/** An objective within [MIN_WAIT_PROBABILITY, MAX_WAIT_PROBABILITY]; NaN reads as the strictest. */
export function boundProbability(p: number): number {
  if (Number.isNaN(p)) return MIN_WAIT_PROBABILITY;
  return Math.min(Math.max(p, MIN_WAIT_PROBABILITY), MAX_WAIT_PROBABILITY);
}

/**
 * Where the upper tail is summed from: far enough above the mean that what lies beyond is below 1e-30 (12 standard
 * deviations plus a margin for small means), near enough that the pmf there does not underflow for any mean above
 * 1e-9 (below that the tail is under the smallest objective anyway, and reads as 0).
 */
function tailTop(mean: number): number {
  return Math.ceil(mean + 12 * Math.sqrt(mean) + 30);
}

/**
 * P[X >= n] for X ~ Poisson(mean), computed stably: the terms are summed upward from the far tail (smallest first, no
 * cancellation), each from the next by pmf(k-1) = pmf(k) k / mean, starting from pmf(top) in log space.
 */
export function poissonTailAtLeast(meanIn: number, nIn: number): number {
  const mean = boundMean(meanIn);
  const n = Math.max(0, Math.ceil(nIn));
  if (n === 0) return 1;
  if (mean === 0) return 0;
  const top = tailTop(mean);
  if (n > top) return 0;
  let term = Math.exp(-mean + top * Math.log(mean) - lnFactorial(top));
  let tail = 0;
  for (let k = top; k >= n; k--) {
    tail += term;
    term = (term * k) / mean;
  }
  return Math.min(1, tail);
}

/**
 * The smallest n in [0, maxSize] with P[X >= n] <= maxWaitProbability, X ~ Poisson(mean); maxSize when none is. One
 * downward walk from the far tail: the tail grows as n falls, and the answer is one above the first n whose tail
 * passes the objective.
 */
export function objectiveSize(meanIn: number, maxWaitProbability: number, maxSizeIn: number): number {
  const mean = boundMean(meanIn);
  const p = boundProbability(maxWaitProbability);
  const maxSize = Math.max(0, Math.floor(Number.isFinite(maxSizeIn) ? maxSizeIn : 0));
  if (mean === 0) return 0;
  // p <= 0.5 puts the answer above the median, which is above mean - 1: past maxSize there is nothing to find.
  if (mean - 1 >= maxSize) return maxSize;
  const top = tailTop(mean);
  let term = Math.exp(-mean + top * Math.log(mean) - lnFactorial(top));
  let tail = 0;
  for (let k = top; k >= 1; k--) {
    tail += term;
    if (tail > p) return Math.min(k + 1, maxSize);
    term = (term * k) / mean;
  }
  // P[X >= 1] = 1 - e^-mean is still within the objective: one member covers it.
  return Math.min(1, maxSize);
}
