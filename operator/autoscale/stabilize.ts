// The scale-down stabilization window, as the HPA has it: the target never drops below the highest recommendation
// made within the window, so a lull shorter than the window does not empty the pool before the next burst; scaling
// up is never held back. The same sliding maximum gives the rate's recent peak.

/** The longest window (the API bounds scaleDownStabilizationSeconds the same way): an hour. */
export const MAX_WINDOW_MS = 3_600_000;

/**
 * The values of the last window, as a decreasing queue (each sample newer than and below the one before it): the
 * front is the maximum, and a sample goes once a newer one at least as high or its age makes it irrelevant. At most
 * one sample per distinct value, so it stays short whatever the window.
 */
export interface SlidingMax {
  readonly samples: readonly { readonly atMs: number; readonly value: number }[];
}

export const EMPTY_MAX: SlidingMax = { samples: [] };

function boundWindow(windowMs: number): number {
  if (Number.isNaN(windowMs) || windowMs < 0) return 0;
  return Math.min(windowMs, MAX_WINDOW_MS);
}

/** Adds `value` at `atMs` and forgets what fell out of the window (samples from the future, after a clock step, too). */
export function pushMax(state: SlidingMax, atMs: number, value: number, windowMsIn: number): SlidingMax {
  const windowMs = boundWindow(windowMsIn);
  const kept = state.samples.filter((s) => s.atMs > atMs - windowMs && s.atMs <= atMs);
  while (kept.length > 0 && (kept[kept.length - 1]?.value ?? Number.POSITIVE_INFINITY) <= value) kept.pop();
  kept.push({ atMs, value });
  return { samples: kept };
}

/** The maximum within the window (the last value pushed when the window is 0). */
export function maxOf(state: SlidingMax): number {
  return state.samples[0]?.value ?? 0;
}

export interface Stabilized {
  /** The highest recommendation within the window, this one included: the target. */
  readonly target: number;
  readonly history: SlidingMax;
  /** When the target will next be allowed to drop (the current maximum leaves the window); undefined if it cannot. */
  readonly releaseAtMs?: number;
}

/** The stabilized target for this recommendation. */
export function stabilize(input: { history: SlidingMax; nowMs: number; windowMs: number; recommendation: number }): Stabilized {
  const history = pushMax(input.history, input.nowMs, input.recommendation, input.windowMs);
  const front = history.samples[0] ?? { atMs: input.nowMs, value: input.recommendation };
  const releaseAtMs = history.samples.length > 1 ? front.atMs + boundWindow(input.windowMs) : undefined;
  return { target: front.value, history, releaseAtMs };
}
