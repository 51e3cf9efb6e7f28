// planAutoscale: the autoscaler's one decision, pure. From the pool's resolved autoscaling spec and what the shell
// measured (claim rate, warm-up, claimed members, the open schedule windows), the target to write to
// spec.targetSize, why, and the objective's prediction. The shell only measures, calls this and writes.
import type { ResolvedAutoscaling } from '../api/defaults.js';
import { objectiveSize, poissonTailAtLeast } from './poisson.js';
import { proportionalSize } from './proportional.js';
import { stabilize, type SlidingMax } from './stabilize.js';

/**
 * The reaction time R of the formula: from a bind to its replacement's creation (the operator plans the pool at
 * once; the create and the scheduler take the rest), as a margin on top of the measured warm-up. The README's Sizing
 * section says R is close to 0; a second covers a create under load and the scheduler.
 */
export const REACTION_SECONDS = 1;

/**
 * Objective only: a scale-down smaller than this share of the current target is not taken (the HPA's tolerance). The
 * rate is an estimate; without it the noise of a steady rate moved the target by one or two every few windows, each
 * move a write (simulated: 5/s Poisson arrivals, a 30 s rate window, 15 s stabilization: 23 moves in 8 minutes, 7 with
 * it; with the defaults, 60 s and 300 s, none either way).
 */
export const DOWN_TOLERANCE = 0.1;

export type AutoscaleReason =
  | 'Objective'
  | 'Proportional'
  | 'Schedule'
  | 'MinSize'
  | 'MaxSize'
  | 'Stabilized'
  | 'WithinTolerance'
  | 'WarmupUnknown';

export interface AutoscaleInputs {
  readonly autoscaling: ResolvedAutoscaling;
  readonly nowMs: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** spec.targetSize as stored (clamped into the bounds by the shell's resolve). */
  readonly currentTarget: number;
  /** Claims per second, exponentially weighted (rate.ts). */
  readonly claimRate: number;
  /** status.warmup.averageSeconds; undefined before any member was measured. */
  readonly warmupSeconds: number | undefined;
  /** Claimed members (status.claimedCount). */
  readonly claimed: number;
  /** The open schedule windows' floor (schedule.ts). */
  readonly scheduleFloor: number;
  /** The recommendations of the stabilization window so far. */
  readonly history: SlidingMax;
}

export interface AutoscalePlan {
  /** What to write to spec.targetSize. */
  readonly target: number;
  readonly reason: AutoscaleReason;
  /** The mode's own recommendation, before the floor, the ceiling and stabilization. */
  readonly recommendation: number;
  readonly floor: number;
  /** P[a claim finds no ready member] at this target and the claim rate (Objective, with a warm-up known). */
  readonly predictedWaitProbability?: number;
  readonly history: SlidingMax;
  /** When the stabilization window would let the target drop, if it is holding it up. */
  readonly releaseAtMs?: number;
}

function whole(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0;
}

export function planAutoscale(input: AutoscaleInputs): AutoscalePlan {
  const a = input.autoscaling;
  const maxSize = whole(input.maxSize);
  const minSize = Math.min(whole(input.minSize), maxSize);
  const floor = Math.min(Math.max(minSize, whole(input.scheduleFloor)), maxSize);
  const warmup = input.warmupSeconds !== undefined && Number.isFinite(input.warmupSeconds) ? Math.max(0, input.warmupSeconds) : undefined;
  const mean = warmup === undefined ? undefined : Math.max(0, input.claimRate) * (warmup + REACTION_SECONDS);

  let recommendation: number;
  let modeReason: AutoscaleReason;
  if (a.mode === 'Proportional') {
    recommendation = proportionalSize(input.claimed, a.percentOfClaimed ?? 0);
    modeReason = 'Proportional';
  } else if (mean === undefined) {
    // No member measured yet: nothing to size from. Hold what is there (within the bounds) until one is.
    recommendation = Math.min(Math.max(whole(input.currentTarget), floor), maxSize);
    modeReason = 'WarmupUnknown';
  } else {
    recommendation = objectiveSize(mean, a.maxWaitProbability ?? 0, maxSize);
    modeReason = 'Objective';
  }

  const bounded = Math.min(Math.max(recommendation, floor), maxSize);
  const stabilized = stabilize({ history: input.history, nowMs: input.nowMs, windowMs: a.scaleDownStabilizationSeconds * 1000, recommendation: bounded });
  const current = Math.min(Math.max(whole(input.currentTarget), floor), maxSize);
  const tolerated = a.mode === 'Objective' && stabilized.target < current && current - stabilized.target <= DOWN_TOLERANCE * current;
  const target = tolerated ? current : stabilized.target;
  let reason: AutoscaleReason = modeReason;
  if (tolerated) reason = 'WithinTolerance';
  else if (target > bounded) reason = 'Stabilized';
  else if (recommendation >= maxSize && recommendation > floor && modeReason !== 'WarmupUnknown') reason = 'MaxSize';
  else if (recommendation < floor) reason = floor > minSize ? 'Schedule' : 'MinSize';

  return {
    target,
    reason,
    recommendation,
    floor,
    ...(mean !== undefined && a.mode === 'Objective' && { predictedWaitProbability: poissonTailAtLeast(mean, target) }),
    history: stabilized.history,
    ...(stabilized.releaseAtMs !== undefined && stabilized.target > bounded && { releaseAtMs: stabilized.releaseAtMs }),
  };
}
