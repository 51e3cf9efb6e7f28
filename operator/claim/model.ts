// The vocabulary of the claim planner: the actions it asks the shell to carry out, the exact claim status each one
// writes, and the merge patches of member pods and claim metadata, so the shell writes what the planner decided and
// nothing else. Pure; times are epoch milliseconds (the shell passes Date.now()).
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { CachedPod } from '../member/cached-pod.js';
import { getCondition, setCondition } from '../api/conditions.js';
import { isRecord } from '../api/conform.js';
import type { ClaimMember, InstancePool, MemberMetadata, PoolClaim, PoolClaimStatus, ReclaimPolicy } from '../api/types.js';
import { ANN_COLD, isReservedKey } from '../api/types.js';
import { claimOwnerReference, poolOwnerReference } from '../member/member-pod.js';
import {
  ANN_ACQUIRED_BY,
  ANN_ACQUIRED_FOR,
  ANN_CLAIM_UID,
  ANN_CLAIMED_AT,
  CLAIM_FINALIZER,
  CLAIM_KIND,
  GROUP,
  LABEL_CLAIM,
  LABEL_STATE,
  POOL_KIND,
} from '../api/types.js';
import { toMillis } from '../member/members.js';

/**
 * A new claim that must wait gets its first Pending status only after this long. Most waits end sooner (a member
 * warming up, a pool applied just after its claims), and then the claim path stays at its two writes.
 */
export const PENDING_WRITE_GRACE_MS = 2_000;

export const CONDITION_BOUND = 'Bound';
export const CONDITION_READY = 'Ready';
export const CONDITION_RECONCILING = 'Reconciling';
export const CONDITION_STALLED = 'Stalled';

export type PendingReason = 'Queued' | 'PoolNotFound' | 'ColdStarting';
export type FailReason = 'NoReadyMembers' | 'PoolNotFound' | 'PoolDraining' | 'QueueFull' | 'BindFailed' | 'InvalidSpec' | 'CountExceedsMaxSize';

export interface ClaimRef {
  name: string;
  uid: string;
}

/** A member pod and the preconditions of a write to it. */
export interface MemberRef {
  name: string;
  uid: string;
  resourceVersion: string;
}

/** An Event on the claim, for the exceptional path only (queued long, rejected, failed, lost, expired). */
export interface ClaimEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** A JSON merge patch of a member pod's metadata; resourceVersion is the precondition (409 when it moved). */
export interface PodMergePatch {
  metadata: {
    resourceVersion: string;
    labels: Record<string, string | null>;
    annotations: Record<string, string | null>;
    /** A merge patch replaces the whole list, which is why resourceVersion must guard it. */
    ownerReferences: V1OwnerReference[];
  };
}

/** A JSON merge patch of a claim's finalizers, guarded by its resourceVersion (the list is replaced whole). */
export interface FinalizerPatch {
  metadata: { resourceVersion: string; finalizers: string[] };
}

/**
 * Claim a member: patch the pod (`patch`, which carries its resourceVersion), then write `status`. A 409 on the pod
 * means another writer won: drop the status write and requeue the pool, never retry blind.
 */
export interface BindAction {
  kind: 'bind';
  claim: ClaimRef;
  member: MemberRef & { nodeName: string | undefined };
  patch: PodMergePatch;
  /**
   * The other members of a claim of count > 1, patched alongside the first; the status follows only once all are.
   * A set left partial (one patch refused) is handed back by the next pass: a partial set is never kept.
   */
  extra?: MemberBind[];
  status: PoolClaimStatus;
}

/**
 * fallback Cold: create the claim's members from the pool's template, born bound (labelled claimed, annotated with
 * the claim, owned by it). Names are fixed per claim, so a second create of the same member is a 409, never a second
 * member. The claim's status follows once they are Ready (planned as a repair of a claim its members record).
 */
export interface CreateColdAction {
  kind: 'create-cold';
  claim: ClaimRef;
  pods: V1Pod[];
}

export interface MemberBind {
  member: MemberRef & { nodeName: string | undefined };
  patch: PodMergePatch;
}

/** The member records this claim but the claim's status does not say so (a crash between the two bind writes). */
export interface RepairStatusAction {
  kind: 'repair-status';
  claim: ClaimRef;
  member: string;
  status: PoolClaimStatus;
}

export interface SetPendingAction {
  kind: 'set-pending';
  claim: ClaimRef;
  reason: PendingReason;
  queuePosition: number | undefined;
  status: PoolClaimStatus;
  event?: ClaimEvent;
}

export interface FailAction {
  kind: 'fail';
  claim: ClaimRef;
  reason: FailReason;
  status: PoolClaimStatus;
  event: ClaimEvent;
}

/** Expired: ttlSecondsAfterBound ran out. Idle: no heartbeat within idleTimeoutSeconds. Drained: the pool's
 * drainPolicy deadline passed (onDeadline Release). */
export type ReleaseReason = 'Expired' | 'Idle' | 'Drained';

/** Write Released (TTL expiry, idle, drain deadline); the member action that follows it in the plan hands the member back or deletes it. */
export interface ReleaseAction {
  kind: 'release';
  claim: ClaimRef;
  member: string | undefined;
  reason: ReleaseReason;
  policy: ReclaimPolicy;
  status: PoolClaimStatus;
  event: ClaimEvent;
}

export interface MarkLostAction {
  kind: 'mark-lost';
  claim: ClaimRef;
  member: string | undefined;
  /**
   * The verdict rests on the member being absent from the pod cache (or shown with another claim), not on what the
   * cache shows of it. The pod cache lags the claim cache independently (a member another replica created and bound
   * moments ago), and Lost is final: the shell reads the member live before believing it.
   */
  unseen: boolean;
  status: PoolClaimStatus;
  event: ClaimEvent;
}

/** The Ready condition of a Bound claim follows its member's. */
export interface UpdateReadyAction {
  kind: 'update-ready';
  claim: ClaimRef;
  ready: boolean;
  status: PoolClaimStatus;
}

/** Relabel the member ready and clear the claim's marks (Return policy, member still Ready and current). */
export interface ReturnMemberAction {
  kind: 'return-member';
  claim: ClaimRef;
  member: MemberRef;
  patch: PodMergePatch;
}

/**
 * Why a member is deleted. claim-gone: the member records a claim that no longer exists. max-reuses: a Return that
 * would exceed the pool's reuse.maxReuses. The pool keeps its
 * ownerReference on the member, and the garbage collector deletes a dependent only once all its owners are gone,
 * so the claim's ownerReference alone never removes the member: the operator must.
 */
export type DeleteMemberReason = 'released' | 'not-returnable' | 'lost' | 'duplicate' | 'claim-gone' | 'partial' | 'max-reuses';

/** Delete the member with preconditions on uid and resourceVersion. */
export interface DeleteMemberAction {
  kind: 'delete-member';
  claim: ClaimRef;
  member: MemberRef;
  reason: DeleteMemberReason;
}

export interface AddFinalizerAction {
  kind: 'add-finalizer';
  claim: ClaimRef;
  patch: FinalizerPatch;
}

export interface RemoveFinalizerAction {
  kind: 'remove-finalizer';
  claim: ClaimRef;
  patch: FinalizerPatch;
}

/** The pool's status.pendingClaims (the claim controller owns that field); a merge patch of the one field. */
export interface SetPoolPendingAction {
  kind: 'set-pool-pending';
  pendingClaims: number;
}

export type ClaimRequeueWhy = 'wait-timeout' | 'ttl' | 'pending-grace' | 'bind-backoff' | 'idle' | 'drain-deadline';

/** Plan the pool again after this delay: the earliest timer of the pass. At most one per plan. */
export interface RequeueAction {
  kind: 'requeue';
  afterMs: number;
  why: ClaimRequeueWhy;
}

export type ClaimAction =
  | BindAction
  | RepairStatusAction
  | SetPendingAction
  | FailAction
  | ReleaseAction
  | MarkLostAction
  | UpdateReadyAction
  | ReturnMemberAction
  | DeleteMemberAction
  | AddFinalizerAction
  | RemoveFinalizerAction
  | SetPoolPendingAction
  | CreateColdAction
  | RequeueAction;

/** RFC 3339 with milliseconds, for boundAt, releasedAt and claimed-at (claim latency is measured in ms). */
function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function claimRef(claim: PoolClaim): ClaimRef {
  return { name: claim.metadata.name ?? '', uid: claim.metadata.uid ?? '' };
}

export function memberRef(pod: CachedPod): MemberRef {
  const meta = pod.metadata ?? {};
  return { name: meta.name ?? '', uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' };
}

/** The member as status.member shows it. */
export function claimMember(pod: CachedPod): ClaimMember {
  const member: ClaimMember = { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  if (pod.status?.podIP) member.podIP = pod.status.podIP;
  if (pod.spec?.nodeName) member.nodeName = pod.spec.nodeName;
  if (isCold(pod)) member.cold = true;
  return member;
}

interface ConditionSpec {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * kstatus' abnormal-true conditions: present only while True. kstatus, Flux and the API conventions read an absent one
 * as False, and each condition a claim carries costs the API server schema work on every status write (measured on
 * the local cluster, 600 claim status writes a round: 4.3 ms of API server CPU each with four conditions, 3.4 with two).
 */
const ABNORMAL_TRUE: ReadonlySet<string> = new Set([CONDITION_RECONCILING, CONDITION_STALLED]);

/**
 * The status with these conditions set (lastTransitionTime moves only on a status change) and observedGeneration;
 * an abnormal-true condition that is False is removed instead.
 */
function stamp(claim: PoolClaim, status: PoolClaimStatus, conditions: ConditionSpec[], now: number): PoolClaimStatus {
  const generation = claim.metadata.generation;
  let list = claim.status?.conditions;
  for (const c of conditions) {
    if (ABNORMAL_TRUE.has(c.type) && c.status === 'False') list = list?.filter((x) => x.type !== c.type);
    else list = setCondition(list, generation === undefined ? c : { ...c, observedGeneration: generation }, new Date(now));
  }
  const out: PoolClaimStatus = { ...status };
  if (list !== undefined) out.conditions = list;
  if (generation !== undefined) out.observedGeneration = generation;
  return out;
}

function waited(claim: PoolClaim, until: number): number | undefined {
  const created = toMillis(claim.metadata.creationTimestamp);
  return created === undefined ? undefined : Math.round(Math.max(0, until - created)) / 1000;
}

function readyCondition(ready: boolean, member: string): ConditionSpec {
  return ready
    ? { type: CONDITION_READY, status: 'True', reason: 'MemberReady', message: `member ${member} is Ready` }
    : { type: CONDITION_READY, status: 'False', reason: 'MemberNotReady', message: `member ${member} is not Ready` };
}

/** The members a status holds: status.members for a claim of several, else status.member. */
export function heldMembers(status: PoolClaimStatus | undefined): ClaimMember[] {
  if (status?.members !== undefined && status.members.length > 0) return status.members;
  return status?.member !== undefined ? [status.member] : [];
}

/** How conditions name what a claim holds: the member, or the members of a claim of several. */
function heldLabel(members: readonly ClaimMember[]): string {
  return members.map((m) => m.name).join(', ');
}

/**
 * Bound to `member` (and, for a claim of count > 1, to all of `all`, member first) since `boundAt`; Ready mirrors
 * the members' Ready conditions (True only when every one is Ready).
 */
export function boundStatus(
  claim: PoolClaim,
  member: ClaimMember,
  memberReady: boolean,
  boundAt: number,
  now: number,
  all?: readonly ClaimMember[],
): PoolClaimStatus {
  const status: PoolClaimStatus = { phase: 'Bound', member, boundAt: isoTime(boundAt) };
  if (all !== undefined && all.length > 1) status.members = [...all];
  const wait = waited(claim, boundAt);
  if (wait !== undefined) status.waitedSeconds = wait;
  return stamp(
    claim,
    status,
    [
      { type: CONDITION_BOUND, status: 'True', reason: 'Bound', message: `bound to member ${heldLabel(heldMembers(status))}` },
      readyCondition(memberReady, heldLabel(heldMembers(status))),
      { type: CONDITION_RECONCILING, status: 'False', reason: 'Bound', message: '' },
      { type: CONDITION_STALLED, status: 'False', reason: 'Bound', message: '' },
    ],
    now,
  );
}

/** Waiting; queuePosition (1 is next) only while Queued. */
export function pendingStatus(
  claim: PoolClaim,
  reason: PendingReason,
  message: string,
  queuePosition: number | undefined,
  now: number,
): PoolClaimStatus {
  const status: PoolClaimStatus = { phase: 'Pending' };
  if (queuePosition !== undefined) status.queuePosition = queuePosition;
  return stamp(
    claim,
    status,
    [
      { type: CONDITION_BOUND, status: 'False', reason, message },
      { type: CONDITION_READY, status: 'False', reason: 'Pending', message: 'no member yet' },
      // kstatus: a waiting claim is in progress, not Current.
      { type: CONDITION_RECONCILING, status: 'True', reason, message },
      { type: CONDITION_STALLED, status: 'False', reason, message: '' },
    ],
    now,
  );
}

/** Failed; waitedSeconds stays unset, as the API defines it as the wait until Bound. */
export function failedStatus(claim: PoolClaim, reason: FailReason, message: string, now: number): PoolClaimStatus {
  return stamp(
    claim,
    { phase: 'Failed' },
    [
      { type: CONDITION_BOUND, status: 'False', reason, message },
      { type: CONDITION_READY, status: 'False', reason, message },
      { type: CONDITION_RECONCILING, status: 'False', reason, message: '' },
      // kstatus: a claim that will never be bound has failed.
      { type: CONDITION_STALLED, status: 'True', reason, message },
    ],
    now,
  );
}

/** Released at `now` (TTL expiry, idle, drain deadline); member, boundAt and waitedSeconds stay as the record of what was held. */
export function releasedStatus(claim: PoolClaim, message: string, now: number, reason: ReleaseReason = 'Expired'): PoolClaimStatus {
  const { member, members, boundAt, waitedSeconds } = claim.status ?? {};
  const status: PoolClaimStatus = { phase: 'Released', releasedAt: isoTime(now) };
  if (member !== undefined) status.member = member;
  if (members !== undefined) status.members = members;
  if (boundAt !== undefined) status.boundAt = boundAt;
  if (waitedSeconds !== undefined) status.waitedSeconds = waitedSeconds;
  const stamped = stamp(
    claim,
    status,
    [
      { type: CONDITION_BOUND, status: 'False', reason, message },
      { type: CONDITION_RECONCILING, status: 'False', reason: 'Released', message: '' },
      { type: CONDITION_STALLED, status: 'False', reason: 'Released', message: '' },
    ],
    now,
  );
  // Ready says whether the member is still Ready; a released claim has no member, so it has no Ready condition
  // (a Ready=False would keep kstatus and Flux waiting on a claim that has done its job).
  if (stamped.conditions) stamped.conditions = stamped.conditions.filter((c) => c.type !== CONDITION_READY);
  return stamped;
}

/** Lost: the member failed or disappeared. Bound turns False too, so nothing waiting for Bound takes it as usable. */
export function lostStatus(
  claim: PoolClaim,
  member: ClaimMember | undefined,
  message: string,
  now: number,
): PoolClaimStatus {
  const { boundAt, waitedSeconds } = claim.status ?? {};
  const status: PoolClaimStatus = { phase: 'Lost' };
  const held = member ?? claim.status?.member;
  if (held !== undefined) status.member = held;
  if (claim.status?.members !== undefined) status.members = claim.status.members;
  if (boundAt !== undefined) status.boundAt = boundAt;
  if (waitedSeconds !== undefined) status.waitedSeconds = waitedSeconds;
  return stamp(
    claim,
    status,
    [
      { type: CONDITION_BOUND, status: 'False', reason: 'MemberLost', message },
      { type: CONDITION_READY, status: 'False', reason: 'MemberLost', message },
      { type: CONDITION_RECONCILING, status: 'False', reason: 'MemberLost', message: '' },
      // kstatus: a Lost claim is never re-bound: it has failed.
      { type: CONDITION_STALLED, status: 'True', reason: 'MemberLost', message },
    ],
    now,
  );
}

/** The Bound claim's status with its Ready condition following the member's. */
export function readyStatus(claim: PoolClaim, memberReady: boolean, now: number): PoolClaimStatus {
  return stamp(claim, { ...claim.status }, [readyCondition(memberReady, heldLabel(heldMembers(claim.status)))], now);
}

/** The claim's condition already says this, for the claim's current generation. */
function conditionSays(claim: PoolClaim, want: ConditionSpec): boolean {
  const generation = claim.metadata.generation;
  const c = getCondition(claim.status?.conditions, want.type);
  return (
    c !== undefined &&
    c.status === want.status &&
    c.reason === want.reason &&
    c.message === want.message &&
    c.observedGeneration === generation &&
    claim.status?.observedGeneration === generation
  );
}

/** The claim is Pending already, with this reason, message and queuePosition: pendingStatus would write nothing new. */
export function pendingCurrent(
  claim: PoolClaim,
  reason: PendingReason,
  message: string,
  queuePosition: number | undefined,
): boolean {
  return (
    claim.status?.phase === 'Pending' &&
    claim.status.queuePosition === queuePosition &&
    conditionSays(claim, { type: CONDITION_BOUND, status: 'False', reason, message })
  );
}

/** The Bound claim's Ready condition already follows its member's: readyStatus would write nothing new. */
export function readyCurrent(claim: PoolClaim, memberReady: boolean): boolean {
  return conditionSays(claim, readyCondition(memberReady, heldLabel(heldMembers(claim.status))));
}

function mergePatch(current: unknown, next: unknown): unknown {
  if (!isRecord(next) || !isRecord(current)) return next;
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (value !== undefined) patch[key] = mergePatch(current[key], value);
  }
  for (const key of Object.keys(current)) {
    if (next[key] === undefined && current[key] !== undefined) patch[key] = null;
  }
  return patch;
}

/**
 * The JSON merge patch of the status subresource that turns `current` into exactly `next`: all of next, plus null for
 * every field next drops (a merge patch would otherwise keep, say, queuePosition after the bind). Lists, conditions
 * among them, are replaced whole.
 */
export function statusMergePatch(current: PoolClaimStatus | undefined, next: PoolClaimStatus): { status: unknown } {
  return { status: mergePatch(current ?? {}, next) };
}

function isPoolReference(ref: V1OwnerReference): boolean {
  return ref.kind === POOL_KIND && ref.apiVersion.split('/')[0] === GROUP;
}

/** A reference to a PoolClaim of any version of our group. */
function isClaimReference(ref: V1OwnerReference): boolean {
  return ref.kind === CLAIM_KIND && ref.apiVersion.split('/')[0] === GROUP;
}

/**
 * The bind: the member is labelled claimed with its claim's name, annotated with the claim's uid (the idempotency
 * key), the claim time and the acquiredBy/For stamps, and its controller reference moves from the pool to the
 * claim. The garbage collector deletes a dependent only once all of its owners are gone, so a member that kept its
 * pool reference would outlive a deleted claim whenever the operator is not there to delete it; with the claim as
 * its only owner, deleting a Delete claim removes the member even while the operator is down. The member keeps its
 * warmpool.dev/pool label, which is how the pool still counts it as claimed. Stamps the claim leaves unset are
 * cleared.
 */
export function memberClaimPatch(claim: PoolClaim, pod: CachedPod, now: number): PodMergePatch {
  const meta = pod.metadata ?? {};
  const ownerReferences = (meta.ownerReferences ?? []).filter((ref) => !isClaimReference(ref) && !isPoolReference(ref));
  ownerReferences.push(claimOwnerReference(claim));
  return {
    metadata: {
      resourceVersion: meta.resourceVersion ?? '',
      labels: { [LABEL_STATE]: 'claimed', [LABEL_CLAIM]: claim.metadata.name ?? '' },
      annotations: {
        [ANN_CLAIM_UID]: claim.metadata.uid ?? '',
        [ANN_CLAIMED_AT]: isoTime(now),
        [ANN_ACQUIRED_BY]: claim.spec.acquiredBy ?? null,
        [ANN_ACQUIRED_FOR]: claim.spec.acquiredFor ?? null,
      },
      ownerReferences,
    },
  };
}

/**
 * The return: the member is labelled ready again, loses every mark of its claim and gets its pool back as
 * controller. Its ready-at annotation stays, so under OldestReady a returned member is handed out again before
 * members that became ready after it.
 */
export function memberReturnPatch(pod: CachedPod, pool: InstancePool): PodMergePatch {
  const meta = pod.metadata ?? {};
  return {
    metadata: {
      resourceVersion: meta.resourceVersion ?? '',
      labels: { [LABEL_STATE]: 'ready', [LABEL_CLAIM]: null },
      annotations: { [ANN_CLAIM_UID]: null, [ANN_CLAIMED_AT]: null, [ANN_ACQUIRED_BY]: null, [ANN_ACQUIRED_FOR]: null },
      ownerReferences: [
        ...(meta.ownerReferences ?? []).filter((ref) => !isClaimReference(ref) && !isPoolReference(ref)),
        poolOwnerReference(pool),
      ],
    },
  };
}

/**
 * The entries of a claim's memberMetadata map that may reach a member: string values under keys that are not the
 * operator's. The schema refuses the rest; a claim stored before it (or not from the API server) still never gets to
 * stamp a warmpool.dev/ key on a member, since every reserved key would overwrite or forge the operator's own marks.
 */
function stampable(map: unknown): [string, string][] {
  if (!isRecord(map)) return [];
  return Object.entries(map).filter((e): e is [string, string] => typeof e[1] === 'string' && !isReservedKey(e[0]));
}

/** The bind patch with the claim's memberMetadata added: the same single write, guarded by the same resourceVersion. */
export function withMemberMetadata(patch: PodMergePatch, metadata: MemberMetadata | undefined): PodMergePatch {
  if (metadata === undefined) return patch;
  return {
    metadata: {
      ...patch.metadata,
      labels: { ...Object.fromEntries(stampable(metadata.labels)), ...patch.metadata.labels },
      annotations: { ...Object.fromEntries(stampable(metadata.annotations)), ...patch.metadata.annotations },
    },
  };
}

/** The return patch with the claim's memberMetadata removed again (memberMetadata is immutable, so these are its keys). */
export function withoutMemberMetadata(patch: PodMergePatch, metadata: MemberMetadata | undefined): PodMergePatch {
  if (metadata === undefined) return patch;
  const cleared = (map: unknown): Record<string, null> => Object.fromEntries(stampable(map).map(([k]) => [k, null]));
  return {
    metadata: {
      ...patch.metadata,
      labels: { ...cleared(metadata.labels), ...patch.metadata.labels },
      annotations: { ...cleared(metadata.annotations), ...patch.metadata.annotations },
    },
  };
}

/** A member created cold for its claim (fallback Cold). */
export function isCold(pod: CachedPod): boolean {
  return pod.metadata?.annotations?.[ANN_COLD] === 'true';
}

/** The name of a claim's i-th cold member: fixed per claim (uid), so a create is idempotent. */
export function coldMemberName(claim: PoolClaim, index: number, count: number): string {
  const uid = (claim.metadata.uid ?? '').replace(/[^a-z0-9]/g, '').slice(0, 8);
  return `${claim.metadata.name ?? ''}-cold-${uid}${count > 1 ? `-${index}` : ''}`;
}

/**
 * A member created for its claim: the pool's member pod (template, pool label, template hash, warming-started-at)
 * with the claim's bind already applied (claimed, the claim's marks and memberMetadata, the claim as its only
 * controller) and the cold mark, so there is no second write to bind it.
 */
export function coldMemberPod(claim: PoolClaim, member: V1Pod, name: string, now: number): V1Pod {
  const bind = withMemberMetadata(memberClaimPatch(claim, member, now), claim.spec.memberMetadata).metadata;
  const merged = (base: Record<string, string> | undefined, over: Record<string, string | null>): Record<string, string> => {
    const out: Record<string, string> = { ...base };
    for (const [key, value] of Object.entries(over)) {
      if (value === null) delete out[key];
      else out[key] = value;
    }
    return out;
  };
  return {
    ...member,
    metadata: {
      name,
      namespace: member.metadata?.namespace,
      labels: merged(member.metadata?.labels, bind.labels),
      annotations: { ...merged(member.metadata?.annotations, bind.annotations), [ANN_COLD]: 'true' },
      ownerReferences: bind.ownerReferences,
    },
  };
}

/** The return patch of a cold member also drops the cold mark: back in the pool it is an ordinary member. */
export function withoutColdMark(patch: PodMergePatch, pod: CachedPod): PodMergePatch {
  if (!isCold(pod)) return patch;
  return { metadata: { ...patch.metadata, annotations: { ...patch.metadata.annotations, [ANN_COLD]: null } } };
}

export function hasFinalizer(claim: PoolClaim): boolean {
  return claim.metadata.finalizers?.includes(CLAIM_FINALIZER) === true;
}

export function addFinalizerPatch(claim: PoolClaim): FinalizerPatch {
  const finalizers = [...(claim.metadata.finalizers ?? []), CLAIM_FINALIZER];
  return { metadata: { resourceVersion: claim.metadata.resourceVersion ?? '', finalizers } };
}

export function removeFinalizerPatch(claim: PoolClaim): FinalizerPatch {
  const finalizers = (claim.metadata.finalizers ?? []).filter((f) => f !== CLAIM_FINALIZER);
  return { metadata: { resourceVersion: claim.metadata.resourceVersion ?? '', finalizers } };
}
