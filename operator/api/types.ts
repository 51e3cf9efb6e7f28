// v1alpha1 types of the warmpool.dev API. These interfaces are the contract between the CRD schema
// (operator/api/schema.ts, rendered to crds/) and the controllers; a test keeps the two in agreement.
import type { V1ObjectMeta, V1PodTemplateSpec } from '@kubernetes/client-node';

export const GROUP = 'warmpool.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const POOL_KIND = 'InstancePool';
export const POOL_PLURAL = 'instancepools';
export const CLAIM_KIND = 'PoolClaim';
export const CLAIM_PLURAL = 'poolclaims';
/** Where each custom resource lives in the API, for the typed clients (kube/patch.ts customClient). */
export const POOL_RESOURCE = { group: GROUP, version: VERSION, plural: POOL_PLURAL } as const;
export const CLAIM_RESOURCE = { group: GROUP, version: VERSION, plural: CLAIM_PLURAL } as const;

/** metav1.Condition, as the API conventions define it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type LifecycleClass = 'ephemeral' | 'spot';
export type ClaimOrder = 'OldestReady' | 'NewestReady' | 'PackNodes' | 'SpreadNodes';
export type QueueStrategy = 'Priority' | 'FIFO' | 'FairShare';
export type OnFull = 'RejectNewest' | 'RejectOldest';
export type ScrapeVia = 'Direct' | 'APIServerProxy';

export interface ClaimQueueSpec {
  /** Priority (default): higher priority first, then FIFO. FIFO: creation order. FairShare: round robin over acquiredBy. */
  strategy?: QueueStrategy;
  /** Most claims that may wait; unset means unbounded. */
  maxPending?: number;
  /** Which claim fails (reason QueueFull) when a new claim would exceed maxPending. Default RejectNewest. */
  onFull?: OnFull;
}

export interface MemberMetricsSpec {
  /** Port of the member's Prometheus endpoint. */
  port: number;
  /** Path of the endpoint; default /metrics. */
  path?: string;
  /** Seconds between scrapes; default 15. */
  intervalSeconds?: number;
  /** Direct (default) dials http://<podIP>:<port><path>; APIServerProxy goes through the pod proxy subresource. */
  via?: ScrapeVia;
  /** Counter of HTTP requests served. */
  httpRequestsCounter?: string;
  /** Counter of TCP connections (or requests) served. */
  tcpRequestsCounter?: string;
  /** Counter of method (RPC) requests served. */
  methodRequestsCounter?: string;
  /** Gauge of requests in flight. */
  inflightGauge?: string;
}

export type OnDrainDeadline = 'Wait' | 'Release';

/** How long a drain or a deletion waits for the claims that hold members, and what happens then. */
export interface DrainPolicySpec {
  /** Seconds from the start of the drain (or the deletion) to the deadline; unset: no deadline. */
  deadlineSeconds?: number;
  /** At the deadline: Wait (default) keeps waiting; Release ends the blocking claims (reason Drained). */
  onDeadline?: OnDrainDeadline;
}

/** How a member handed back by a Return claim is reused. */
export interface ReuseSpec {
  /** A member returned this many times is deleted at its next return instead; unset: no limit. */
  maxReuses?: number;
  /** A returned member stays out of allocation this long (state cooling); default 0. */
  cooldownSeconds?: number;
  /**
   * A returned member (state resetting) is handed out again only after its Ready condition went False and True
   * again after the return, so the workload can clean itself up and flip its readiness probe. Default false.
   */
  requireReset?: boolean;
}

export type AutoscalingMode = 'Proportional' | 'Objective';

/** A cron window that raises the pool's floor while it is open, for known busy hours. */
export interface ScheduleWindow {
  /** When the window opens: a 5-field cron expression (minute hour day-of-month month day-of-week) in timeZone. */
  start: string;
  /** How long it stays open from each start. */
  durationSeconds: number;
  /** IANA time zone the cron is read in; default UTC. */
  timeZone?: string;
  /** The floor while the window is open (the higher of this and spec.minSize). */
  minSize: number;
}

/** The pool sizes itself: the operator writes spec.targetSize through the scale subresource. */
export interface AutoscalingSpec {
  /** Proportional: a percent of the claimed members. Objective: the smallest target that meets a wait objective. */
  mode: AutoscalingMode;
  /** Proportional: warm target = ceil(percentOfClaimed% x claimed). */
  percentOfClaimed?: number;
  /** Objective: the share of claims that may find no ready member (0.01 = 1%). */
  maxWaitProbability?: number;
  /** Objective: the time constant of the exponentially weighted claim rate; default 60. */
  rateWindowSeconds?: number;
  /** A lower target is taken only once every recommendation of this window is at or below it; default 300. */
  scaleDownStabilizationSeconds?: number;
  /** Windows that raise minSize while they are open. */
  schedule?: ScheduleWindow[];
}

export interface InstancePoolSpec {
  template: V1PodTemplateSpec;
  targetSize: number;
  minSize?: number;
  maxSize?: number;
  lifecycleClass?: LifecycleClass;
  warmingTimeoutSeconds?: number;
  readyTTLSeconds?: number;
  paused?: boolean;
  drain?: boolean;
  claimOrder?: ClaimOrder;
  claimQueue?: ClaimQueueSpec;
  metrics?: MemberMetricsSpec;
  /**
   * Claimed members refuse eviction (default true): the bind marks them safe-to-evict "false" for the cluster
   * autoscaler and a PodDisruptionBudget of the pool's (minAvailable above any count) covers them, so the Eviction API says 429.
   */
  evictionProtection?: boolean;
  drainPolicy?: DrainPolicySpec;
  reuse?: ReuseSpec;
  autoscaling?: AutoscalingSpec;
}

export type PoolPhase = 'Active' | 'Paused' | 'Draining' | 'Terminating';

export interface PoolUtilization {
  /** Request figures: only for pools with spec.metrics (their members' endpoints). */
  combinedRps?: number;
  httpRps?: number;
  tcpRps?: number;
  methodRps?: number;
  inflight?: number;
  avgCpuPercent?: number;
  avgMemoryPercent?: number;
  /** RFC 3339 time of the sample these figures come from. */
  sampledAt: string;
}

export interface WarmupStatus {
  /** Seconds from creation to Ready of the most recent member. */
  lastSeconds?: number;
  /** Mean over the recent members (up to 20). */
  averageSeconds?: number;
  /** Number of members the mean is taken over. */
  samples?: number;
}

/** Why the autoscaler chose the target it last wrote: its inputs and outcome at that decision. */
export interface AutoscalingStatus {
  /** The target written to spec.targetSize. */
  target: number;
  /** What decided it: Objective, Proportional, Schedule (a window's floor), MinSize, MaxSize, Stabilized, WarmupUnknown. */
  reason: string;
  /** The floor at the decision: the higher of spec.minSize and the open schedule windows' minSize. */
  floor: number;
  /** Claims per second (exponentially weighted) at the decision. */
  claimRate?: number;
  /** The highest claim rate within the stabilization window: the rate the target is held for. */
  peakClaimRate?: number;
  /** The warm-up time (status.warmup.averageSeconds) the objective used. */
  warmupSeconds?: number;
  /** Claimed members at the decision (Proportional). */
  claimed?: number;
  /** The share of claims the objective predicts will find no ready member, at the claim rate and this target. */
  predictedWaitProbability?: number;
  /** When the autoscaler last changed spec.targetSize. */
  lastScaleTime?: string;
}

export interface InstancePoolStatus {
  phase?: PoolPhase;
  observedGeneration?: number;
  targetSize?: number;
  warmingCount?: number;
  readyCount?: number;
  claimedCount?: number;
  erroredCount?: number;
  /** Warm members (warming + ready), for the scale subresource. */
  replicas?: number;
  /** Label selector of the pool's members, for the scale subresource. */
  selector?: string;
  pendingClaims?: number;
  conditions?: Condition[];
  warmup?: WarmupStatus;
  utilization?: PoolUtilization;
  /** Template hash members are created with now. */
  templateHash?: string;
  /** While a drain or a deletion waits for claimed members: the claims that hold them. */
  blockingClaims?: BlockingClaims;
  /** When the current drain started (the drain deadline counts from here; a deletion counts from its timestamp). */
  drainStartedAt?: string;
  /** The autoscaler's last decision, with why. */
  autoscaling?: AutoscalingStatus;
}

export interface BlockingClaims {
  /** How many claims hold the pool's members. */
  count: number;
  /** The first of them by name (at most 10). */
  names: string[];
}

export interface InstancePool {
  apiVersion: typeof API_VERSION;
  kind: typeof POOL_KIND;
  metadata: V1ObjectMeta;
  spec: InstancePoolSpec;
  status?: InstancePoolStatus;
}

export type ReclaimPolicy = 'Delete' | 'Return';

export interface PoolClaimSpec {
  poolName: string;
  acquiredBy?: string;
  acquiredFor?: string;
  reclaimPolicy?: ReclaimPolicy;
  waitTimeoutSeconds?: number;
  ttlSecondsAfterBound?: number;
  priority?: number;
  /** Labels and annotations written onto the member in the bind patch (issue 21). */
  memberMetadata?: MemberMetadata;
  /** Released (reason Idle) when the claim's warmpool.dev/heartbeat annotation is older than this (issue 21). */
  idleTimeoutSeconds?: number;
  /** With no ready member, bind the warming member closest to Ready (Bound, Ready False until it is). */
  acceptWarming?: boolean;
  /** How many members to bind, all or nothing (default 1). */
  count?: number;
  /** Cold: a claim that would wait gets a member created for it from the pool's template (default None). */
  fallback?: ClaimFallback;
}

export type ClaimFallback = 'None' | 'Cold';

/** What a claim stamps on its member in the bind; keys of the operator or of the pool's template are refused. */
export interface MemberMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type ClaimPhase = 'Pending' | 'Bound' | 'Released' | 'Failed' | 'Lost';

export interface ClaimMember {
  name: string;
  uid: string;
  podIP?: string;
  nodeName?: string;
  /** Created for the claim (fallback Cold), not taken warm from the pool. */
  cold?: boolean;
  /** The member's fencing token for this bind (annotation warmpool.dev/lease-token): higher than any earlier bind's. */
  token?: number;
}

export interface PoolClaimStatus {
  phase?: ClaimPhase;
  observedGeneration?: number;
  member?: ClaimMember;
  /** Every member of a claim of count > 1, in bind order; member is the first of them. */
  members?: ClaimMember[];
  boundAt?: string;
  waitedSeconds?: number;
  queuePosition?: number;
  releasedAt?: string;
  conditions?: Condition[];
}

export interface PoolClaim {
  apiVersion: typeof API_VERSION;
  kind: typeof CLAIM_KIND;
  metadata: V1ObjectMeta;
  spec: PoolClaimSpec;
  status?: PoolClaimStatus;
}

/** Labels and annotations the operator writes on member pods. */
export const LABEL_POOL = 'warmpool.dev/pool';
export const LABEL_STATE = 'warmpool.dev/state';
export const LABEL_TEMPLATE_HASH = 'warmpool.dev/template-hash';
export const LABEL_CLAIM = 'warmpool.dev/claim';
export const ANN_WARMING_STARTED = 'warmpool.dev/warming-started-at';
export const ANN_READY_AT = 'warmpool.dev/ready-at';
export const ANN_CLAIM_UID = 'warmpool.dev/claim-uid';
export const ANN_CLAIMED_AT = 'warmpool.dev/claimed-at';
export const ANN_ACQUIRED_BY = 'warmpool.dev/acquired-by';
export const ANN_ACQUIRED_FOR = 'warmpool.dev/acquired-for';
/** On a member created cold for its claim (fallback Cold): "true". */
export const ANN_COLD = 'warmpool.dev/cold';
/** On a claim: the RFC 3339 time its holder last showed it is alive (idleTimeoutSeconds). */
export const ANN_HEARTBEAT = 'warmpool.dev/heartbeat';
/** Finalizers: the pool's stops replenishment and waits for members; the claim's carries out Return. */
export const POOL_FINALIZER = 'warmpool.dev/pool-protection';
export const CLAIM_FINALIZER = 'warmpool.dev/claim-release';

export type MemberState = 'warming' | 'ready' | 'claimed' | 'cooling' | 'resetting';
export const RESERVED_LABELS = [LABEL_POOL, LABEL_STATE, LABEL_TEMPLATE_HASH, LABEL_CLAIM] as const;

/**
 * Label and annotation keys with this prefix are the operator's: a template may not carry them and a member never
 * gets one from its template. Exactly this prefix: subdomains (`sim.warmpool.dev/`, `team.warmpool.dev/`) are
 * ordinary keys. A key prefix is a lowercase DNS subdomain, so no other spelling of it is a valid key.
 */
export const RESERVED_KEY_PREFIX = `${GROUP}/`;

export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED_KEY_PREFIX);
}

/**
 * Member safety (issue 20): the fencing token every bind raises by one, how often the member was returned, when it
 * was last returned (cooldown and reset are measured from it), and the cluster autoscaler's eviction veto.
 */
export const ANN_LEASE_TOKEN = 'warmpool.dev/lease-token';
export const ANN_REUSE_COUNT = 'warmpool.dev/reuse-count';
export const ANN_RETURNED_AT = 'warmpool.dev/returned-at';
export const ANN_SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
