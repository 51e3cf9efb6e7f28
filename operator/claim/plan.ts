// The claim planner: one pass over all claims of one pool -> the actions that move each claim along its lifecycle.
// Keyed by pool, so claims of a pool never race each other for a member. Pure: the clock comes in as `now`.
//
// One pass, in order:
//   1. every claim, by name: deletion (carry out the reclaimPolicy, drop the finalizer), terminal phases (only
//      cleanup of members still marked with them), then what its member records: a member that names the claim is
//      the truth (repair a status the crash between the two bind writes left behind; never bind again), a Bound
//      claim follows its member (Lost, TTL expiry, Ready condition);
//   2. members marked with a claim that no longer exists are deleted;
//   3. the claims left are pending: pool missing (PoolNotFound), draining or deleted (fail PoolDraining), or queued
//      by the pool's strategy and paired with claimable members by its claimOrder; the unpaired time out, are
//      rejected by backpressure, or wait with a queue position; then the pool's pendingClaims;
//   4. one requeue at the earliest timer.
//
// Actions that name the same claim uid form a chain: the shell runs them in list order and stops the chain at the
// first failure (add-finalizer before bind, the pod patch before the status, release before the member, the member
// before remove-finalizer). Chains are independent and may run in parallel. The planner trusts its input to show
// the controller's own writes (the shell overlays the objects its writes returned on the informer caches until the
// caches catch up); a stale member is still never bound twice, since every pod write carries its resourceVersion.
// The pool and the claims come resolved at the door (api/resolve.ts): every default is applied already.
import type { CachedPod } from '../member/cached-pod.js';
import { getCondition } from '../api/conditions.js';
import type { ResolvedClaim, ResolvedPool } from '../api/resolve.js';
import { memberMetadataConflicts } from '../api/resolve.js';
import type { ClaimMember, MemberMetadata, ReclaimPolicy } from '../api/types.js';
import { ANN_CLAIMED_AT, ANN_HEARTBEAT } from '../api/types.js';
import { clampDelayMs } from '../kube/timers.js';
import type { MemberView } from '../member/members.js';
import { classifyMember, memberOwner, toMillis } from '../member/members.js';
import { memberPod } from '../member/member-pod.js';
import { allocate, allocateWarming, needed } from './allocate.js';
import { bindRetryAt, type BindFailure } from './bind-failure.js';
import type {
  ClaimAction,
  ClaimRef,
  ClaimRequeueWhy,
  DeleteMemberReason,
  FailReason,
  MemberBind,
  PendingReason,
  SetPendingAction,
} from './model.js';
import {
  CONDITION_BOUND,
  PENDING_WRITE_GRACE_MS,
  addFinalizerPatch,
  boundStatus,
  claimMember,
  claimRef,
  failedStatus,
  hasFinalizer,
  lostStatus,
  memberClaimPatch,
  memberRef,
  memberReturnPatch,
  pendingCurrent,
  pendingStatus,
  readyCurrent,
  readyStatus,
  releasedStatus,
  removeFinalizerPatch,
  coldMemberName,
  coldMemberPod,
  isCold,
  withoutColdMark,
  heldMembers,
  withMemberMetadata,
  withoutMemberMetadata,
} from './model.js';
import { applyBackpressure, compareArrival, orderClaims } from './queue.js';
import { bindSafetyPatch, nextLeaseToken, returnReusePatch, returnSafetyPatch, reusedUp, withToken } from './safety.js';

export interface ClaimPlanInput {
  /** The pool as resolved at the door (resolvePool), undefined when it does not exist. */
  pool: ResolvedPool | undefined;
  /** Every PoolClaim of the namespace whose spec.poolName names this pool, each resolved at the door (resolveClaim). */
  claims: readonly ResolvedClaim[];
  /**
   * Every pod carrying the pool's label (warmpool.dev/pool), claimed and terminating ones included. Only the pool's
   * own members among them (memberOwner) are ever bound, counted or deleted; anything else is an impostor, ignored.
   */
  members: readonly CachedPod[];
  /** The bind failures of claims, by claim uid, as the shell recorded them (none when absent). */
  bindFailures?: ReadonlyMap<string, BindFailure>;
  /** The pool's current template hash; a member returns to the pool only when it carries this one. */
  templateHash: string | undefined;
  /** Epoch milliseconds. */
  now: number;
}

interface Member {
  pod: CachedPod;
  view: MemberView;
}

interface Pass {
  input: ClaimPlanInput;
  now: number;
  poolName: string;
  byName: Map<string, Member>;
  /** Members by the claim uid they record (annotation warmpool.dev/claim-uid). */
  recorded: Map<string, Member[]>;
  /** Members that got an action this pass: each member gets at most one. */
  touched: Set<string>;
  actions: ClaimAction[];
  timers: { at: number; why: ClaimRequeueWhy }[];
}

const TERMINAL = new Set(['Released', 'Failed', 'Lost']);

/**
 * The shortest requeue a plan asks for. A timer due in a millisecond is planned again a little late rather than at
 * once: no spec value (a deadline a hair away, a clock skew) can make a pool's passes spin.
 */
export const REQUEUE_FLOOR_MS = 100;

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function claimedAt(member: Member): number | undefined {
  return toMillis(member.pod.metadata?.annotations?.[ANN_CLAIMED_AT]);
}

function poolGoing(pool: ResolvedPool): boolean {
  const deleting = pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null;
  // Exactly true: an invalid pool's stored drain (planned as stored, see api/resolve.ts) drains only when it is true.
  return deleting || pool.spec.drain === true;
}

/** A member goes back to the pool only if it is still Ready, healthy, current, and the pool still wants members. */
function returnable(pass: Pass, member: MemberView): boolean {
  const pool = pass.input.pool;
  return (
    pool !== undefined &&
    !poolGoing(pool) &&
    member.phase === 'claimed' &&
    member.ready &&
    member.healthy &&
    pass.input.templateHash !== undefined &&
    member.templateHash === pass.input.templateHash
  );
}

/** Hand the member back (Return, when returnable) or delete it; at most one action per member and pass. */
function releaseMember(
  pass: Pass,
  ref: ClaimRef,
  policy: ReclaimPolicy,
  member: Member,
  reason: DeleteMemberReason,
  stamped?: MemberMetadata,
): void {
  if (pass.touched.has(member.view.uid) || member.view.phase === 'terminating') return;
  pass.touched.add(member.view.uid);
  const target = memberRef(member.pod);
  const pool = pass.input.pool;
  if (policy === 'Return' && pool && returnable(pass, member.view) && !reusedUp(member.view, pool.spec.reuse)) {
    const back = returnSafetyPatch(withoutColdMark(withoutMemberMetadata(memberReturnPatch(member.pod, pool), stamped), member.pod), pool);
    const patch = returnReusePatch(back, member.view, pool.spec.reuse, pass.now);
    pass.actions.push({ kind: 'return-member', claim: ref, member: target, patch });
    return;
  }
  if (policy === 'Return' && pool && returnable(pass, member.view)) {
    pass.actions.push({ kind: 'delete-member', claim: ref, member: target, reason: 'max-reuses' });
    return;
  }
  const why = policy === 'Return' && reason === 'released' ? 'not-returnable' : reason;
  pass.actions.push({ kind: 'delete-member', claim: ref, member: target, reason: why });
}

/** Why a member no longer serves its claim, or undefined while it does. Not Ready alone is not lost. */
function lostReason(member: MemberView): string | undefined {
  if (member.phase === 'terminating') return `member ${member.name} is being deleted`;
  if (member.evicted) return `member ${member.name} was evicted`;
  if (member.failure === 'PodFailed') return `member ${member.name} failed`;
  if (member.failure === 'PodSucceeded') return `member ${member.name} ran to completion`;
  return undefined;
}

/** The one member a claim keeps when several record it: the one its status names, else the first claimed. */
function keeper(claim: ResolvedClaim, recorded: readonly Member[]): Member | undefined {
  const named = recorded.find((m) => m.view.uid === claim.status?.member?.uid);
  if (named !== undefined) return named;
  const time = (m: Member): number => claimedAt(m) ?? Number.POSITIVE_INFINITY;
  return [...recorded].sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    return ta !== tb ? (ta < tb ? -1 : 1) : compareNames(a.view.name, b.view.name);
  })[0];
}

function markLost(pass: Pass, claim: ResolvedClaim, member: Member | undefined, message: string): void {
  const ref = claimRef(claim);
  const status = lostStatus(claim, member && withToken(claimMember(member.pod), member.view.leaseToken), message, pass.now);
  pass.actions.push({
    kind: 'mark-lost',
    claim: ref,
    member: member?.view.name ?? claim.status?.member?.name,
    unseen: member === undefined,
    status,
    event: { type: 'Warning', reason: 'MemberLost', message },
  });
  // A lost member that lingers (failed, evicted) is the claim's to remove: the pool leaves claimed members alone.
  if (member !== undefined) releaseMember(pass, ref, 'Delete', member, 'lost');
}

/** A Bound claim (or one a member records): Lost, repair, TTL expiry, Ready mirror. */
function planHeld(pass: Pass, claim: ResolvedClaim, kept: Member | undefined): void {
  const ref = claimRef(claim);
  const named = claim.status?.member;
  let member = kept;
  if (member === undefined && named !== undefined) {
    // The cache may not show the bind on the pod yet (claim and pod caches lag independently): trust the status
    // unless the pod is gone, replaced, or marked with another claim.
    const pod = pass.byName.get(named.name);
    const mine = pod?.view.claimUid === undefined || pod.view.claimUid === ref.uid;
    if (pod !== undefined && pod.view.uid === named.uid && mine) member = pod;
  }
  if (member === undefined) {
    markLost(pass, claim, undefined, named ? `member ${named.name} is gone` : 'no member is recorded');
    return;
  }
  const lost = lostReason(member.view);
  if (lost !== undefined) {
    markLost(pass, claim, member, lost);
    return;
  }
  if (claim.status?.phase !== 'Bound' && isCold(member.pod) && !member.view.ready) {
    // fallback Cold: the member was created bound; the claim is Bound once it is Ready (its Ready wakes a pass).
    pass.touched.add(member.view.uid);
    pend(pass, claim, 'ColdStarting', `waiting for member ${member.view.name}, created for the claim, to be Ready`, undefined);
    return;
  }
  if (claim.status?.phase !== 'Bound' || named?.uid !== member.view.uid) {
    const boundAt = claimedAt(member) ?? pass.now;
    const held = withToken(claimMember(member.pod), member.view.leaseToken);
    const status = boundStatus(claim, held, member.view.ready, boundAt, pass.now);
    pass.actions.push({ kind: 'repair-status', claim: ref, member: member.view.name, status });
    pass.touched.add(member.view.uid);
    return;
  }
  if (releaseDrained(pass, claim, [member])) return;
  const ttl = claim.spec.ttlSecondsAfterBound;
  const boundAt = toMillis(claim.status.boundAt) ?? claimedAt(member);
  if (ttl !== undefined && boundAt !== undefined) {
    const expiry = boundAt + ttl * 1000;
    if (expiry <= pass.now) {
      const message = `held for ${ttl}s (ttlSecondsAfterBound)`;
      const policy = claim.spec.reclaimPolicy;
      pass.actions.push({
        kind: 'release',
        claim: ref,
        member: member.view.name,
        reason: 'Expired',
        policy,
        status: releasedStatus(claim, message, pass.now),
        event: { type: 'Normal', reason: 'Expired', message },
      });
      releaseMember(pass, ref, policy, member, 'released', claim.spec.memberMetadata);
      return;
    }
    pass.timers.push({ at: expiry, why: 'ttl' });
  }
  if (idleRelease(pass, claim, [member])) return;
  pass.touched.add(member.view.uid);
  const ready = member.view.ready;
  if (!readyCurrent(claim, ready)) {
    pass.actions.push({ kind: 'update-ready', claim: ref, ready, status: readyStatus(claim, ready, pass.now) });
  }
}

/**
 * When a Bound claim with idleTimeoutSeconds was last seen alive: the later of its bind and its holder's heartbeat
 * (annotation warmpool.dev/heartbeat, RFC 3339). A heartbeat in the future counts as now (clock skew); one that does
 * not parse is no heartbeat.
 */
export function lastAlive(claim: ResolvedClaim, boundAt: number, now: number): number {
  const beat = toMillis(claim.metadata.annotations?.[ANN_HEARTBEAT]);
  return beat === undefined ? boundAt : Math.max(boundAt, Math.min(beat, now));
}

/**
 * Releases a claim whose holder went quiet (reason Idle), or arms the timer for when it would. A heartbeat is an
 * annotation write by the holder: it wakes no pass (claimChangeMatters), the pass at the old deadline reads it and
 * re-arms, so a holder beating every second costs the operator one pass per timeout, not one per beat.
 */
function idleRelease(pass: Pass, claim: ResolvedClaim, held: readonly Member[]): boolean {
  const idle = claim.spec.idleTimeoutSeconds;
  const first = held[0];
  const boundAt = toMillis(claim.status?.boundAt) ?? (first && claimedAt(first));
  if (idle === undefined || boundAt === undefined) return false;
  const deadline = lastAlive(claim, boundAt, pass.now) + idle * 1000;
  if (deadline > pass.now) {
    pass.timers.push({ at: deadline, why: 'idle' });
    return false;
  }
  const message = `no heartbeat (annotation ${ANN_HEARTBEAT}) for ${idle}s (idleTimeoutSeconds)`;
  const policy = claim.spec.reclaimPolicy;
  const ref = claimRef(claim);
  pass.actions.push({
    kind: 'release',
    claim: ref,
    member: first?.view.name,
    reason: 'Idle',
    policy,
    status: releasedStatus(claim, message, pass.now, 'Idle'),
    event: { type: 'Normal', reason: 'Idle', message },
  });
  for (const member of held) releaseMember(pass, ref, policy, member, 'released', claim.spec.memberMetadata);
  return true;
}

/** Members by claim time, then name: the order a claim of several keeps them in when its status is unwritten. */
function byClaimTime(members: readonly Member[]): Member[] {
  const time = (m: Member): number => claimedAt(m) ?? Number.POSITIVE_INFINITY;
  return [...members].sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    return ta !== tb ? (ta < tb ? -1 : 1) : compareNames(a.view.name, b.view.name);
  });
}

/** A claim of several is Lost with any of its members; the others are deleted with it (never half a set). */
function markLostMany(pass: Pass, claim: ResolvedClaim, held: readonly Member[], lost: string | undefined, unseen: boolean, message: string): void {
  const ref = claimRef(claim);
  pass.actions.push({
    kind: 'mark-lost',
    claim: ref,
    member: lost,
    unseen,
    status: lostStatus(claim, undefined, message, pass.now),
    event: { type: 'Warning', reason: 'MemberLost', message },
  });
  for (const member of held) releaseMember(pass, ref, 'Delete', member, 'lost');
}

/**
 * A claim of count > 1 that is not simply waiting (issue 21): all or nothing. Bound: its status names every member
 * (status.members); each is followed as a claim of one follows its member (Lost if any is lost, released together,
 * Ready when all are). Not Bound yet with members recording it: all of them there (a crash between the patches and
 * the status): the status is repaired; fewer (a patch of the set was refused): the partial set is handed back, and
 * the claim queues again. Members recording it beyond its count wait, as for a claim of one, until the status
 * names its own.
 */
function planMany(pass: Pass, claim: ResolvedClaim, recorded: readonly Member[]): boolean {
  const ref = claimRef(claim);
  const policy = claim.spec.reclaimPolicy;
  const stamped = claim.spec.memberMetadata;
  const named = claim.status?.phase === 'Bound' ? heldMembers(claim.status) : [];
  if (named.length === 0) {
    if (recorded.length === 0) return false;
    if (recorded.length < needed(claim)) {
      for (const member of recorded) releaseMember(pass, ref, 'Return', member, 'partial', stamped);
      return true;
    }
    const keep = byClaimTime(recorded);
    for (const member of keep) pass.touched.add(member.view.uid);
    const set = keep.slice(0, needed(claim));
    const first = set[0] as Member;
    if (set.some((m) => isCold(m.pod)) && !set.every((m) => m.view.ready)) {
      pend(pass, claim, 'ColdStarting', `waiting for the members created for the claim to be Ready`, undefined);
      return true;
    }
    const members = set.map((m) => withToken(claimMember(m.pod), m.view.leaseToken));
    const status = boundStatus(claim, members[0] ?? claimMember(first.pod), set.every((m) => m.view.ready), claimedAt(first) ?? pass.now, pass.now, members);
    pass.actions.push({ kind: 'repair-status', claim: ref, member: first.view.name, status });
    return true;
  }
  const uids = new Set(named.map((m) => m.uid));
  for (const member of recorded) if (!uids.has(member.view.uid)) releaseMember(pass, ref, policy, member, 'duplicate', stamped);
  const held: Member[] = [];
  let missing: string | undefined;
  for (const want of named) {
    let member = recorded.find((m) => m.view.uid === want.uid);
    if (member === undefined) {
      // As for a claim of one: the pod cache may not show the bind yet; trust the status unless the pod is gone,
      // replaced, or marked with another claim.
      const pod = pass.byName.get(want.name);
      const mine = pod?.view.claimUid === undefined || pod.view.claimUid === ref.uid;
      if (pod !== undefined && pod.view.uid === want.uid && mine) member = pod;
    }
    if (member === undefined) missing ??= want.name;
    else held.push(member);
  }
  if (missing !== undefined) {
    markLostMany(pass, claim, held, missing, true, `member ${missing} is gone`);
    return true;
  }
  for (const member of held) {
    const lost = lostReason(member.view);
    if (lost !== undefined) {
      markLostMany(pass, claim, held, member.view.name, false, lost);
      return true;
    }
  }
  const ttl = claim.spec.ttlSecondsAfterBound;
  const boundAt = toMillis(claim.status?.boundAt);
  if (ttl !== undefined && boundAt !== undefined) {
    const expiry = boundAt + ttl * 1000;
    if (expiry <= pass.now) {
      const message = `held for ${ttl}s (ttlSecondsAfterBound)`;
      pass.actions.push({
        kind: 'release',
        claim: ref,
        member: held[0]?.view.name,
        reason: 'Expired',
        policy,
        status: releasedStatus(claim, message, pass.now),
        event: { type: 'Normal', reason: 'Expired', message },
      });
      for (const member of held) releaseMember(pass, ref, policy, member, 'released', stamped);
      return true;
    }
    pass.timers.push({ at: expiry, why: 'ttl' });
  }
  if (releaseDrained(pass, claim, held)) return true;
  if (idleRelease(pass, claim, held)) return true;
  for (const member of held) pass.touched.add(member.view.uid);
  const ready = held.every((m) => m.view.ready);
  if (!readyCurrent(claim, ready)) {
    pass.actions.push({ kind: 'update-ready', claim: ref, ready, status: readyStatus(claim, ready, pass.now) });
  }
  return true;
}

/**
 * The pool's drain deadline (drainPolicy.deadlineSeconds after the drain started, or after the deletion) when it
 * ends claims (onDeadline Release); undefined when nothing ends them, or while the start is not known yet (the pool
 * controller writes status.drainStartedAt on the drain's first pass).
 */
export function drainDeadline(pool: ResolvedPool | undefined): number | undefined {
  if (pool === undefined || !poolGoing(pool)) return undefined;
  const { deadlineSeconds, onDeadline } = pool.spec.drainPolicy;
  if (onDeadline !== 'Release' || deadlineSeconds === undefined) return undefined;
  const deleting = pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null;
  const start = deleting ? toMillis(pool.metadata.deletionTimestamp) : toMillis(pool.status?.drainStartedAt);
  return start === undefined ? undefined : start + deadlineSeconds * 1000;
}

/** A held claim past the drain deadline is Released (reason Drained) and its members handed back or deleted. */
function releaseDrained(pass: Pass, claim: ResolvedClaim, held: readonly Member[]): boolean {
  const deadline = drainDeadline(pass.input.pool);
  if (deadline === undefined) return false;
  if (deadline > pass.now) {
    pass.timers.push({ at: deadline, why: 'drain-deadline' });
    return false;
  }
  const ref = claimRef(claim);
  const seconds = pass.input.pool?.spec.drainPolicy.deadlineSeconds ?? 0;
  const going = pass.input.pool?.metadata.deletionTimestamp ? 'deleted' : 'drained';
  const message = `pool ${pass.poolName} is ${going}: released at its drain deadline (${seconds}s, onDeadline Release)`;
  const policy = claim.spec.reclaimPolicy;
  pass.actions.push({
    kind: 'release',
    claim: ref,
    member: held[0]?.view.name,
    reason: 'Drained',
    policy,
    status: releasedStatus(claim, message, pass.now, 'Drained'),
    event: { type: 'Normal', reason: 'Drained', message },
  });
  for (const member of held) releaseMember(pass, ref, policy, member, 'released', claim.spec.memberMetadata);
  return true;
}

/** Plans a claim that is not simply waiting; false leaves it to the queue. */
function planLifecycle(pass: Pass, claim: ResolvedClaim): boolean {
  const ref = claimRef(claim);
  const policy = claim.spec.reclaimPolicy;
  const recorded = pass.recorded.get(ref.uid) ?? [];
  if (claim.metadata.deletionTimestamp !== undefined && claim.metadata.deletionTimestamp !== null) {
    for (const member of recorded) releaseMember(pass, ref, policy, member, 'released', claim.spec.memberMetadata);
    if (hasFinalizer(claim)) {
      pass.actions.push({ kind: 'remove-finalizer', claim: ref, patch: removeFinalizerPatch(claim) });
    }
    return true;
  }
  const phase = claim.status?.phase;
  if (phase !== undefined && TERMINAL.has(phase)) {
    // Terminal stays terminal: a member still marked with the claim (a release cut short) is handed back or deleted.
    for (const member of recorded) releaseMember(pass, ref, policy, member, phase === 'Lost' ? 'lost' : 'released', claim.spec.memberMetadata);
    return true;
  }
  if (needed(claim) > 1) return planMany(pass, claim, recorded);
  let kept = keeper(claim, recorded);
  // A Bound claim's status is the record. A member recording the claim that the status does not name (another
  // writer's losing bind, or ours) never becomes its member while the named one is not in our cache: repointing the
  // status then raced the other writer, who, seeing both members and the old status, deleted the one we pointed to.
  // Without a keeper, planHeld goes by the named member (read live before any Lost) and the extras wait.
  const named = phase === 'Bound' ? claim.status?.member : undefined;
  if (named !== undefined && kept !== undefined && kept.view.uid !== named.uid) kept = undefined;
  // Several members record the claim only after two writers raced. Release the extras only once the claim's status
  // names its member: deciding from the earliest claim time while the status is still unwritten (or our cache of it
  // stale) could release the very member the other writer's status names. Until then the keeper's status is
  // repaired (a write guarded by the claim's resourceVersion, so one writer wins) and the extras wait.
  const settled = recorded.some((m) => m.view.uid === claim.status?.member?.uid);
  for (const member of recorded) {
    if (member === kept) continue;
    if (settled) releaseMember(pass, ref, policy, member, 'duplicate', claim.spec.memberMetadata);
    else pass.touched.add(member.view.uid);
  }
  if (phase === 'Bound' || kept !== undefined) {
    planHeld(pass, claim, kept);
    return true;
  }
  return false;
}

/** When a pending claim gives up: waitTimeoutSeconds after creation (0: as soon as a pass finds no member). */
function waitDeadline(claim: ResolvedClaim, now: number): number | undefined {
  const timeout = claim.spec.waitTimeoutSeconds;
  if (timeout === undefined) return undefined;
  return (toMillis(claim.metadata.creationTimestamp) ?? now) + timeout * 1000;
}

/** The claim's waitTimeoutSeconds once it has run out; undefined while the claim may still wait. */
function timedOut(claim: ResolvedClaim, now: number): number | undefined {
  const deadline = waitDeadline(claim, now);
  return deadline !== undefined && deadline <= now ? claim.spec.waitTimeoutSeconds : undefined;
}

function fail(pass: Pass, claim: ResolvedClaim, reason: FailReason, message: string): void {
  pass.actions.push({
    kind: 'fail',
    claim: claimRef(claim),
    reason,
    status: failedStatus(claim, reason, message, pass.now),
    event: { type: 'Warning', reason, message },
  });
}

/** 0 for position 1, then one bucket per power of two: 2-3, 4-7, 8-15, ... */
function positionBucket(position: number): number {
  return 31 - Math.clz32(Math.max(1, position));
}

/**
 * The claim keeps waiting: requeue at its deadline, and write Pending only when it says something new. A fresh claim
 * is left without status for PENDING_WRITE_GRACE_MS (most waits end sooner). queuePosition is exact when written but
 * rewritten only when the true position leaves the written one's power-of-two bucket, so a queue of n claims
 * draining one by one costs O(n log n) writes, not O(n²): a claim moving up from 1000 is rewritten at 511, 255, ...,
 * 3 and 1.
 */
function pend(
  pass: Pass,
  claim: ResolvedClaim,
  reason: PendingReason,
  message: string,
  position: number | undefined,
): void {
  const deadline = waitDeadline(claim, pass.now);
  if (deadline !== undefined) pass.timers.push({ at: deadline, why: 'wait-timeout' });
  const current = claim.status;
  if (current?.phase === undefined) {
    const ripe = (toMillis(claim.metadata.creationTimestamp) ?? pass.now) + PENDING_WRITE_GRACE_MS;
    if (pass.now < ripe) {
      pass.timers.push({ at: ripe, why: 'pending-grace' });
      return;
    }
  }
  const written = current?.queuePosition;
  const near = position !== undefined && written !== undefined && positionBucket(written) === positionBucket(position);
  if (pendingCurrent(claim, reason, message, near ? written : position)) return;
  const action: SetPendingAction = {
    kind: 'set-pending',
    claim: claimRef(claim),
    reason,
    queuePosition: position,
    status: pendingStatus(claim, reason, message, position, pass.now),
  };
  if (getCondition(current?.conditions, CONDITION_BOUND)?.reason !== reason) {
    action.event =
      reason === 'Queued'
        ? { type: 'Normal', reason, message: `${message}, at position ${position ?? 0}` }
        : { type: 'Warning', reason, message };
  }
  pass.actions.push(action);
}

/** Pending claims of an existing, active pool: queue, pair, then time out, reject or wait. Returns how many wait. */
function planQueue(
  pass: Pass,
  pool: ResolvedPool,
  pending: readonly ResolvedClaim[],
  views: readonly MemberView[],
): number {
  const queue = pool.spec.claimQueue;
  const ordered = orderClaims(pending, queue.strategy);
  // Members a Bound claim names stay out even when the pod cache does not show the bind yet.
  const excluded = new Set(pass.touched);
  for (const claim of pass.input.claims) {
    if (claim.status?.phase === 'Bound') for (const m of heldMembers(claim.status)) excluded.add(m.uid);
  }
  // A claim whose last bind failed waits out its back-off without holding up the claims behind it.
  const failures = pass.input.bindFailures;
  const eligible =
    failures === undefined || failures.size === 0
      ? ordered
      : ordered.filter((claim) => {
          const failure = failures.get(claim.metadata.uid ?? '');
          if (failure === undefined) return true;
          const retryAt = bindRetryAt(failure);
          if (retryAt <= pass.now) return true;
          pass.timers.push({ at: retryAt, why: 'bind-backoff' });
          return false;
        });
  const pairs = allocate(eligible, views, pool.spec.claimOrder, excluded);
  // acceptWarming: the claims no ready member served may take a warming one, in queue order (allocate.ts).
  const paired = new Set(pairs.map((p) => p.claim));
  const unserved = eligible.filter((claim) => !paired.has(claim));
  if (unserved.some((claim) => claim.spec.acceptWarming === true)) {
    pairs.push(...allocateWarming(unserved, views, new Set([...excluded, ...pairs.map((p) => p.member.uid)])));
  }
  const served = new Set<ResolvedClaim>();
  // A claim of count n comes with n pairs, one after the other: one bind action carries all of its members.
  const sets = new Map<ResolvedClaim, { pod: CachedPod; view: MemberView }[]>();
  for (const { claim, member } of pairs) {
    const pod = pass.byName.get(member.name)?.pod;
    if (pod === undefined) continue;
    const set = sets.get(claim);
    if (set) set.push({ pod, view: member });
    else sets.set(claim, [{ pod, view: member }]);
  }
  for (const [claim, set] of sets) {
    const [first, ...rest] = set;
    if (first === undefined || set.length !== needed(claim)) continue;
    served.add(claim);
    for (const m of set) pass.touched.add(m.view.uid);
    const ref = claimRef(claim);
    // The finalizer must be in place before the member is, or deleting the claim in between would skip the Return.
    if (claim.spec.reclaimPolicy === 'Return' && !hasFinalizer(claim)) {
      pass.actions.push({ kind: 'add-finalizer', claim: ref, patch: addFinalizerPatch(claim) });
    }
    const bindOf = (m: { pod: CachedPod; view: MemberView }): MemberBind => ({
      member: { ...memberRef(m.pod), nodeName: m.view.nodeName },
      patch: bindSafetyPatch(withMemberMetadata(memberClaimPatch(claim, m.pod, pass.now), claim.spec.memberMetadata), m.view, pool.spec.evictionProtection),
    });
    const all = set.map((m) => withToken(claimMember(m.pod), nextLeaseToken(m.view)));
    pass.actions.push({
      kind: 'bind',
      claim: ref,
      ...bindOf(first),
      ...(rest.length > 0 && { extra: rest.map(bindOf) }),
      status: boundStatus(claim, all[0] as ClaimMember, set.every((m) => m.view.ready), pass.now, pass.now, all),
    });
  }

  for (const claim of planCold(pass, pool, eligible.filter((c) => !served.has(c)))) served.add(claim);

  const waiting: ResolvedClaim[] = [];
  for (const claim of ordered) {
    if (served.has(claim)) continue;
    const timeout = timedOut(claim, pass.now);
    if (timeout !== undefined) {
      fail(pass, claim, 'NoReadyMembers', `no ready member of pool ${pass.poolName} within ${timeout}s`);
      continue;
    }
    waiting.push(claim);
  }

  const { ordered: kept, rejected } = applyBackpressure(waiting, queue.maxPending, queue.onFull);
  // Only a set maxPending rejects anything.
  const full = `the queue of pool ${pass.poolName} is full (maxPending ${String(queue.maxPending)}, ${queue.onFull})`;
  for (const claim of rejected) fail(pass, claim, 'QueueFull', full);
  const message = `waiting for a ready member of pool ${pass.poolName}`;
  kept.forEach((claim, i) => pend(pass, claim, 'Queued', message, i + 1));
  return kept.length;
}

/**
 * fallback Cold (issue 21): the claims that would wait, from the head of the queue, get members created for them
 * from the pool's template, born bound. A claim without the fallback stops the run (no cold member is made for a
 * claim while one ahead of it waits), and so does the pool's maxSize, which cold members count toward: all of the
 * pool's members, claimed and terminating ones included, plus those created this pass. The pool's target does not
 * change. Returns the claims served.
 */
function planCold(pass: Pass, pool: ResolvedPool, unserved: readonly ResolvedClaim[]): ResolvedClaim[] {
  const hash = pass.input.templateHash;
  if (hash === undefined || !unserved.some((claim) => claim.spec.fallback === 'Cold')) return [];
  const maxSize = typeof pool.spec.maxSize === 'number' ? pool.spec.maxSize : 0;
  let room = maxSize - pass.byName.size;
  const served: ResolvedClaim[] = [];
  for (const claim of unserved) {
    const n = needed(claim);
    if (claim.spec.fallback !== 'Cold' || n > room) break;
    room -= n;
    const ref = claimRef(claim);
    if (claim.spec.reclaimPolicy === 'Return' && !hasFinalizer(claim)) {
      pass.actions.push({ kind: 'add-finalizer', claim: ref, patch: addFinalizerPatch(claim) });
    }
    const pods = Array.from({ length: n }, (_, i) =>
      coldMemberPod(claim, memberPod(pool, hash, new Date(pass.now)), coldMemberName(claim, i, n), pass.now),
    );
    pass.actions.push({ kind: 'create-cold', claim: ref, pods });
    served.push(claim);
  }
  return served;
}

function planPending(pass: Pass, all: ResolvedClaim[], views: readonly MemberView[]): void {
  const pool = pass.input.pool;
  // A bind the API server refused for good (a retry would be refused the same way) fails its claim at once.
  const pending: ResolvedClaim[] = [];
  for (const claim of all) {
    const failure = pass.input.bindFailures?.get(claim.metadata.uid ?? '');
    const conflicts = pool === undefined ? [] : memberMetadataConflicts(claim, pool);
    if (failure?.final === true) fail(pass, claim, 'BindFailed', `binding a member of pool ${pass.poolName} failed: ${failure.message}`);
    else if (conflicts.length > 0) fail(pass, claim, 'InvalidSpec', conflicts.join('; '));
    else if (pool !== undefined && needed(claim) > pool.spec.maxSize) {
      // All or nothing: more members than the pool may ever run at once would wait forever.
      fail(pass, claim, 'CountExceedsMaxSize', `count ${needed(claim)} is more than the maxSize ${pool.spec.maxSize} of pool ${pass.poolName}`);
    }
    else pending.push(claim);
  }
  if (pool === undefined) {
    // Wait for the pool to appear (GitOps may apply claims first), up to waitTimeoutSeconds.
    const message = `InstancePool ${pass.poolName} not found`;
    for (const claim of pending.sort(compareArrival)) {
      if (timedOut(claim, pass.now) !== undefined) fail(pass, claim, 'PoolNotFound', message);
      else pend(pass, claim, 'PoolNotFound', message, undefined);
    }
    return;
  }
  let waiting = 0;
  if (poolGoing(pool)) {
    const message = `InstancePool ${pass.poolName} is ${pool.spec.drain === true ? 'draining' : 'being deleted'}`;
    for (const claim of pending.sort(compareArrival)) fail(pass, claim, 'PoolDraining', message);
  } else {
    waiting = planQueue(pass, pool, pending, views);
  }
  if (waiting !== (pool.status?.pendingClaims ?? 0)) {
    pass.actions.push({ kind: 'set-pool-pending', pendingClaims: waiting });
  }
}

export function planClaims(input: ClaimPlanInput): ClaimAction[] {
  // Sorted by name, so the plan does not depend on the order of the caches. Only the pool's own members: a pod that
  // merely carries the pool's labels (anyone who can create a pod can label one) is never bound, counted or deleted.
  const poolUid = input.pool?.metadata.uid;
  const members: Member[] = input.members
    .filter((pod) => memberOwner(pod, poolUid) !== undefined)
    .map((pod) => ({ pod, view: classifyMember(pod) }))
    .sort((a, b) => compareNames(a.view.name, b.view.name));
  const pass: Pass = {
    input,
    now: input.now,
    poolName: input.pool?.metadata.name ?? input.claims[0]?.spec.poolName ?? '',
    byName: new Map(members.map((m) => [m.view.name, m])),
    recorded: new Map(),
    touched: new Set(),
    actions: [],
    timers: [],
  };
  for (const member of members) {
    const uid = member.view.claimUid;
    if (uid === undefined) continue;
    const list = pass.recorded.get(uid);
    if (list) list.push(member);
    else pass.recorded.set(uid, [member]);
  }

  const pending: ResolvedClaim[] = [];
  const claims = [...input.claims].sort((a, b) => compareNames(a.metadata.name ?? '', b.metadata.name ?? ''));
  for (const claim of claims) if (!planLifecycle(pass, claim)) pending.push(claim);

  // A member marked with a claim that no longer exists: the release of a deleted Delete-policy claim.
  const live = new Set(input.claims.map((c) => c.metadata.uid ?? ''));
  for (const member of members) {
    const uid = member.view.claimUid;
    if (uid === undefined || live.has(uid)) continue;
    releaseMember(pass, { name: member.view.claimName ?? '', uid }, 'Delete', member, 'claim-gone');
  }

  planPending(pass, pending, members.map((m) => m.view));

  const next = pass.timers.filter((t) => t.at > pass.now).sort((a, b) => a.at - b.at)[0];
  if (next !== undefined) {
    pass.actions.push({ kind: 'requeue', afterMs: clampDelayMs(Math.max(REQUEUE_FLOOR_MS, next.at - pass.now)), why: next.why });
  }
  return pass.actions;
}
