// The two limits client-go's default controller rate limiter combines: per-key exponential back-off and one token
// bucket shared by all keys. Both are pure over time passed in.

/** Delay before the (failures+1)-th retry of one key: base * 2^failures, capped at max. */
export function backoffDelayMs(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  // Past 2^52 the product overflows to Infinity; the cap makes that harmless.
  return Math.min(baseDelayMs * 2 ** failures, maxDelayMs);
}

/**
 * A token bucket that hands out reservations, like golang.org/x/time/rate's Reserve(): every call takes a token,
 * going into debt when the bucket is empty, and returns how long the caller must wait for its token to exist.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`TokenBucket: qps must be > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.tokens = burst;
  }

  /** Takes one token at time nowMs and returns the wait in ms until it is available (0 when there was one). */
  reserve(nowMs: number): number {
    if (this.lastMs !== undefined && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.qps) / 1000);
    }
    this.lastMs = Math.max(nowMs, this.lastMs ?? nowMs);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
}
