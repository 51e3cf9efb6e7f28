// A plain, decided view of one member pod: which lifecycle phase it is in and the few facts the planner, the status
// and the claim allocator read. Pure: no clock, no I/O.
import type { V1PodCondition } from '@kubernetes/client-node';
import type { CachedPod } from './cached-pod.js';
import {
  ANN_CLAIM_UID,
  ANN_COLD,
  ANN_LEASE_TOKEN,
  ANN_READY_AT,
  ANN_RETURNED_AT,
  ANN_REUSE_COUNT,
  ANN_WARMING_STARTED,
  CLAIM_KIND,
  LABEL_CLAIM,
  LABEL_POOL,
  LABEL_STATE,
  LABEL_TEMPLATE_HASH,
  POOL_KIND,
} from '../api/types.js';
import { joinKey } from '../kube/key.js';

/**
 * warming and ready are warm; claimed belongs to a claim whatever its health (the claim decides); terminating has a
 * deletionTimestamp and never counts as warm; failed is an unclaimed member that must be replaced.
 */
export type MemberPhase = 'warming' | 'ready' | 'claimed' | 'terminating' | 'failed';

/** Why a member is unhealthy. NotReady only applies to an unclaimed member labelled ready that lost readiness. */
export type MemberFailure = 'PodFailed' | 'PodSucceeded' | 'CrashLoopBackOff' | 'Restarted' | 'Evicted' | 'NotReady';

export interface MemberView {
  name: string;
  uid: string;
  resourceVersion: string;
  /** The warmpool.dev/state label as found (it lags the pod: a Ready pod may still say warming). */
  stateLabel: string | undefined;
  phase: MemberPhase;
  /** False when the member failed (see failure); a claimed member keeps phase claimed and exposes this instead. */
  healthy: boolean;
  failure: MemberFailure | undefined;
  /** The Ready condition is True. */
  ready: boolean;
  /** PodScheduled is False with reason Unschedulable. */
  unschedulable: boolean;
  /** The scheduler's message when unschedulable. */
  unschedulableMessage: string | undefined;
  /** Evicted (status reason Evicted) or marked for disruption (DisruptionTarget True). */
  evicted: boolean;
  createdAt: number | undefined;
  /** When PodScheduled became True. */
  scheduledAt: number | undefined;
  /** The ready-at annotation, else the Ready condition's lastTransitionTime while Ready. */
  readyAt: number | undefined;
  /** The warming-started-at annotation, else creationTimestamp. */
  warmingStartedAt: number | undefined;
  templateHash: string | undefined;
  nodeName: string | undefined;
  claimName: string | undefined;
  claimUid: string | undefined;
  /** The fencing token of the member's last bind (annotation warmpool.dev/lease-token); 0 before its first. */
  leaseToken: number;
  /** How often the member was returned to the pool (annotation warmpool.dev/reuse-count). */
  reuses: number;
  /** When it was last returned (annotation warmpool.dev/returned-at): cooldown and reset count from here. */
  returnedAt: number | undefined;
  /**
   * A returned member held out of allocation (state label cooling or resetting). Its phase is warming until the
   * pool labels it ready again: it is on its way back, counted warm, never handed out.
   */
  resting: 'cooling' | 'resetting' | undefined;
  /** While Ready: when the Ready condition last turned True (whole seconds, as the API keeps it). */
  readySince: number | undefined;
}

/** Epoch milliseconds of a Kubernetes time. client-node gives Date from lists but plain strings from watch events. */
export function toMillis(value: unknown): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') ms = Date.parse(value);
  else if (typeof value === 'number') ms = value;
  else return undefined;
  return Number.isFinite(ms) ? ms : undefined;
}

function condition(pod: CachedPod, type: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

function failureOf(pod: CachedPod, ready: boolean, evicted: boolean): MemberFailure | undefined {
  if (evicted) return 'Evicted';
  if (pod.status?.phase === 'Failed') return 'PodFailed';
  if (pod.status?.phase === 'Succeeded') return 'PodSucceeded';
  const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  if (containers.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')) return 'CrashLoopBackOff';
  // A container that restarted and is not Ready is crashing, even before the kubelet reports CrashLoopBackOff.
  if (!ready && containers.some((c) => c.restartCount > 0)) return 'Restarted';
  return undefined;
}

// Views by pod object. The informer replaces a pod's object on every change and never mutates a cached one, so a
// view stays true for as long as its object is the cached one. Both controllers classify every member of a pool on
// every pass: without this, a burst of 1,000 claims spent most of the operator's CPU re-reading the same pods
// (Date parsing above all).
const views = new WeakMap<CachedPod, Readonly<MemberView>>();

/** The member's view; pure over the pod, and computed once per pod object. */
export function classifyMember(pod: CachedPod): Readonly<MemberView> {
  let view = views.get(pod);
  if (view === undefined) {
    view = Object.freeze(classify(pod));
    views.set(pod, view);
  }
  return view;
}

function classify(pod: CachedPod): MemberView {
  const meta = pod.metadata ?? {};
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const stateLabel = labels[LABEL_STATE];
  const claimName = labels[LABEL_CLAIM];

  const readyCond = condition(pod, 'Ready');
  const ready = readyCond?.status === 'True';
  const scheduledCond = condition(pod, 'PodScheduled');
  const unschedulable = scheduledCond?.status === 'False' && scheduledCond.reason === 'Unschedulable';
  const evicted = pod.status?.reason === 'Evicted' || condition(pod, 'DisruptionTarget')?.status === 'True';

  let failure = failureOf(pod, ready, evicted);
  const claimed = stateLabel === 'claimed' || claimName !== undefined;
  if (failure === undefined && !claimed && stateLabel === 'ready' && !ready) failure = 'NotReady';

  const resting = stateLabel === 'cooling' || stateLabel === 'resetting' ? stateLabel : undefined;
  let phase: MemberPhase;
  if (meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null) phase = 'terminating';
  else if (claimed) phase = 'claimed';
  else if (failure !== undefined) phase = 'failed';
  else if (resting !== undefined) phase = 'warming';
  else if (ready) phase = 'ready';
  else phase = 'warming';

  const createdAt = toMillis(meta.creationTimestamp);
  return {
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    resourceVersion: meta.resourceVersion ?? '',
    stateLabel,
    phase,
    healthy: failure === undefined,
    failure,
    ready,
    unschedulable,
    unschedulableMessage: unschedulable ? scheduledCond?.message : undefined,
    evicted,
    createdAt,
    scheduledAt: scheduledCond?.status === 'True' ? toMillis(scheduledCond.lastTransitionTime) : undefined,
    readyAt: toMillis(annotations[ANN_READY_AT]) ?? (ready ? toMillis(readyCond?.lastTransitionTime) : undefined),
    warmingStartedAt: toMillis(annotations[ANN_WARMING_STARTED]) ?? createdAt,
    templateHash: labels[LABEL_TEMPLATE_HASH],
    nodeName: pod.spec?.nodeName,
    claimName,
    claimUid: annotations[ANN_CLAIM_UID],
    leaseToken: annotationCount(annotations[ANN_LEASE_TOKEN]),
    reuses: annotationCount(annotations[ANN_REUSE_COUNT]),
    returnedAt: toMillis(annotations[ANN_RETURNED_AT]),
    resting,
    readySince: ready ? toMillis(readyCond?.lastTransitionTime) : undefined,
  };
}

/**
 * A count the operator keeps in an annotation (lease token, reuse count): a decimal integer, anything else (absent,
 * edited by hand) reads as 0, and it never exceeds what a number holds exactly, so a bind can always add one.
 */
export function annotationCount(value: string | undefined): number {
  if (value === undefined || !/^[0-9]{1,16}$/.test(value)) return 0;
  return Math.min(Number(value), Number.MAX_SAFE_INTEGER - 1);
}

/** Why a member is deleted: the pool planner decides it, the metrics count it (warmpool_members_recycled_total). */
export type DeleteReason =
  | 'scale-down'
  | 'ttl'
  | 'template-drift'
  /** Was labelled ready but its Ready condition is no longer True. */
  | 'unhealthy'
  /** Pod phase Failed or Succeeded, or a crashing container. */
  | 'failed'
  /** Evicted or disrupted (spot reclaim, node pressure, preemption). */
  | 'evicted'
  | 'warming-timeout'
  | 'drain'
  | 'pool-deleting';

/**
 * Who a pod labelled with a pool belongs to, by its controller reference, never by labels (anyone who can create a
 * pod can label one): 'pool' when its controller is the pool (uid matched), 'claim' when its controller is the
 * PoolClaim whose uid the pod records (a bound member), undefined for anything else: an impostor, never allocated,
 * counted or deleted.
 */
export type MemberOwner = 'pool' | 'claim';

export function memberOwner(pod: CachedPod, poolUid: string | undefined): MemberOwner | undefined {
  // Every pass of both controllers asks this of every pod of the pool; a cached pod is never changed in place.
  const known = owners.get(pod);
  if (known !== undefined && known.poolUid === poolUid) return known.owner;
  const owner = findOwner(pod, poolUid);
  owners.set(pod, { poolUid, owner });
  return owner;
}

const owners = new WeakMap<CachedPod, { poolUid: string | undefined; owner: MemberOwner | undefined }>();

function findOwner(pod: CachedPod, poolUid: string | undefined): MemberOwner | undefined {
  const controller = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (!controller?.uid) return undefined;
  if (controller.kind === POOL_KIND && poolUid !== undefined && poolUid !== '' && controller.uid === poolUid) return 'pool';
  if (controller.kind === CLAIM_KIND && controller.uid === pod.metadata?.annotations?.[ANN_CLAIM_UID]) return 'claim';
  return undefined;
}

/**
 * Whether a pod's appearance answers one of the pool's own creates (its create expectations): one of its members,
 * but not one the claim controller created cold for a claim (fallback Cold, annotation warmpool.dev/cold), which
 * would otherwise stand in for a create of the pool's still on its way and let the pool create one too many.
 */
export function poolCreated(pod: CachedPod, poolUid: string | undefined): boolean {
  return memberOwner(pod, poolUid) !== undefined && pod.metadata?.annotations?.[ANN_COLD] !== 'true';
}

/** The pool's members among pods carrying its label; see memberOwner. */
export function ownedMembers(pods: readonly CachedPod[], poolUid: string | undefined): CachedPod[] {
  return pods.filter((p) => memberOwner(p, poolUid) !== undefined);
}

/**
 * The key of the pool a pod names in its pool label, for waking that pool's controllers; membership itself is the
 * controller reference (memberOwner), checked in the pass.
 */
export function memberPoolKey(pod: CachedPod): string | undefined {
  const pool = pod.metadata?.labels?.[LABEL_POOL];
  return pool && pod.metadata?.namespace ? joinKey(pod.metadata.namespace, pool) : undefined;
}
