// The claim arrival rate of one pool, estimated from arrival times: an exponentially weighted rate (each arrival
// counts 1/window and decays with time constant `window`), corrected for a short history. Its recent peak is a
// sliding maximum (stabilize.ts).
// Pure: the state is a value, each function returns the next one.

/** Bounds of the window, in ms (the API bounds rateWindowSeconds the same way). */
export const MIN_RATE_WINDOW_MS = 1_000;
export const MAX_RATE_WINDOW_MS = 3_600_000;
/**
 * A fresh estimator's history counts as at least this long (or the window, if shorter): the first claim after a start
 * would otherwise read as a rate of one claim per millisecond.
 */
export const MIN_HISTORY_MS = 5_000;

export interface RateState {
  /** When the estimator started listening: arrivals before it were not seen, so a short history is corrected for. */
  readonly startedMs: number;
  /** The weighted sum of arrivals (claims per second) as of lastMs. */
  readonly weighted: number;
  readonly lastMs: number;
}

function boundWindow(windowMs: number): number {
  if (Number.isNaN(windowMs)) return MAX_RATE_WINDOW_MS;
  return Math.min(Math.max(windowMs, MIN_RATE_WINDOW_MS), MAX_RATE_WINDOW_MS);
}

export function newRate(nowMs: number): RateState {
  return { startedMs: nowMs, weighted: 0, lastMs: nowMs };
}

/**
 * One arrival at `atMs`. An arrival stamped before the last one (claims seen out of order) is decayed into the sum as
 * of lastMs; one stamped in the future (a clock ahead) counts as now; one before the estimator started counts at its
 * start (it was seen then).
 */
export function addArrival(state: RateState, atMsIn: number, windowMsIn: number): RateState {
  const windowMs = boundWindow(windowMsIn);
  const windowS = windowMs / 1000;
  const atMs = Number.isFinite(atMsIn) ? Math.max(atMsIn, state.startedMs) : state.lastMs;
  if (atMs >= state.lastMs) {
    const decayed = state.weighted * Math.exp(-(atMs - state.lastMs) / windowMs);
    return { ...state, weighted: decayed + 1 / windowS, lastMs: atMs };
  }
  return { ...state, weighted: state.weighted + Math.exp(-(state.lastMs - atMs) / windowMs) / windowS };
}

/**
 * The rate at nowMs. A history shorter than a few windows holds less weight than a long one would at the same rate
 * (1 - e^(-age/window) of it): divided by that, the estimate is unbiased from the start.
 */
export function rateAt(state: RateState, nowMs: number, windowMsIn: number): number {
  const windowMs = boundWindow(windowMsIn);
  const since = Math.max(0, nowMs - state.lastMs);
  const weighted = state.weighted * Math.exp(-since / windowMs);
  const age = Math.max(nowMs - state.startedMs, Math.min(MIN_HISTORY_MS, windowMs));
  const coverage = 1 - Math.exp(-age / windowMs);
  const rate = weighted / coverage;
  return Number.isFinite(rate) && rate > 0 ? rate : 0;
}
