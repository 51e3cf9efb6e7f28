// planAutoscale: the modes, the floor (minSize and the schedule), the ceiling, the stabilization window and the
// Objective's tolerance, table-driven with named fields.
import type { ResolvedAutoscaling } from '../api/defaults.js';
import { planAutoscale, type AutoscaleInputs, type AutoscaleReason } from './plan.js';
import { objectiveSize, poissonTailAtLeast } from './poisson.js';
import { EMPTY_MAX, pushMax, type SlidingMax } from './stabilize.js';

const objective: ResolvedAutoscaling = { mode: 'Objective', maxWaitProbability: 0.01, rateWindowSeconds: 60, scaleDownStabilizationSeconds: 30, schedule: [] };
const proportional: ResolvedAutoscaling = { mode: 'Proportional', percentOfClaimed: 50, rateWindowSeconds: 60, scaleDownStabilizationSeconds: 0, schedule: [] };
const NOW = 1_000_000;

function inputs(over: Partial<AutoscaleInputs>): AutoscaleInputs {
  return {
    autoscaling: objective,
    nowMs: NOW,
    minSize: 0,
    maxSize: 100,
    currentTarget: 0,
    claimRate: 0,
    warmupSeconds: 2,
    claimed: 0,
    scheduleFloor: 0,
    history: EMPTY_MAX,
    ...over,
  };
}

/** A history whose maximum, recommended `agoMs` before NOW, is `value`. */
const held = (value: number, agoMs: number): SlidingMax => pushMax(EMPTY_MAX, NOW - agoMs, value, 3_600_000);

describe('planAutoscale', () => {
  test.each<{ name: string; over: Partial<AutoscaleInputs>; target: number; reason: AutoscaleReason; recommendation?: number }>([
    // Proportional: the acceptance's 50% rows.
    { name: 'Proportional 50% of 10 claimed', over: { autoscaling: proportional, claimed: 10 }, target: 5, reason: 'Proportional' },
    { name: 'Proportional 50% of 20 claimed', over: { autoscaling: proportional, claimed: 20 }, target: 10, reason: 'Proportional' },
    { name: 'Proportional never below minSize', over: { autoscaling: proportional, claimed: 2, minSize: 3 }, target: 3, reason: 'MinSize', recommendation: 1 },
    { name: 'Proportional capped at maxSize', over: { autoscaling: proportional, claimed: 300, maxSize: 40 }, target: 40, reason: 'MaxSize', recommendation: 150 },
    { name: 'Proportional ignores the claim rate', over: { autoscaling: proportional, claimed: 4, claimRate: 50 }, target: 2, reason: 'Proportional' },
    { name: 'Proportional scales down at once with window 0', over: { autoscaling: proportional, claimed: 10, currentTarget: 10 }, target: 5, reason: 'Proportional' },
    // Objective: n from the Poisson tail of rate x (warm-up + 1 s).
    { name: 'Objective 5/s, warm-up 2 s', over: { claimRate: 5 }, target: 26, reason: 'Objective' },
    { name: 'Objective 0.5/s, warm-up 2 s', over: { claimRate: 0.5 }, target: 6, reason: 'Objective' },
    { name: 'Objective with no claims', over: { claimRate: 0 }, target: 0, reason: 'Objective' },
    { name: 'Objective floor from minSize', over: { claimRate: 0, minSize: 2 }, target: 2, reason: 'MinSize' },
    { name: 'Objective capped at maxSize', over: { claimRate: 50, maxSize: 30 }, target: 30, reason: 'MaxSize' },
    { name: 'Objective before any warm-up is measured holds the target', over: { claimRate: 5, warmupSeconds: undefined, currentTarget: 4 }, target: 4, reason: 'WarmupUnknown' },
    { name: 'held target is brought into the bounds', over: { claimRate: 5, warmupSeconds: undefined, currentTarget: 400 }, target: 100, reason: 'WarmupUnknown' },
    // The schedule raises the floor, within maxSize.
    { name: 'a schedule window raises the floor', over: { claimRate: 0.5, scheduleFloor: 12 }, target: 12, reason: 'Schedule', recommendation: 6 },
    { name: 'a schedule window below the recommendation changes nothing', over: { claimRate: 5, scheduleFloor: 12 }, target: 26, reason: 'Objective' },
    { name: 'a schedule floor past maxSize stops at maxSize', over: { claimRate: 0, scheduleFloor: 500, maxSize: 50 }, target: 50, reason: 'Schedule' },
    // Stabilization: down only once the window's highest recommendation has left it.
    { name: 'a drop within the window is held', over: { claimRate: 0.5, currentTarget: 26, history: held(26, 29_000) }, target: 26, reason: 'Stabilized' },
    { name: 'a drop after the window is taken', over: { claimRate: 0.5, currentTarget: 26, history: held(26, 30_000) }, target: 6, reason: 'Objective' },
    { name: 'up is never held', over: { claimRate: 5, currentTarget: 6, history: held(6, 1000) }, target: 26, reason: 'Objective' },
    // The tolerance: a small scale-down of the Objective is not worth a write.
    { name: 'a drop of 10% or less is not taken', over: { claimRate: 4.6, currentTarget: 26 }, target: 26, reason: 'WithinTolerance', recommendation: 24 },
    { name: 'a larger drop is', over: { claimRate: 4, currentTarget: 26 }, target: 22, reason: 'Objective' },
    // Hostile numbers.
    { name: 'NaN rate reads as no claims', over: { claimRate: Number.NaN }, target: 0, reason: 'Objective' },
    { name: 'infinite rate stops at maxSize', over: { claimRate: Number.POSITIVE_INFINITY }, target: 100, reason: 'MaxSize' },
    { name: 'negative warm-up reads as 0 (reaction time only)', over: { claimRate: 5, warmupSeconds: -3 }, target: objectiveSize(5, 0.01, 100), reason: 'Objective' },
    { name: 'minSize above maxSize stops at maxSize', over: { claimRate: 0, minSize: 9, maxSize: 4 }, target: 4, reason: 'MinSize' },
  ])('$name', ({ over, target, reason, recommendation }) => {
    const p = planAutoscale(inputs(over));
    expect(p.target).toBe(target);
    expect(p.reason).toBe(reason);
    if (recommendation !== undefined) expect(p.recommendation).toBe(recommendation);
  });

  test('the prediction is the Poisson tail at the chosen target; none for Proportional or an unknown warm-up', () => {
    const p = planAutoscale(inputs({ claimRate: 5 }));
    expect(p.predictedWaitProbability).toBeCloseTo(poissonTailAtLeast(15, 26), 12);
    expect(p.predictedWaitProbability).toBeLessThanOrEqual(0.01);
    expect(planAutoscale(inputs({ autoscaling: proportional, claimed: 4 })).predictedWaitProbability).toBeUndefined();
    expect(planAutoscale(inputs({ warmupSeconds: undefined })).predictedWaitProbability).toBeUndefined();
  });

  test('a run: up at once, held through the window after the rate drops, then down', () => {
    let history = EMPTY_MAX;
    let current = 0;
    const seen: { atS: number; target: number }[] = [];
    for (let s = 0; s <= 60; s++) {
      const claimRate = s < 20 ? 5 : 0.5;
      const p = planAutoscale(inputs({ nowMs: s * 1000, claimRate, currentTarget: current, history }));
      history = p.history;
      if (p.target !== current) seen.push({ atS: s, target: p.target });
      current = p.target;
    }
    // The window is 30 s: the last recommendation of 26 was at 19 s, so 26 holds until 49 s.
    expect(seen).toEqual([
      { atS: 0, target: 26 },
      { atS: 49, target: 6 },
    ]);
  });
});
