// The vocabulary of the pool planner: the knobs it works with, the actions it asks the shell to carry out, and
// (the spec with its defaults applied comes from api/resolve.ts). Times are epoch milliseconds throughout (the shell passes Date.now()).
import { ANN_READY_AT, LABEL_STATE, type LifecycleClass } from '../api/types.js';
import { pointer, type JsonPatchOp } from '../kube/patch.js';
import type { DeleteReason } from '../member/members.js';

/** Failures within this window decide back-off and the Degraded condition. */
export const FAILURE_WINDOW_MS = 5 * 60_000;
/** From this many failures in the window the pool is Degraded and creation backs off. */
export const FAILURE_THRESHOLD = 5;
/** The back-off doubles with every failure past the threshold, from this base up to the cap. */
export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_CAP_MS = 5 * 60_000;

/** A ready member's TTL is stretched by up to this fraction, stable per member, so a cohort does not expire at once. */
export const TTL_JITTER = 0.1;
/** At most max(1, this fraction of the target) TTL recycles per window. */
export const TTL_RECYCLE_FRACTION = 0.1;
/** The window the shell counts TTL recycles over (the planner's `recyclesInWindow` input). */
export const TTL_RECYCLE_WINDOW_MS = 60_000;

/** A template change replaces at most max(1, this fraction of the target) members at a time. */
export const DRIFT_BATCH_FRACTION = 0.25;

/** Most creates asked for in one pass, like the ReplicaSet controller's burstReplicas. */
export const MAX_CREATES_PER_PASS = 500;

/**
 * Creation grows in rounds, like TCP slow start: a new round only once the scheduler has placed every earlier
 * member, and a round creates at most as many members as are already placed (at least this many). A cluster with
 * room for C more pods so sees at most about 2C members of a pool, never thousands held Pending.
 */
export const SLOW_START_INITIAL = 1;

/** The operator-wide cap on one pool's members (claimed and terminating included), `--max-members-per-pool`. */
export const DEFAULT_MAX_MEMBERS_PER_POOL = 1000;

/** No requeue sooner than this: a timer due in a few ms is not worth a pass of its own. */
export const REQUEUE_FLOOR_MS = 1000;

/** The warm-up figures in status are taken over this many of the most recently ready members. */
export const WARMUP_SAMPLES = 20;

// The spec as the planner sees it is resolved at the door (api/resolve.ts); re-exported for the planner's files.
export { resolveSpec, type ResolvedSpec } from '../api/resolve.js';

export type { DeleteReason } from '../member/members.js';

/** Create `count` members from the current template. The shell issues them in slow-start batches (slowStartBatches). */
export interface CreateAction {
  kind: 'create';
  count: number;
}

/**
 * Delete one member. The shell deletes with preconditions on uid and resourceVersion: a member a claim bound after
 * our cache saw it has a new resourceVersion, so the delete fails with 409 instead of killing claimed work.
 */
export interface DeleteAction {
  kind: 'delete';
  pod: string;
  uid: string;
  resourceVersion: string;
  reason: DeleteReason;
  /** Counts toward status.erroredCount (and, for back-off reasons, goes into the shell's failure history). */
  errored: boolean;
}

/** One patch of the member: state label warming -> ready and the ready-at annotation (memberReadyPatch). */
export interface MarkReadyAction {
  kind: 'mark-ready';
  pod: string;
  uid: string;
  resourceVersion: string;
  /** RFC 3339 with milliseconds, for the ready-at annotation. */
  readyAt: string;
  /** The JSON Patch to send as it is. */
  patch: JsonPatchOp[];
  /** Seconds from warming-started-at to readyAt, observed once the patch succeeds; undefined when unknown. */
  warmupSeconds: number | undefined;
}

/**
 * The mark-ready patch of one member. Guarded by uid and the state label, not the resourceVersion: the pod's own
 * status updates must not make it fail and retry (a write too many), while a claim that bound the member meanwhile
 * still does (the test of the label fails with 422).
 */
export function memberReadyPatch(uid: string, readyAt: string): JsonPatchOp[] {
  const state = `/metadata/labels/${pointer(LABEL_STATE)}`;
  return [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'test', path: state, value: 'warming' },
    { op: 'replace', path: state, value: 'ready' },
    { op: 'add', path: `/metadata/annotations/${pointer(ANN_READY_AT)}`, value: readyAt },
  ];
}

/**
 * The patch that hands a returned member back to allocation once it has rested (cooldown over, reset seen):
 * state cooling or resetting -> ready. Guarded like memberReadyPatch, by uid and the label it found.
 */
export function memberRestedPatch(uid: string, from: 'cooling' | 'resetting'): JsonPatchOp[] {
  const state = `/metadata/labels/${pointer(LABEL_STATE)}`;
  return [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'test', path: state, value: from },
    { op: 'replace', path: state, value: 'ready' },
  ];
}

export type RequeueWhy = 'warming-timeout' | 'ttl' | 'ttl-cap' | 'backoff' | 'failure-window' | 'cooldown';

/** Reconcile the pool again after this delay: a timer is due. At most one per plan, the earliest. */
export interface RequeueAction {
  kind: 'requeue';
  afterMs: number;
  why: RequeueWhy;
}

export type PoolAction = CreateAction | DeleteAction | MarkReadyAction | RequeueAction;

/** A member failure the shell remembers per pool (controller memory, lost on restart, which is fine). */
export interface FailureRecord {
  at: number;
  reason: DeleteReason;
  /** The member's uid, so a failure seen twice (our delete, then its watch event) is recorded once. */
  uid?: string;
}

/**
 * Failures that mean the template, its workload or its placement is unhealthy: these drive back-off and Degraded.
 * An eviction does for an ephemeral pool (its members are not meant to be disrupted); for a spot pool it is routine.
 */
export function isBackoffFailure(reason: DeleteReason, lifecycleClass: LifecycleClass = 'ephemeral'): boolean {
  if (reason === 'evicted') return lifecycleClass === 'ephemeral';
  return reason === 'failed' || reason === 'unhealthy' || reason === 'warming-timeout';
}

/** What the recent failure history says about the pool. */
export interface FailureAssessment {
  /** Back-off failures within FAILURE_WINDOW_MS. */
  recent: number;
  warmingTimeouts: number;
  evictions: number;
  /** recent >= FAILURE_THRESHOLD: condition Degraded, creation backs off and goes one member at a time. */
  degraded: boolean;
  /** The most frequent kind of failure in the window (a tie goes to the most recent). */
  reason: 'CrashLooping' | 'WarmingTimeout' | 'Evicted';
  /** Delay after the last failure before the next create; 0 when not degraded. */
  backoffMs: number;
  lastAt: number | undefined;
  /** When the window has slid far enough for the pool to stop being Degraded; undefined when not degraded. */
  recoversAt: number | undefined;
}
