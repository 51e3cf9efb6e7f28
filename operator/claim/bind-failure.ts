// What a refused bind means for its claim. Pure: the shell records each failure of a claim's bind here and hands
// the records to the planner, which holds the claim back until its retry time or fails it for good.
//
// A refusal the API server will repeat whatever we do (a 4xx other than a lost race, a vanished member, a timeout or
// throttling: e.g. a 422 because the claim's annotations would take the member past 256 KiB) fails the claim at
// once: retrying it only spams the API server. Anything else (5xx, 429, network) is retried after a per-claim
// back-off that doubles, so one claim in trouble neither hot-loops nor holds up the pool's other claims.

/** First retry of a claim's bind after a failure; doubles per failure up to BIND_BACKOFF_MAX_MS. */
export const BIND_BACKOFF_BASE_MS = 1_000;
export const BIND_BACKOFF_MAX_MS = 300_000;
/** The API server's message in a condition or Event is cut here: it can quote the refused value. */
export const BIND_FAILURE_MESSAGE_MAX = 1_000;

/** What the shell saw of a failed bind: the HTTP status (undefined for network errors and bugs) and a message. */
export interface BindError {
  code: number | undefined;
  message: string;
}

/** A claim's bind failures so far, kept by the shell by claim uid. */
export interface BindFailure {
  /** How many binds of this claim failed in a row. */
  failures: number;
  /** When the last one failed (epoch ms). */
  lastAt: number;
  /** The last failure's message, bounded. */
  message: string;
  /** The last refusal is one a retry cannot fix: the claim fails (reason BindFailed). */
  final: boolean;
}

/**
 * A refusal a retry cannot fix: a 4xx other than 404 (the member went away: another one will do), 408 (a timeout),
 * 409 (a lost race) and 429 (throttled).
 */
export function isFinalRefusal(code: number | undefined): boolean {
  return code !== undefined && code >= 400 && code < 500 && code !== 404 && code !== 408 && code !== 409 && code !== 429;
}

/** How long a claim waits before its next bind after `failures` failures in a row (0 when none failed). */
export function bindBackoffMs(failures: number): number {
  if (!(failures >= 1)) return 0;
  // Past 2^52 the product overflows to Infinity; the cap makes that harmless.
  return Math.min(BIND_BACKOFF_BASE_MS * 2 ** (Math.min(failures, 64) - 1), BIND_BACKOFF_MAX_MS);
}

/** The message cut to BIND_FAILURE_MESSAGE_MAX characters (an ellipsis says it was cut). */
export function boundedMessage(message: string, max = BIND_FAILURE_MESSAGE_MAX): string {
  return message.length > max ? `${message.slice(0, Math.max(0, max - 3))}...` : message;
}

/** The claim's record after one more failed bind. */
export function recordBindFailure(previous: BindFailure | undefined, err: BindError, now: number): BindFailure {
  return {
    failures: (previous?.failures ?? 0) + 1,
    lastAt: now,
    message: boundedMessage(err.message),
    final: isFinalRefusal(err.code),
  };
}

/** When the claim may be bound again (epoch ms); a final failure never. */
export function bindRetryAt(failure: BindFailure): number {
  return failure.final ? Number.POSITIVE_INFINITY : failure.lastAt + bindBackoffMs(failure.failures);
}
