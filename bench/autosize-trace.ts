// The autosizing benchmark's pure parts (bench/autosize.ts runs them on a cluster): the arrival trace (phases of
// Poisson arrivals at set rates, from a seed, so every pool gets the same claims at the same instants), which claims
// waited, and what each pool's run comes to.

/** One stretch of the trace: claims arrive as a Poisson process of this rate for this long. */
export interface Phase {
  ratePerSecond: number;
  seconds: number;
}

/** Quiet, a 10x burst, quiet (issue 22). */
export const DEFAULT_PHASES = '0.5:60,5:30,0.5:60';

/** Bounds of a trace: a typo must not start an hour of claims at a thousand a second. */
export const TRACE_LIMITS = { maxPhases: 10, maxRatePerSecond: 50, maxPhaseSeconds: 3600, maxClaims: 20_000 } as const;

/** "rate:seconds,rate:seconds,...", e.g. "0.5:60,5:30,0.5:60"; errors name `what` (the variable it came from). */
export function parsePhases(text: string, what = 'AUTOSIZE_PHASES'): Phase[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0 || parts.length > TRACE_LIMITS.maxPhases) {
    throw new Error(`${what}=${JSON.stringify(text)}: want 1 to ${TRACE_LIMITS.maxPhases} phases "rate:seconds", comma-separated`);
  }
  const phases = parts.map((part, i) => {
    const m = /^([0-9]+(?:\.[0-9]+)?):([0-9]+)$/.exec(part);
    const ratePerSecond = Number(m?.[1]);
    const seconds = Number(m?.[2]);
    if (!m || !(ratePerSecond > 0) || ratePerSecond > TRACE_LIMITS.maxRatePerSecond || seconds < 1 || seconds > TRACE_LIMITS.maxPhaseSeconds) {
      throw new Error(
        `${what}[${i}]=${JSON.stringify(part)}: want "rate:seconds", a rate above 0 and at most ${TRACE_LIMITS.maxRatePerSecond} claims/s, ` +
          `1 to ${TRACE_LIMITS.maxPhaseSeconds} whole seconds`,
      );
    }
    return { ratePerSecond, seconds };
  });
  const expected = phases.reduce((sum, p) => sum + p.ratePerSecond * p.seconds, 0);
  if (expected > TRACE_LIMITS.maxClaims) throw new Error(`${what}=${JSON.stringify(text)}: ${expected} claims expected, at most ${TRACE_LIMITS.maxClaims}`);
  return phases;
}

/** A small seeded generator (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Arrival {
  /** From the trace's start. */
  atMs: number;
  /** Index into the phases. */
  phase: number;
}

/**
 * Poisson arrivals: exponential gaps at each phase's rate, restarted at each phase's start (the process is
 * memoryless, so that is exact), in time order.
 */
export function poissonArrivals(phases: readonly Phase[], seed: number): Arrival[] {
  const uniform = seededUniform(seed);
  const out: Arrival[] = [];
  let startMs = 0;
  phases.forEach((p, phase) => {
    const endMs = startMs + p.seconds * 1000;
    // 1 - u is in (0, 1]: its log is finite.
    for (let t = startMs - (Math.log(1 - uniform()) / p.ratePerSecond) * 1000; t < endMs; t -= (Math.log(1 - uniform()) / p.ratePerSecond) * 1000) {
      out.push({ atMs: t, phase });
    }
    startMs = endMs;
  });
  return out;
}

export const traceSeconds = (phases: readonly Phase[]): number => phases.reduce((sum, p) => sum + p.seconds, 0);

/** The trace's mean claim rate: what a fixed pool sized from the average demand is sized for. */
export const meanRate = (phases: readonly Phase[]): number => phases.reduce((sum, p) => sum + p.ratePerSecond * p.seconds, 0) / traceSeconds(phases);

/** One claim of a run, wall-clock milliseconds. */
export interface ClaimRecord {
  phase: number;
  /** When its create request returned: the claim exists from then (at the latest). */
  createdAtMs: number;
  /** When the client's watch first saw it Bound; undefined if it never was within the run. */
  boundAtMs?: number;
  /** The warmpool.dev/ready-at stamp of the member it was bound to: when that member became claimable. */
  memberReadyAtMs?: number;
}

/**
 * A claim waited when it found no ready member on arrival: the member it got became ready only after the claim
 * existed (its replacement was still warming), or it got none. A claim that found a ready member but was bound late
 * by a slow pass did not wait for a member: the pool's size was right, the machine was slow. undefined when the
 * member's ready stamp was not seen.
 */
export function waited(c: ClaimRecord): boolean | undefined {
  if (c.boundAtMs === undefined) return true;
  if (c.memberReadyAtMs === undefined) return undefined;
  return c.memberReadyAtMs > c.createdAtMs;
}

export interface PhaseResult {
  claims: number;
  waited: number;
}

export interface WaitSummary {
  claims: number;
  waited: number;
  /** Claims never bound within the run (counted in waited). */
  unbound: number;
  /** Claims whose member's ready stamp was not seen: left out of the share. */
  unknown: number;
  /** waited / (claims - unknown). */
  waitedShare: number;
  byPhase: PhaseResult[];
}

export function summarizeWaits(records: readonly ClaimRecord[], phases: number): WaitSummary {
  const byPhase: PhaseResult[] = Array.from({ length: phases }, () => ({ claims: 0, waited: 0 }));
  let w = 0;
  let unknown = 0;
  for (const r of records) {
    const v = waited(r);
    const ph = byPhase[r.phase];
    if (v === undefined) {
      unknown++;
      continue;
    }
    if (ph) ph.claims++;
    if (v) {
      w++;
      if (ph) ph.waited++;
    }
  }
  const known = records.length - unknown;
  return {
    claims: records.length,
    waited: w,
    unbound: records.filter((r) => r.boundAtMs === undefined).length,
    unknown,
    waitedShare: known === 0 ? Number.NaN : w / known,
    byPhase,
  };
}

/** Ready members integrated over time from status samples (a step function: each count holds until the next sample). */
export function integrateReady(samples: readonly { atMs: number; ready: number }[], fromMs: number, toMs: number): number {
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (!s) continue;
    const start = Math.max(s.atMs, fromMs);
    const end = Math.min(samples[i + 1]?.atMs ?? toMs, toMs);
    if (end > start) total += (s.ready * (end - start)) / 1000;
  }
  return total;
}
