// Every delay handed to a timer passes through here. Node's setTimeout turns a delay above 2^31-1 ms (24.8 days) into
// 1 ms, so a 30-day TTL taken from a spec would wake its key every millisecond forever. A timer wakes at most this
// far ahead and its owner recomputes: level-triggered code loses nothing by waking early.

/** The longest a timer sleeps: an hour. Far below setTimeout's limit; long enough that waking costs nothing. */
export const MAX_TIMER_DELAY_MS = 3_600_000;

/** A delay safe to hand to setTimeout: within [0, MAX_TIMER_DELAY_MS]; NaN and +Infinity sleep the maximum. */
export function clampDelayMs(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_DELAY_MS;
  if (ms <= 0) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}
