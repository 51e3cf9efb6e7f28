// The pool's status, computed from its members and the facts of one planning pass. Pure and deterministic: at rest
// the same inputs give an equal status, so the shell (comparing with statusEqual) writes nothing.
import { setCondition } from '../api/conditions.js';
import type { AutoscalingStatus, BlockingClaims, Condition, InstancePool, InstancePoolStatus, PoolPhase, WarmupStatus } from '../api/types.js';
import { BLOCKING_NAMES_MAX } from '../api/defaults.js';
import { LABEL_POOL } from '../api/types.js';
import type { MemberView } from '../member/members.js';
import type { FailureAssessment } from './model.js';
import { FAILURE_WINDOW_MS, WARMUP_SAMPLES } from './model.js';

export type PoolMode = 'active' | 'paused' | 'draining' | 'terminating';

export interface StatusFacts {
  /** The pool as this controller's last status write leaves it, until the cache shows that write (own-status.ts). */
  pool: InstancePool;
  /** Members as the pass leaves them: planned deletions already terminating, planned mark-ready stamped. */
  members: readonly MemberView[];
  now: number;
  templateHash: string;
  target: number;
  mode: PoolMode;
  validationErrors: readonly string[];
  /** The API server refused the last member create for a reason a retry will not fix (e.g. 422, 403). */
  createError?: string;
  failures: FailureAssessment;
  /** Creates or deletes were issued earlier and are not observed yet (the shell's expectations). */
  pending: boolean;
  /** Members this pass deletes. */
  deleted: number;
  erroredThisPass: number;
  /** Warm members whose template hash is not the current one. */
  drifted: number;
  /** For mode terminating: what the finalizer waits for. */
  waitingFor: string | undefined;
  /** The operator-wide cap on one pool's members (--max-members-per-pool); unset: no limit reported. */
  memberLimit?: number;
  /** The member limit keeps the pool below its target (Stalled MemberLimitExceeded). */
  limitHit?: boolean;
  /** Creation waits because members the scheduler cannot place are held. */
  heldUnschedulable?: boolean;
  /** spec.maxSize as resolved (defaults applied): the cost ceiling. */
  maxSize?: number;
}

/**
 * The status fields the pool planner computes. pendingClaims is the claim controller's; utilization is measured by
 * the scraper and added by the pool controller's shell (writtenStatus).
 */
export const OWNED_STATUS_FIELDS = [
  'phase',
  'observedGeneration',
  'targetSize',
  'warmingCount',
  'readyCount',
  'claimedCount',
  'erroredCount',
  'replicas',
  'selector',
  'conditions',
  'warmup',
  'templateHash',
  'blockingClaims',
  'drainStartedAt',
] as const satisfies readonly (keyof InstancePoolStatus)[];

export function ownedStatus(status: InstancePoolStatus | undefined): InstancePoolStatus {
  const out: Record<string, unknown> = {};
  for (const field of OWNED_STATUS_FIELDS) {
    if (status?.[field] !== undefined) out[field] = status[field];
  }
  return out;
}

/**
 * What the pool controller writes of a status: the planner's fields, utilization and the autoscaler's decision
 * (status.autoscaling), for its no-op check.
 */
export function writtenStatus(status: InstancePoolStatus | undefined): InstancePoolStatus {
  const out = ownedStatus(status);
  if (status?.utilization !== undefined) out.utilization = status.utilization;
  if (status?.autoscaling !== undefined) out.autoscaling = status.autoscaling;
  return out;
}

/** The condition the autoscaler reports on its pools (status.ts keeps condition types it does not compute). */
export const AUTOSCALING_CONDITION = 'AutoscalingActive';

/** What the autoscaler says about a pool: its last decision and its condition; undefined for a pool without autoscaling. */
export interface AutoscalingReport {
  status?: AutoscalingStatus;
  condition: { status: 'True' | 'False'; reason: string; message: string };
}

/**
 * The status with the autoscaler's report: status.autoscaling and the AutoscalingActive condition set, or both
 * dropped when the pool has no autoscaling (the status patch then removes status.autoscaling, see withRemovals).
 */
export function withAutoscaling(status: InstancePoolStatus, report: AutoscalingReport | undefined, generation: number | undefined, now: number): InstancePoolStatus {
  const rest: InstancePoolStatus = { ...status };
  delete rest.autoscaling;
  if (!report) {
    const conditions = status.conditions?.filter((c) => c.type !== AUTOSCALING_CONDITION);
    return { ...rest, ...(conditions && { conditions }) };
  }
  const conditions = setCondition(
    status.conditions,
    { type: AUTOSCALING_CONDITION, ...report.condition, ...(generation !== undefined && { observedGeneration: generation }) },
    new Date(now),
  );
  return { ...rest, conditions, ...(report.status && { autoscaling: report.status }) };
}

interface ConditionSpec {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function computeWarmup(members: readonly MemberView[]): WarmupStatus | undefined {
  const samples = members
    .flatMap((m) => {
      const { readyAt, warmingStartedAt: started } = m;
      if ((m.phase !== 'ready' && m.phase !== 'claimed') || readyAt === undefined || started === undefined) return [];
      return [{ name: m.name, readyAt, seconds: (readyAt - started) / 1000 }];
    })
    .filter((s) => s.seconds >= 0)
    .sort((a, b) => b.readyAt - a.readyAt || a.name.localeCompare(b.name))
    .slice(0, WARMUP_SAMPLES);
  const latest = samples[0];
  if (latest === undefined) return undefined;
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const mean = samples.reduce((sum, s) => sum + s.seconds, 0) / samples.length;
  return { lastSeconds: round(latest.seconds), averageSeconds: round(mean), samples: samples.length };
}

function phaseOf(mode: PoolMode): PoolPhase {
  switch (mode) {
    case 'active':
      return 'Active';
    case 'paused':
      return 'Paused';
    case 'draining':
      return 'Draining';
    case 'terminating':
      return 'Terminating';
  }
}

interface Counts {
  /** The claims holding members, by name. */
  blocking: string[];
  warming: number;
  ready: number;
  claimed: number;
  /** Unclaimed members not yet terminating (warm or failed). */
  unclaimed: number;
  /** Members not terminating, claimed included: what the cost ceiling caps. */
  live: number;
  unschedulable: MemberView[];
}

function countMembers(members: readonly MemberView[]): Counts {
  const counts: Counts = { blocking: [], warming: 0, ready: 0, claimed: 0, unclaimed: 0, live: 0, unschedulable: [] };
  const holders = new Set<string>();
  for (const m of members) {
    if (m.phase === 'warming') counts.warming++;
    if (m.phase === 'ready') counts.ready++;
    if (m.phase === 'claimed') counts.claimed++;
    if (m.phase === 'claimed' && m.claimName !== undefined) holders.add(m.claimName);
    if (m.phase === 'warming' || m.phase === 'ready' || m.phase === 'failed') counts.unclaimed++;
    if (m.phase !== 'terminating') counts.live++;
    if (m.phase === 'warming' && m.unschedulable) counts.unschedulable.push(m);
  }
  counts.unschedulable.sort((a, b) => a.name.localeCompare(b.name));
  counts.blocking = [...holders].sort();
  return counts;
}

/** The condition messages name this many of the claims a drain or deletion waits for. */
const HOLDERS_NAMED = 3;

/** The message, and which claims hold the members it waits for (the first few by name). */
function withHolders(message: string, holders: readonly string[]): string {
  if (holders.length === 0) return message;
  const named = holders.slice(0, HOLDERS_NAMED).join(', ');
  const more = holders.length > HOLDERS_NAMED ? ` and ${holders.length - HOLDERS_NAMED} more` : '';
  return `${message}; held by ${holders.length === 1 ? 'claim' : 'claims'} ${named}${more}`;
}

/** status.blockingClaims: every claim counted, the first BLOCKING_NAMES_MAX named. */
export function blockingClaims(holders: readonly string[]): BlockingClaims {
  return { count: holders.length, names: holders.slice(0, BLOCKING_NAMES_MAX) };
}

/** The ceiling the pool is over, and what it is called, when its live members exceed it. */
function overCeiling(f: StatusFacts, c: Counts): string | undefined {
  if (f.mode === 'terminating' || f.maxSize === undefined) return undefined;
  const limit = f.memberLimit ?? Infinity;
  const [ceiling, name] = limit < f.maxSize ? [limit, "the operator's limit (--max-members-per-pool)"] : [f.maxSize, 'maxSize'];
  if (c.live <= ceiling) return undefined;
  return (
    `${plural(c.live, 'member')} (${c.claimed} claimed) over ${name} of ${ceiling}: ` +
    'no member is created and unclaimed ones are deleted until claims end'
  );
}

function degradedCondition(f: StatusFacts, c: Counts): ConditionSpec {
  const parts: string[] = [];
  if (f.failures.degraded) {
    const crashes = f.failures.recent - f.failures.warmingTimeouts - f.failures.evictions;
    const evictions = f.failures.evictions > 0 ? `, ${plural(f.failures.evictions, 'eviction')}` : '';
    parts.push(
      `${plural(f.failures.recent, 'member failure')} in the last ${FAILURE_WINDOW_MS / 60_000}m ` +
        `(${plural(f.failures.warmingTimeouts, 'warming timeout')}, ${plural(crashes, 'crash', 'crashes')}${evictions}); ` +
        `replacements back off ${Math.round(f.failures.backoffMs / 1000)}s and go one at a time`,
    );
  }
  const first = c.unschedulable[0];
  if (first !== undefined) {
    const why = first.unschedulableMessage ? `: ${first.unschedulableMessage}` : '';
    const held = f.heldUnschedulable ? '; no more are created until they are' : '';
    parts.push(`${plural(c.unschedulable.length, 'warming member')} unschedulable, held (${first.name}${why})${held}`);
  }
  const over = overCeiling(f, c);
  if (over !== undefined) parts.push(over);
  if (parts.length === 0) return { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'members are healthy' };
  const reason = f.failures.degraded ? f.failures.reason : first !== undefined ? 'Unschedulable' : 'OverCeiling';
  return { type: 'Degraded', status: 'True', reason, message: parts.join('; ') };
}

/** Why the member limit holds the pool below target, naming the limit and the flag that sets it. */
function limitMessage(f: StatusFacts, c: Counts): string {
  const limit = `the operator's limit of ${f.memberLimit ?? 0} members per pool (--max-members-per-pool)`;
  if (f.target > (f.memberLimit ?? Infinity)) return `targetSize ${f.target} is above ${limit}`;
  return `${plural(c.live, 'member')} (${c.claimed} claimed) reach ${limit}; targetSize ${f.target} cannot be reached`;
}

function reconcilingCondition(f: StatusFacts, c: Counts, warm: number): ConditionSpec {
  const on = (reason: string, message: string): ConditionSpec => ({ type: 'Reconciling', status: 'True', reason, message });
  const off = (reason: string, message: string): ConditionSpec => ({ type: 'Reconciling', status: 'False', reason, message });
  if (f.mode === 'terminating') return on('Terminating', withHolders(f.waitingFor ?? 'deleting members', c.blocking));
  if (f.validationErrors.length > 0) return off('InvalidSpec', 'the spec must be fixed first');
  if (f.mode === 'paused') return off('Paused', 'replenishment is paused');
  // Retrying will not help until someone fixes the template or the quota: not in progress, stalled (kstatus reads
  // Reconciling=True as in progress whatever Stalled says).
  if (f.mode === 'active' && f.createError !== undefined && c.ready < f.target) return off('CreateFailed', f.createError);
  if (f.mode === 'draining') {
    return c.unclaimed > 0 || f.deleted > 0 || f.pending
      ? on('Draining', withHolders(`deleting ${plural(c.unclaimed + f.deleted, 'unclaimed member')}`, c.blocking))
      : off('Drained', withHolders(`no unclaimed members; ${plural(c.claimed, 'claimed member')} left to their claims`, c.blocking));
  }
  if (f.pending) return on('AwaitingMembers', 'waiting to observe earlier creates and deletes');
  if (f.drifted > 0) return on('RollingOut', `${plural(f.drifted, 'warm member')} on an older template`);
  const reachable = Math.min(f.target, f.memberLimit ?? Infinity);
  if (warm < reachable && f.mode === 'active' && f.heldUnschedulable) {
    // Not in progress: nothing more is created until the scheduler places the held members (kstatus reads
    // Reconciling=True as in progress whatever Stalled says).
    return off('Unschedulable', `${warm} of ${f.target} warm members; creation waits for the held members to be scheduled`);
  }
  if (warm < reachable) return on('ScalingUp', `${warm} of ${f.target} warm members`);
  if (f.mode === 'active' && f.limitHit === true && warm < f.target) return off('MemberLimitExceeded', limitMessage(f, c));
  if (warm > f.target) return on('ScalingDown', `${warm} of ${f.target} warm members`);
  if (f.deleted > 0) return on('Recycling', `replacing ${plural(f.deleted, 'member')}`);
  if (c.ready < f.target && c.warming > c.unschedulable.length) {
    return on('WarmingUp', `${c.ready} of ${f.target} members ready`);
  }
  return off('Reconciled', `${warm} of ${f.target} warm members`);
}

function buildConditions(f: StatusFacts, c: Counts): ConditionSpec[] {
  const warm = c.warming + c.ready;
  const degraded = degradedCondition(f, c);
  const reconciling = reconcilingCondition(f, c, warm);

  let stalled: ConditionSpec = { type: 'Stalled', status: 'False', reason: 'AsExpected', message: 'making progress' };
  if (f.validationErrors.length > 0) {
    stalled = { type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: f.validationErrors.join('; ') };
  } else if (f.mode === 'active' && f.createError !== undefined && c.ready < f.target) {
    stalled = { type: 'Stalled', status: 'True', reason: 'CreateFailed', message: f.createError };
  } else if (f.mode === 'active' && f.limitHit === true) {
    stalled = { type: 'Stalled', status: 'True', reason: 'MemberLimitExceeded', message: limitMessage(f, c) };
  } else if (f.mode === 'active' && degraded.status === 'True' && degraded.reason !== 'OverCeiling' && c.ready < f.target) {
    stalled = { type: 'Stalled', status: 'True', reason: degraded.reason, message: degraded.message };
  }

  const readyMsg = `${c.ready} of ${f.target} members ready`;
  let ready: ConditionSpec;
  if (f.mode === 'terminating') {
    ready = { type: 'Ready', status: 'False', reason: 'Terminating', message: 'the pool is being deleted' };
  } else if (f.validationErrors.length > 0) {
    ready = { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: stalled.message };
  } else if (f.mode === 'draining') {
    // Draining means a warm target of zero: Ready once no unclaimed member is left, so GitOps tools see it settle.
    ready =
      reconciling.status === 'False'
        ? { type: 'Ready', status: 'True', reason: 'Drained', message: reconciling.message }
        : { type: 'Ready', status: 'False', reason: 'Draining', message: reconciling.message };
  } else if (c.ready >= f.target && reconciling.status === 'False' && stalled.status === 'False') {
    ready = { type: 'Ready', status: 'True', reason: 'TargetReached', message: readyMsg };
  } else {
    // kstatus: Ready only when reconciled; otherwise say what holds it back.
    const reason = stalled.status === 'True' ? stalled.reason : c.ready < f.target ? 'NotEnoughReady' : reconciling.reason;
    ready = { type: 'Ready', status: 'False', reason, message: readyMsg };
  }
  return [ready, reconciling, stalled, degraded];
}

/** lastTransitionTime moves only when a condition's status changes (setCondition); other types are kept. */
function withTransitions(
  specs: ConditionSpec[],
  previous: Condition[] | undefined,
  now: number,
  generation: number | undefined,
): Condition[] {
  return specs.reduce<Condition[]>((list, spec) => {
    const update = generation === undefined ? spec : { ...spec, observedGeneration: generation };
    return setCondition(list, update, new Date(now));
  }, previous ?? []);
}

/**
 * erroredCount is cumulative: the pool's count (the larger of the cached and our last written one, see
 * own-status.ts) plus this pass's errored deletes.
 * A failed member is counted once, when the plan deletes it: afterwards it is terminating (or gone) and the shell's
 * deletion expectations keep the next pass from acting before the cache shows that.
 */
export function computeStatus(f: StatusFacts): InstancePoolStatus {
  const c = countMembers(f.members);
  const previous = f.pool.status;
  const generation = f.pool.metadata.generation;
  const erroredBase = f.pool.status?.erroredCount ?? 0;
  const status: InstancePoolStatus = {
    phase: phaseOf(f.mode),
    targetSize: f.target,
    warmingCount: c.warming,
    readyCount: c.ready,
    claimedCount: c.claimed,
    erroredCount: erroredBase + f.erroredThisPass,
    replicas: c.warming + c.ready,
    selector: `${LABEL_POOL}=${f.pool.metadata.name ?? ''}`,
    conditions: withTransitions(buildConditions(f, c), previous?.conditions, f.now, generation),
    templateHash: f.templateHash,
  };
  if (generation !== undefined) status.observedGeneration = generation;
  const warmup = computeWarmup(f.members);
  if (warmup !== undefined) status.warmup = warmup;
  // A drain or deletion waits for the claims that hold members: say which (names capped, all counted).
  if ((f.mode === 'draining' || f.mode === 'terminating') && c.blocking.length > 0) status.blockingClaims = blockingClaims(c.blocking);
  // The drain deadline counts from the first pass that saw the drain; kept while it lasts (our overlay shows it
  // before the cache does), gone once the pool is active again.
  if (f.mode === 'draining') status.drainStartedAt = previous?.drainStartedAt ?? new Date(f.now).toISOString();
  return status;
}

/**
 * Equal as JSON text would be (a key whose value is undefined does not count, a Date is its ISO string, an undefined
 * array element or a number that is not finite is null), without making the text: statuses are compared several
 * times per pass, and serializing them was a tenth of what the operator allocated per claim at 10,000 members (make
 * bench-scale). `skip` is a top-level key left out.
 */
function sameJson(a: unknown, b: unknown, skip?: string): boolean {
  if (a === b) return true;
  if (a instanceof Date) return sameJson(a.toISOString(), b);
  if (b instanceof Date) return sameJson(a, b.toISOString());
  const x = asJsonNull(a);
  const y = asJsonNull(b);
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  const xr = x as Record<string, unknown>;
  const yr = y as Record<string, unknown>;
  let keys = 0;
  for (const key of Object.keys(xr)) {
    if (key === skip || xr[key] === undefined) continue;
    keys++;
    if (yr[key] === undefined || !Object.hasOwn(yr, key) || !sameJson(xr[key], yr[key])) return false;
  }
  for (const key of Object.keys(yr)) if (key !== skip && yr[key] !== undefined) keys--;
  return keys === 0;
}

/** What JSON writes null for: undefined (as an array element) and numbers that are not finite. */
function asJsonNull(v: unknown): unknown {
  return v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v;
}

const byType = (x: { type: string }, y: { type: string }): number => x.type.localeCompare(y.type);

/**
 * Deep equality of two statuses, blind only to the order of conditions (and to keys whose value is undefined).
 * lastTransitionTime is compared: computeStatus carries it over, so it only differs on a real transition.
 */
export function statusEqual(a: InstancePoolStatus | undefined, b: InstancePoolStatus | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  if (!sameJson(x, y, 'conditions')) return false;
  const cx = x.conditions;
  const cy = y.conditions;
  if (!Array.isArray(cx) || !Array.isArray(cy)) return cx === cy;
  return cx.length === cy.length && sameJson([...cx].sort(byType), [...cy].sort(byType));
}
