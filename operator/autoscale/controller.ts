// The autoscaler's shell, keyed by pool: it measures (claim arrivals from the claim controller, the pool's warm-up and
// claimed count from its status, the clock for the schedule), lets planAutoscale decide, and writes the target to
// spec.targetSize through the scale subresource, as the HPA does, guarded by the pool's resourceVersion (409: plan
// again). Its decision and condition reach the pool's status through the pool controller's one status write
// (report()). At rest nothing is written: the target changes only with the plan, and the report only with it.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { poolResolver, type PoolDoor } from '../api/resolve.js';
import { POOL_RESOURCE, type AutoscalingStatus, type InstancePool } from '../api/types.js';
import type { ResolvedAutoscaling } from '../api/defaults.js';
import { isConflict, isNotFound } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import type { Cache } from '../kube/informer-set.js';
import { joinKey, splitKey } from '../kube/key.js';
import { customClient, type CustomClient } from '../kube/patch.js';
import { clampDelayMs } from '../kube/timers.js';
import type { ReconcileResult } from '../kube/workers.js';
import type { WorkQueue } from '../kube/workqueue.js';
import type { GaugeOf, PoolLabels } from '../metrics/registry.js';
import { planAutoscale, type AutoscalePlan } from './plan.js';
import { addArrival, newRate, rateAt, type RateState } from './rate.js';
import { scheduleFloor, type ScheduleFloor } from './schedule.js';
import { EMPTY_MAX, maxOf, pushMax, type SlidingMax } from './stabilize.js';

/** How often an Objective pool is planned again: its rate decays between arrivals, with no event to say so. */
export const OBJECTIVE_INTERVAL_MS = 1000;
/** Other pools are planned on their events, at each schedule minute and when the stabilization window lets go. */
const IDLE_INTERVAL_MS = 60_000;
/** After a lost race for the pool (409), plan again this soon, from the cache that shows the winner. */
const CONFLICT_REQUEUE_MS = 100;

/** What the pool controller writes for the autoscaler (pool/status.ts AutoscalingReport, structurally). */
export interface AutoscaleReport {
  status?: AutoscalingStatus;
  condition: { status: 'True' | 'False'; reason: string; message: string };
}

export interface AutoscaleMetrics {
  autoscaleTarget: GaugeOf<PoolLabels>;
  autoscaleClaimRate: GaugeOf<PoolLabels>;
  autoscaleWaitProbability: GaugeOf<PoolLabels>;
}

export interface AutoscalerDeps {
  /** The door pools go through (api/resolve.ts), shared with the other controllers that read pools; else its own. */
  resolvePool?: PoolDoor;
  custom: CustomObjectsApi;
  pools: Cache<InstancePool>;
  /** The autoscaler's own queue, keyed by pool. */
  queue: WorkQueue;
  /** The pool controller's queue: woken when the report changes, so its status write carries it. */
  poolQueue: Pick<WorkQueue, 'add'>;
  events: Pick<EventRecorder, 'record'>;
  metrics?: AutoscaleMetrics;
  now?: () => number;
}

interface PoolState {
  uid: string;
  rate: RateState;
  /** Recommendations of the stabilization window. */
  history: SlidingMax;
  /** The claim rate's recent peak, over the same window. */
  peak: SlidingMax;
  report?: AutoscaleReport;
  /** The schedule's floor, computed once per minute (it changes only at minute boundaries) and per spec. */
  schedule?: { minute: number; spec: ResolvedAutoscaling['schedule']; floor: ScheduleFloor };
}

/** metav1.Time's form: whole seconds, UTC. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const round = (n: number, digits: number): number => Number(n.toFixed(digits));
const significant = (n: number): number => (n === 0 ? 0 : Number(n.toPrecision(3)));

export class Autoscaler {
  private readonly now: () => number;
  private readonly state = new Map<string, PoolState>();
  private readonly resolve: PoolDoor;
  private readonly poolsApi: CustomClient<InstancePool>;

  constructor(private readonly d: AutoscalerDeps) {
    this.now = d.now ?? Date.now;
    this.resolve = d.resolvePool ?? poolResolver();
    this.poolsApi = customClient<InstancePool>(d.custom, POOL_RESOURCE);
  }

  register(): void {
    const enqueue = (p: InstancePool): void => {
      if (!p.metadata.namespace || !p.metadata.name) return;
      const key = joinKey(p.metadata.namespace, p.metadata.name);
      // A pool without autoscaling is of no concern, unless it just lost it (its state and series go).
      if (p.spec?.autoscaling !== undefined || this.state.has(key)) this.d.queue.add(key);
    };
    this.d.pools.onAdd(enqueue);
    this.d.pools.onUpdate(enqueue);
    this.d.pools.onDelete(enqueue);
  }

  /** Every autoscaled pool, once (leading again). */
  enqueueAll(): void {
    for (const p of this.d.pools.list()) {
      if (p.spec?.autoscaling !== undefined) this.d.queue.add(joinKey(p.metadata.namespace ?? '', p.metadata.name ?? ''));
    }
  }

  /** A new claim arrived for the pool (claim/arrivals.ts, through the claim controller): the rate's only input. */
  arrived(key: string, atMs: number): void {
    const { namespace, name } = splitKey(key);
    const pool = this.d.pools.get(name, namespace);
    const a = pool?.spec?.autoscaling;
    if (!pool || a === undefined) return;
    const s = this.stateFor(key, pool.metadata.uid ?? '', atMs);
    s.rate = addArrival(s.rate, atMs, (a.rateWindowSeconds ?? 60) * 1000);
  }

  /** The pool's report for its status write; undefined for a pool without autoscaling. */
  report(key: string): AutoscaleReport | undefined {
    return this.state.get(key)?.report;
  }

  private stateFor(key: string, uid: string, nowMs: number): PoolState {
    let s = this.state.get(key);
    if (!s || s.uid !== uid) {
      s = { uid, rate: newRate(nowMs), history: EMPTY_MAX, peak: EMPTY_MAX };
      this.state.set(key, s);
    }
    return s;
  }

  private forget(key: string): void {
    if (!this.state.delete(key)) return;
    const { namespace, name } = splitKey(key);
    const labels = { namespace, pool: name };
    this.d.metrics?.autoscaleTarget.remove(labels);
    this.d.metrics?.autoscaleClaimRate.remove(labels);
    this.d.metrics?.autoscaleWaitProbability.remove(labels);
    // The pool controller drops status.autoscaling and the condition at its next pass.
    this.d.poolQueue.add(key);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.d.pools.get(name, namespace);
    if (!cached || cached.spec?.autoscaling === undefined) {
      this.forget(key);
      return;
    }
    // The door: an invalid spec is the pool controller's to report (InvalidSpec); nothing is sized from it.
    const verdict = this.resolve(cached);
    const a = verdict.ok ? verdict.resolved.spec.autoscaling : undefined;
    if (!verdict.ok || a === undefined) return;
    const now = this.now();
    const s = this.stateFor(key, cached.metadata.uid ?? '', now);
    // A fresh state (a start, a failover) has seen no claims: the target it finds counts as recommended now, so the
    // stabilization window holds it while the rate builds up instead of emptying the pool at once.
    if (s.history.samples.length === 0) s.history = pushMax(EMPTY_MAX, now, verdict.spec.target, a.scaleDownStabilizationSeconds * 1000);

    const schedule = this.scheduleOf(s, a, now);
    const claimRate = a.mode === 'Objective' ? rateAt(s.rate, now, a.rateWindowSeconds * 1000) : 0;
    const plan = planAutoscale({
      autoscaling: a,
      nowMs: now,
      minSize: verdict.spec.minSize,
      maxSize: verdict.spec.maxSize,
      currentTarget: cached.spec.targetSize,
      claimRate,
      warmupSeconds: cached.status?.warmup?.averageSeconds,
      claimed: cached.status?.claimedCount ?? 0,
      scheduleFloor: schedule.floor,
      history: s.history,
    });
    s.history = plan.history;
    s.peak = pushMax(s.peak, now, claimRate, a.scaleDownStabilizationSeconds * 1000);
    this.observe(namespace, name, a, plan, claimRate);

    const condition: AutoscaleReport['condition'] =
      schedule.errors.length > 0
        ? { status: 'False', reason: 'InvalidSchedule', message: `schedule windows left out: ${schedule.errors.join('; ')}` }
        : { status: 'True', reason: a.mode, message: `the operator writes spec.targetSize (${a.mode}); status.autoscaling says why` };
    if (schedule.errors.length > 0) this.d.events.record(cached, 'Warning', 'InvalidSchedule', condition.message);

    // Paused, draining or going: the pool's size is not the autoscaler's to move now.
    const holds = cached.metadata.deletionTimestamp !== undefined || verdict.spec.paused || verdict.spec.drain;
    const change = !holds && plan.target !== cached.spec.targetSize;
    if (change) {
      try {
        await this.poolsApi.mergePatchScale({ namespace, name }, plan.target, cached.metadata.resourceVersion);
      } catch (err) {
        if (isConflict(err)) return { requeueAfterMs: CONFLICT_REQUEUE_MS };
        if (isNotFound(err)) return;
        throw err;
      }
      const up = plan.target > cached.spec.targetSize;
      this.d.events.record(cached, 'Normal', up ? 'AutoscaleUp' : 'AutoscaleDown', `targetSize ${cached.spec.targetSize} -> ${plan.target}: ${why(a, plan, claimRate, cached)}`);
    }
    // The record says why the target is what it is: made at each change, and once at the first decision (taken from
    // the status when it already says this target: a restart writes nothing).
    const shown = cached.status?.autoscaling;
    let record = s.report?.status;
    if (change) record = this.record(a, plan, s, claimRate, cached, rfc3339(now));
    else if (record === undefined) {
      record = shown?.target === cached.spec.targetSize ? shown : this.record(a, { ...plan, target: cached.spec.targetSize }, s, claimRate, cached, shown?.lastScaleTime);
    }
    const report: AutoscaleReport = { condition, ...(record && { status: record }) };
    if (JSON.stringify(report) !== JSON.stringify(s.report)) {
      s.report = report;
      this.d.poolQueue.add(key);
    }
    return { requeueAfterMs: clampDelayMs(this.nextPlanIn(a, plan, now)) };
  }

  private scheduleOf(s: PoolState, a: ResolvedAutoscaling, now: number): ScheduleFloor {
    const minute = Math.floor(now / 60_000);
    if (s.schedule?.minute !== minute || s.schedule.spec !== a.schedule) {
      s.schedule = { minute, spec: a.schedule, floor: scheduleFloor(a.schedule, now) };
    }
    return s.schedule.floor;
  }

  private record(a: ResolvedAutoscaling, plan: AutoscalePlan, s: PoolState, claimRate: number, pool: InstancePool, lastScaleTime: string | undefined): AutoscalingStatus {
    const warmup = pool.status?.warmup?.averageSeconds;
    return {
      target: plan.target,
      reason: plan.reason,
      floor: plan.floor,
      ...(a.mode === 'Objective' && { claimRate: round(claimRate, 3), peakClaimRate: round(maxOf(s.peak), 3) }),
      ...(a.mode === 'Objective' && warmup !== undefined && { warmupSeconds: round(warmup, 3) }),
      ...(a.mode === 'Proportional' && { claimed: pool.status?.claimedCount ?? 0 }),
      ...(plan.predictedWaitProbability !== undefined && { predictedWaitProbability: significant(plan.predictedWaitProbability) }),
      ...(lastScaleTime !== undefined && { lastScaleTime }),
    };
  }

  private observe(namespace: string, pool: string, a: ResolvedAutoscaling, plan: AutoscalePlan, claimRate: number): void {
    const m = this.d.metrics;
    if (!m) return;
    const labels = { namespace, pool };
    m.autoscaleTarget.set(labels, plan.target);
    if (a.mode === 'Objective') m.autoscaleClaimRate.set(labels, claimRate);
    if (plan.predictedWaitProbability !== undefined) m.autoscaleWaitProbability.set(labels, plan.predictedWaitProbability);
  }

  /** Objective: every second (the rate moves without events). Otherwise the next schedule minute or window release. */
  private nextPlanIn(a: ResolvedAutoscaling, plan: AutoscalePlan, now: number): number {
    if (a.mode === 'Objective') return OBJECTIVE_INTERVAL_MS;
    let next = IDLE_INTERVAL_MS;
    if (a.schedule.length > 0) next = Math.min(next, 60_000 - (now % 60_000) + 50);
    if (plan.releaseAtMs !== undefined) next = Math.min(next, plan.releaseAtMs - now + 50);
    return next;
  }
}

function why(a: ResolvedAutoscaling, plan: AutoscalePlan, claimRate: number, pool: InstancePool): string {
  if (plan.reason === 'Schedule') return `a schedule window raises the floor to ${plan.floor}`;
  if (plan.reason === 'MinSize') return `minSize ${plan.floor}`;
  if (a.mode === 'Proportional') return `${a.percentOfClaimed ?? 0}% of ${pool.status?.claimedCount ?? 0} claimed (${plan.reason})`;
  const p = plan.predictedWaitProbability;
  return (
    `${claimRate.toFixed(2)} claims/s, warm-up ${(pool.status?.warmup?.averageSeconds ?? 0).toFixed(2)} s, ` +
    `predicted wait probability ${p === undefined ? 'unknown' : significant(p)} (objective ${a.maxWaitProbability ?? 0}; ${plan.reason})`
  );
}
