// The pool planner: spec + observed members + a little controller memory -> actions and status. Pure: the clock,
// the failure history and the random source come in as inputs, so every rule is a table-driven test.
//
// One pass, in order (the Agones computeReconciliationAction shape: classify, count, then decide):
//   1. pool deleting or drain: delete every unclaimed member, create nothing;
//   2. invalid spec: act on nothing;
//   3. mark-ready every member whose pod is Ready while its label still says warming (also when paused);
//   4. paused, or expectations unsatisfied: stop here (a lagging cache must never make extra members);
//   5. delete failed members, warming timeouts, TTL-expired ready members (capped), excess warm members, drifted ones;
//   6. create the deficit, bounded by maxSize (claimed included) and by back-off after repeated failures.
import type { InstancePool, InstancePoolStatus, LifecycleClass } from '../api/types.js';
import type { MemberView } from '../member/members.js';
import type {
  DeleteReason,
  FailureAssessment,
  FailureRecord,
  PoolAction,
  RequeueWhy,
  ResolvedSpec,
} from './model.js';
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  DEFAULT_MAX_MEMBERS_PER_POOL,
  DRIFT_BATCH_FRACTION,
  FAILURE_THRESHOLD,
  FAILURE_WINDOW_MS,
  MAX_CREATES_PER_PASS,
  REQUEUE_FLOOR_MS,
  SLOW_START_INITIAL,
  TTL_JITTER,
  TTL_RECYCLE_FRACTION,
  TTL_RECYCLE_WINDOW_MS,
  isBackoffFailure,
  memberReadyPatch,
  memberRestedPatch,
} from './model.js';
import { clampDelayMs } from '../kube/timers.js';
import type { PoolMode } from './status.js';
import { computeStatus } from './status.js';

export interface PlanInput {
  pool: InstancePool;
  /** The pool's spec as resolved at the door (api/resolve.ts resolvePool): defaults applied, numbers safe. */
  spec: ResolvedSpec;
  members: readonly MemberView[];
  /** Epoch milliseconds. */
  now: number;
  /** Hash of the current pod template; members carry theirs in the template-hash label. */
  templateHash: string;
  /**
   * The shell's ReplicaSet-style expectations: every earlier create and delete has been observed. Creates not yet
   * observed are why it is false; the planner then creates and deletes nothing, so it needs no count of them.
   */
  expectationsSatisfied: boolean;
  /** This pool's recent errored deletes (the shell appends one per errored delete it carried out). */
  failureHistory: readonly FailureRecord[];
  /** TTL recycles the shell carried out in the last TTL_RECYCLE_WINDOW_MS. */
  recyclesInWindow: number;
  /** Seeded in tests; only spreads back-off requeues. */
  random: () => number;
  /** From the spec validator: non-empty means condition InvalidSpec and no action. */
  validationErrors?: readonly string[];
  /** The API server's reason for refusing the last member create, while it keeps refusing (Stalled CreateFailed). */
  createError?: string;
  /** The operator-wide cap on one pool's members (`--max-members-per-pool`); DEFAULT_MAX_MEMBERS_PER_POOL unset. */
  maxMembersPerPool?: number;
}

export interface PlanResult {
  /** Deletes, then mark-ready patches, then at most one create and at most one requeue. */
  actions: PoolAction[];
  status: InstancePoolStatus;
  /** The pool is being deleted and nothing of it is left: the shell may remove the finalizer. */
  finalizerRemovable: boolean;
  /** While the pool is being deleted: what the finalizer still waits for, e.g. "waiting for 2 claimed members". */
  waitingFor: string | undefined;
}

/** FNV-1a of the uid, finished with murmur3's avalanche, mapped to [0, 1): a member's stable share of the TTL jitter. */
export function uidFraction(uid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < uid.length; i++) {
    h ^= uid.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV alone spreads near-identical names (pod-1, pod-2, ...) poorly in its high bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** When a ready member goes stale: readyAt + ttl * (1 + up to TTL_JITTER), the jitter fixed by its uid. */
export function ttlExpiry(member: MemberView, readyTtlMs: number): number | undefined {
  const since = member.readyAt ?? member.createdAt;
  if (since === undefined) return undefined;
  return since + Math.round(readyTtlMs * (1 + TTL_JITTER * uidFraction(member.uid)));
}

export function assessFailures(
  history: readonly FailureRecord[],
  now: number,
  lifecycleClass: LifecycleClass = 'ephemeral',
): FailureAssessment {
  const recent = history
    .filter((r) => isBackoffFailure(r.reason, lifecycleClass) && now - r.at < FAILURE_WINDOW_MS)
    .sort((a, b) => a.at - b.at);
  const warmingTimeouts = recent.filter((r) => r.reason === 'warming-timeout').length;
  const evictions = recent.filter((r) => r.reason === 'evicted').length;
  const crashes = recent.length - warmingTimeouts - evictions;
  const last = recent[recent.length - 1];
  const kindOf = (r: FailureRecord | undefined): FailureAssessment['reason'] =>
    r?.reason === 'warming-timeout' ? 'WarmingTimeout' : r?.reason === 'evicted' ? 'Evicted' : 'CrashLooping';
  const tally: [FailureAssessment['reason'], number][] = [
    ['CrashLooping', crashes],
    ['WarmingTimeout', warmingTimeouts],
    ['Evicted', evictions],
  ];
  const most = Math.max(crashes, warmingTimeouts, evictions);
  const leaders = tally.filter(([, n]) => n === most).map(([kind]) => kind);
  const reason = leaders.includes(kindOf(last)) ? kindOf(last) : (leaders[0] ?? 'CrashLooping');
  const degraded = recent.length >= FAILURE_THRESHOLD;
  // The pool recovers once enough of the oldest failures have left the window to drop below the threshold.
  const pivot = recent[recent.length - FAILURE_THRESHOLD];
  return {
    recent: recent.length,
    warmingTimeouts,
    evictions,
    degraded,
    reason,
    backoffMs: degraded ? Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (recent.length - FAILURE_THRESHOLD)) : 0,
    lastAt: last?.at,
    recoversAt: degraded && pivot !== undefined ? pivot.at + FAILURE_WINDOW_MS : undefined,
  };
}

/**
 * The failure to record for a member the pool did not delete itself: one the API server evicted (Eviction API,
 * preemption, a NoExecute taint, node pressure) and removed. The pass may never see it (it can be gone before the
 * next pass), so the shell records it from the watch event. Undefined when it is not a back-off failure: not
 * evicted, a spot pool, or claimed (a claimed member is its claim's business).
 */
export function evictionFailure(member: MemberView, lifecycleClass: LifecycleClass, now: number): FailureRecord | undefined {
  if (!member.evicted || !isBackoffFailure('evicted', lifecycleClass)) return undefined;
  if (member.claimName !== undefined || member.claimUid !== undefined || member.stateLabel === 'claimed') return undefined;
  return { at: now, reason: 'evicted', uid: member.uid };
}

/**
 * Scale-down order, most expendable first (after the ReplicaSet controller's ranking): warming before ready;
 * unschedulable, then not yet bound to a node; on an old template; then the newest (the least warm-up invested,
 * and older ready members are the ones OldestReady claims take and TTL recycles); name breaks ties.
 */
export function scaleDownOrder(templateHash: string): (a: MemberView, b: MemberView) => number {
  const key = (m: MemberView): number[] => [
    m.phase === 'warming' ? 0 : 1,
    m.unschedulable ? 0 : 1,
    m.nodeName ? 1 : 0,
    m.templateHash === templateHash ? 1 : 0,
    -((m.phase === 'ready' ? m.readyAt : m.warmingStartedAt) ?? Number.MAX_SAFE_INTEGER),
  ];
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const d = (ka[i] ?? 0) - (kb[i] ?? 0);
      if (d !== 0) return d;
    }
    return a.name.localeCompare(b.name);
  };
}

/** The readyAt to stamp: lastTransitionTime has whole-second precision, so a prompt observation uses our clock. */
function readyStamp(member: MemberView, now: number): number {
  return member.readyAt !== undefined && now - member.readyAt >= 1000 ? member.readyAt : now;
}

/** What one pass accumulates. */
class Pass {
  readonly deletes: PoolAction[] = [];
  readonly marks: PoolAction[] = [];
  readonly deleted = new Set<string>();
  readonly stamped = new Map<string, number>();
  readonly timers: { at: number; why: RequeueWhy }[] = [];
  created = 0;
  errored = 0;
  /** Creation is stopped by members the scheduler cannot place. */
  heldUnschedulable = false;
  /** The operator's member limit keeps the pool below its target. */
  limitHit = false;

  delete(m: MemberView, reason: DeleteReason, errored: boolean): void {
    if (this.deleted.has(m.uid)) return;
    this.deleted.add(m.uid);
    if (errored) this.errored++;
    this.deletes.push({ kind: 'delete', pod: m.name, uid: m.uid, resourceVersion: m.resourceVersion, reason, errored });
  }

  timer(at: number, why: RequeueWhy): void {
    this.timers.push({ at, why });
  }

  live(members: readonly MemberView[]): MemberView[] {
    return members.filter((m) => m.phase !== 'terminating' && !this.deleted.has(m.uid));
  }
}

function isWarm(m: MemberView): boolean {
  return m.phase === 'warming' || m.phase === 'ready';
}

function deleteReasonOf(m: MemberView): DeleteReason {
  if (m.failure === 'Evicted') return 'evicted';
  if (m.failure === 'NotReady') return 'unhealthy';
  return 'failed';
}

/** The member limit as given, or the default; anything not a finite non-negative number reads as the default. */
export function memberLimit(input: Pick<PlanInput, 'maxMembersPerPool'>): number {
  const l = input.maxMembersPerPool;
  return typeof l === 'number' && Number.isFinite(l) && l >= 0 ? Math.floor(l) : DEFAULT_MAX_MEMBERS_PER_POOL;
}

/** Warm members the scheduler has not placed yet (no node), unschedulable ones included. */
function unplacedCount(live: readonly MemberView[]): number {
  return live.filter((m) => isWarm(m) && !m.nodeName).length;
}

/**
 * How many members this pass may create as far as placement goes (SLOW_START_INITIAL): none while any earlier
 * member waits for a node (held unschedulable or not yet looked at), else as many as are placed.
 */
export function slowStartWindow(live: readonly MemberView[]): number {
  if (unplacedCount(live) > 0) return 0;
  const placed = live.filter((m) => Boolean(m.nodeName)).length;
  return Math.max(SLOW_START_INITIAL, placed);
}

function replenish(
  pass: Pass,
  members: readonly MemberView[],
  spec: ResolvedSpec,
  input: PlanInput,
  failures: FailureAssessment,
): void {
  const { now, templateHash } = input;
  const limit = memberLimit(input);
  // The cost ceiling: maxSize, and never more than the operator lets one pool have.
  const ceiling = Math.min(spec.maxSize, limit);
  const target = Math.min(spec.target, ceiling);

  // Failed members are replaced; an evicted spot member is routine churn, not an error.
  for (const m of members) {
    if (m.phase !== 'failed') continue;
    const reason = deleteReasonOf(m);
    pass.delete(m, reason, !(reason === 'evicted' && spec.lifecycleClass === 'spot'));
  }

  // Warming timeouts. Unschedulable members are held instead: recreating them would only loop. The clock starts
  // when the member was scheduled, so one that waited for capacity gets its full warm-up once placed.
  for (const m of members) {
    if (m.phase !== 'warming' || m.unschedulable) continue;
    // A returned member resting (cooldown, reset) has its warm-up from the return on, after its cooldown.
    const started =
      m.resting !== undefined && m.returnedAt !== undefined
        ? m.returnedAt + spec.cooldownMs
        : Math.max(m.warmingStartedAt ?? -Infinity, m.scheduledAt ?? -Infinity);
    if (!Number.isFinite(started)) continue;
    const deadline = started + spec.warmingTimeoutMs;
    if (now >= deadline) pass.delete(m, 'warming-timeout', true);
    else pass.timer(deadline, 'warming-timeout');
  }

  // TTL: expire the stalest first, at most max(1, 10% of target) per window. Not while Degraded: a stale member
  // that works beats a hole the back-off would leave unfilled.
  if (spec.readyTtlMs > 0 && !failures.degraded) {
    const expiring = pass
      .live(members)
      .filter((m) => m.phase === 'ready')
      .map((m) => ({ m, at: ttlExpiry(m, spec.readyTtlMs) }))
      .filter((e): e is { m: MemberView; at: number } => e.at !== undefined)
      .sort((a, b) => a.at - b.at || a.m.name.localeCompare(b.m.name));
    const expired = expiring.filter((e) => e.at <= now);
    const allowed = Math.max(0, Math.max(1, Math.floor(TTL_RECYCLE_FRACTION * target)) - input.recyclesInWindow);
    for (const e of expired.slice(0, allowed)) pass.delete(e.m, 'ttl', false);
    if (expired.length > allowed) pass.timer(now + TTL_RECYCLE_WINDOW_MS, 'ttl-cap');
    const next = expiring.find((e) => e.at > now);
    if (next !== undefined) pass.timer(next.at, 'ttl');
  }

  // Warm members: held unschedulable ones count, so they are not recreated.
  const warmSets = () => {
    const warm = pass.live(members).filter(isWarm);
    const drifted = warm.filter((m) => m.templateHash !== templateHash);
    return { warm, drifted, total: warm.length, current: warm.length - drifted.length };
  };
  const order = scaleDownOrder(templateHash);

  // While old-template members remain, up to `batch` extra warm members are allowed (maxSurge-like). The surge must
  // not depend on how many new members exist, or the replacement just created would be scaled down again.
  let { drifted, total, current } = warmSets();
  const batch = drifted.length > 0 ? Math.max(1, Math.floor(DRIFT_BATCH_FRACTION * target)) : 0;
  const allowedWarm = target + Math.min(batch, drifted.length);

  // Scale down: warming before ready, never claimed (claimed members are not warm).
  const excess = total - allowedWarm;
  if (excess > 0) {
    for (const m of warmSets().warm.sort(order).slice(0, excess)) pass.delete(m, 'scale-down', false);
  }

  // Over the ceiling (maxSize lowered under the claimed members, or the operator's limit): unclaimed members go,
  // in scale-down order, so the pool runs no more pods than it may while its claims last.
  const over = pass.live(members).length - ceiling;
  if (over > 0) {
    for (const m of warmSets().warm.sort(order).slice(0, over)) pass.delete(m, 'scale-down', false);
  }

  // Template drift: old warming members go at once; old ready ones only from a ready surplus above target, so the
  // rollout never lowers what claims can take. Both within the batch.
  ({ drifted } = warmSets());
  let budget = batch;
  for (const m of drifted.filter((d) => d.phase === 'warming').sort(order).slice(0, budget)) {
    pass.delete(m, 'template-drift', false);
    budget--;
  }
  const readySurplus = warmSets().warm.filter((m) => m.phase === 'ready').length - target;
  const oldReady = drifted.filter((d) => d.phase === 'ready').sort(order);
  for (const m of oldReady.slice(0, Math.max(0, Math.min(budget, readySurplus)))) {
    pass.delete(m, 'template-drift', false);
    budget--;
  }

  // The ceiling caps every member, claimed and terminating ones included: a member in its grace period is still a
  // pod someone pays for, so its replacement waits until it is gone (TTL recycling or a rollout never runs past it).
  const capRoom = ceiling - members.length;
  // With no room to surge and nothing of the new template warming or terminating, the rollout would wait forever:
  // replace a batch in place instead (maxUnavailable-like); the replacements follow once those are gone.
  ({ drifted } = warmSets());
  const newWarming = pass.live(members).filter((m) => m.phase === 'warming' && m.templateHash === templateHash).length;
  const terminating = members.some((m) => m.phase === 'terminating');
  if (drifted.length > 0 && budget === batch && capRoom <= 0 && newWarming === 0 && !terminating) {
    for (const m of [...drifted].sort(order).slice(0, budget)) pass.delete(m, 'template-drift', false);
  }

  ({ total, current } = warmSets());
  const wanted = Math.min(target - current, allowedWarm - total);
  const live = pass.live(members);
  const window = slowStartWindow(live);
  pass.heldUnschedulable = wanted > 0 && live.some((m) => isWarm(m) && m.unschedulable);
  pass.limitHit = spec.target > limit || (wanted > 0 && limit < spec.maxSize && capRoom <= 0);
  let create = Math.min(wanted, capRoom, window, MAX_CREATES_PER_PASS);
  if (create > 0 && failures.degraded) {
    // Degraded: wait out the back-off after the last failure, then warm one probe member at a time.
    const resumeAt = (failures.lastAt ?? now) + failures.backoffMs;
    if (now < resumeAt) {
      pass.timer(resumeAt + (resumeAt - now) * 0.1 * input.random(), 'backoff');
      create = 0;
    } else if (newWarming > 0) {
      create = 0;
    } else {
      create = 1;
    }
  }
  pass.created = Math.max(0, create);
}

function markReady(pass: Pass, members: readonly MemberView[], now: number): void {
  for (const m of members) {
    if (m.phase !== 'ready' || m.stateLabel === 'ready' || pass.deleted.has(m.uid)) continue;
    const readyAt = readyStamp(m, now);
    pass.stamped.set(m.uid, readyAt);
    const iso = new Date(readyAt).toISOString();
    pass.marks.push({
      kind: 'mark-ready',
      pod: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      readyAt: iso,
      patch: memberReadyPatch(m.uid, iso),
      warmupSeconds: m.warmingStartedAt === undefined ? undefined : (readyAt - m.warmingStartedAt) / 1000,
    });
  }
}

/**
 * A returned member rests (state cooling or resetting) until reuse.cooldownSeconds have passed since its return
 * and, when resetting, its Ready condition turned True again after the return (so it went False in between); then,
 * Ready, it is labelled ready and may be handed out. Also while paused, as mark-ready.
 */
function releaseRested(pass: Pass, members: readonly MemberView[], spec: ResolvedSpec, now: number): void {
  for (const m of members) {
    if (m.resting === undefined || m.phase !== 'warming' || pass.deleted.has(m.uid)) continue;
    const cooled = (m.returnedAt ?? -Infinity) + spec.cooldownMs;
    if (cooled > now) {
      pass.timer(cooled, 'cooldown');
      continue;
    }
    // lastTransitionTime keeps whole seconds: a later second than the return's is a transition after it.
    const reset =
      m.resting !== 'resetting' || !spec.requireReset || m.returnedAt === undefined || (m.readySince ?? -Infinity) > m.returnedAt;
    if (!m.ready || !reset) continue;
    pass.marks.push({
      kind: 'mark-ready',
      pod: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      readyAt: new Date(m.readyAt ?? now).toISOString(),
      patch: memberRestedPatch(m.uid, m.resting),
      warmupSeconds: undefined,
    });
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What a deleting pool still waits for, or undefined when nothing is left. */
function waitingForMembers(pass: Pass, members: readonly MemberView[]): string | undefined {
  const claimed = members.filter((m) => m.phase === 'claimed').length;
  const terminating = members.filter((m) => m.phase === 'terminating' || pass.deleted.has(m.uid)).length;
  const undeleted = members.length - claimed - terminating;
  const parts: string[] = [];
  if (claimed > 0) parts.push(plural(claimed, 'claimed member'));
  if (terminating > 0) parts.push(plural(terminating, 'terminating member'));
  if (undeleted > 0) parts.push(`${plural(undeleted, 'unclaimed member')} to delete`);
  if (parts.length === 0) return undefined;
  return `waiting for ${parts.join(', ')}`;
}

export function planPool(input: PlanInput): PlanResult {
  const { pool, now, spec } = input;
  const members = [...input.members].sort((a, b) => a.name.localeCompare(b.name));
  const validationErrors = input.validationErrors ?? [];
  const failures = assessFailures(input.failureHistory, now, spec.lifecycleClass);
  const deleting = pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null;
  const mode: PoolMode = deleting ? 'terminating' : spec.drain ? 'draining' : spec.paused ? 'paused' : 'active';
  const invalid = !deleting && validationErrors.length > 0;
  const pass = new Pass();

  if (mode === 'terminating' || (mode === 'draining' && !invalid)) {
    if (input.expectationsSatisfied) {
      const reason: DeleteReason = mode === 'terminating' ? 'pool-deleting' : 'drain';
      for (const m of pass.live(members)) if (m.phase !== 'claimed') pass.delete(m, reason, false);
    }
  } else if (!invalid) {
    if (mode === 'active' && input.expectationsSatisfied) replenish(pass, members, spec, input, failures);
    markReady(pass, members, now);
    releaseRested(pass, members, spec, now);
  }

  let waitingFor: string | undefined;
  let finalizerRemovable = false;
  if (mode === 'terminating') {
    waitingFor = waitingForMembers(pass, members);
    finalizerRemovable = members.length === 0 && input.expectationsSatisfied;
    if (!finalizerRemovable && waitingFor === undefined) {
      waitingFor = 'waiting for earlier creates and deletes to be observed';
    }
  }
  if (failures.recoversAt !== undefined && !invalid && mode !== 'terminating') {
    pass.timer(failures.recoversAt, 'failure-window');
  }

  const after = members.map((m): MemberView => {
    if (pass.deleted.has(m.uid)) return { ...m, phase: 'terminating' };
    const stamped = pass.stamped.get(m.uid);
    return stamped === undefined ? m : { ...m, readyAt: stamped };
  });
  const status = computeStatus({
    pool,
    members: after,
    now,
    templateHash: input.templateHash,
    target: spec.target,
    mode,
    validationErrors,
    createError: input.createError,
    failures,
    pending: !input.expectationsSatisfied,
    deleted: pass.deleted.size,
    erroredThisPass: pass.errored,
    drifted: mode === 'active' ? after.filter((m) => isWarm(m) && m.templateHash !== input.templateHash).length : 0,
    waitingFor,
    memberLimit: memberLimit(input),
    limitHit: pass.limitHit,
    heldUnschedulable: pass.heldUnschedulable,
    maxSize: spec.maxSize,
  });

  const actions: PoolAction[] = [...pass.deletes, ...pass.marks];
  if (pass.created > 0) actions.push({ kind: 'create', count: pass.created });
  const earliest = [...pass.timers].sort((a, b) => a.at - b.at)[0];
  if (earliest !== undefined) {
    // At or above the floor, and within what a timer can hold (a far-off TTL wakes early and recomputes).
    const afterMs = clampDelayMs(Math.max(REQUEUE_FLOOR_MS, Math.ceil(earliest.at - now)));
    actions.push({ kind: 'requeue', afterMs, why: earliest.why });
  }
  return { actions, status, finalizerRemovable, waitingFor };
}
