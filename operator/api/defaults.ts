// Defaults of the v1alpha1 API. The CRD schema (schema.ts) carries the same constants, so an object the API server
// defaulted and one that never went through it (an old CRD, a file) resolve to the same spec here.
import type { AutoscalingSpec, ClaimQueueSpec, DrainPolicySpec, InstancePoolSpec, MemberMetricsSpec, PoolClaimSpec, ReuseSpec, ScheduleWindow } from './types.js';

export const POOL_DEFAULTS = {
  minSize: 0,
  lifecycleClass: 'ephemeral',
  warmingTimeoutSeconds: 600,
  readyTTLSeconds: 0,
  paused: false,
  drain: false,
  claimOrder: 'OldestReady',
  evictionProtection: true,
} as const satisfies Partial<InstancePoolSpec>;

/** maxSize defaults to targetSize plus this; a schema default cannot refer to another field, so only code applies it. */
export const MAX_SIZE_HEADROOM = 10;

export const DRAIN_DEFAULTS = { onDeadline: 'Wait' } as const satisfies DrainPolicySpec;

export const REUSE_DEFAULTS = { cooldownSeconds: 0, requireReset: false } as const satisfies ReuseSpec;

export const AUTOSCALING_DEFAULTS = {
  rateWindowSeconds: 60,
  scaleDownStabilizationSeconds: 300,
  timeZone: 'UTC',
} as const satisfies Partial<AutoscalingSpec> & Pick<ScheduleWindow, 'timeZone'>;

/** Bounds of spec.autoscaling (see API_LIMITS for the rest). */
export const AUTOSCALING_LIMITS = {
  /** percentOfClaimed: ten warm members per claimed one is far past any buffer. */
  maxPercentOfClaimed: 1000,
  /** maxWaitProbability: below 1e-6 the Poisson tail means nothing in doubles; above 0.5 it is no objective. */
  minWaitProbability: 0.000001,
  maxWaitProbability: 0.5,
  minRateWindowSeconds: 5,
  maxRateWindowSeconds: 3600,
  maxStabilizationSeconds: 3600,
  maxScheduleWindows: 16,
  minWindowSeconds: 60,
  /** A week: the matcher looks back over the window minute by minute. */
  maxWindowSeconds: 604_800,
  maxCronLength: 128,
  /** The longest IANA zone name is 32 characters. */
  maxTimeZoneLength: 64,
} as const;

export const QUEUE_DEFAULTS = { strategy: 'Priority', onFull: 'RejectNewest' } as const satisfies ClaimQueueSpec;

export const METRICS_DEFAULTS = {
  path: '/metrics',
  intervalSeconds: 15,
  via: 'Direct',
} as const satisfies Partial<MemberMetricsSpec>;

/**
 * Bounds of the v1alpha1 API: every number and user string has one, so no spec can make the operator create without
 * end, sleep past what a timer holds, or stamp more on a member than the API server takes.
 */
export const API_LIMITS = {
  /** targetSize, minSize, maxSize. */
  maxMembers: 100_000,
  /** Timeouts and TTLs: a year. */
  maxSeconds: 31_536_000,
  /** claimQueue.maxPending. */
  maxPending: 100_000,
  /** metrics.intervalSeconds: an hour. */
  maxScrapeIntervalSeconds: 3600,
  /** metrics.path. */
  maxPathLength: 1024,
  /** acquiredBy names who claims: a DNS subdomain or user name fits. */
  maxAcquiredByLength: 253,
  /** acquiredFor says what for: a sentence or a URL. */
  maxAcquiredForLength: 1024,
  /** Counter and gauge names of spec.metrics. */
  maxMetricNameLength: 256,
  /** Entries of the template's labels and of its annotations. */
  maxTemplateKeys: 256,
  /** reuse.maxReuses. */
  maxReuses: 1_000_000,
} as const;

/**
 * Bounds of a claim's memberMetadata: entries per map (they also bound the CEL rules' cost), and value lengths (a
 * label value is at most 63 characters; an annotation value is bounded so a claim cannot push a member's annotations
 * past the API server's 256 KiB).
 */
export const MEMBER_METADATA_LIMITS = {
  maxKeys: 64,
  maxLabelValueLength: 63,
  maxAnnotationValueLength: 4096,
} as const;

/** Defaults of the claim options of issue 21 (count; fallback). */
export const CLAIMS_PLUS_DEFAULTS = { count: 1, fallback: 'None' } as const satisfies Partial<PoolClaimSpec>;
/** The most members one claim may ask for: each is a patch of the one bind. */
export const MAX_CLAIM_COUNT = 1000;
/** status.blockingClaims names at most this many claims (and counts them all). */
export const BLOCKING_NAMES_MAX = 10;

export const CLAIM_DEFAULTS = { reclaimPolicy: 'Delete', priority: 0 } as const satisfies Partial<PoolClaimSpec>;

/** A claim queue with its defaults; maxPending stays optional, since unset means unbounded. */
export type ResolvedClaimQueue = Required<Omit<ClaimQueueSpec, 'maxPending'>> & Pick<ClaimQueueSpec, 'maxPending'>;

/** Member metrics with their defaults; the counter and gauge names stay optional (unset: not read). */
export type ResolvedMetrics = MemberMetricsSpec & Required<Pick<MemberMetricsSpec, 'path' | 'intervalSeconds' | 'via'>>;

/** A drain policy with its default; deadlineSeconds stays optional, since unset means no deadline. */
export type ResolvedDrainPolicy = Required<Omit<DrainPolicySpec, 'deadlineSeconds'>> & Pick<DrainPolicySpec, 'deadlineSeconds'>;

/** Reuse with its defaults; maxReuses stays optional, since unset means no limit. */
export type ResolvedReuse = Required<Omit<ReuseSpec, 'maxReuses'>> & Pick<ReuseSpec, 'maxReuses'>;

/** A schedule window with its time zone. */
export type ResolvedScheduleWindow = Required<ScheduleWindow>;

/** Autoscaling with its defaults; the mode's own parameter stays optional (the schema requires the one it uses). */
export type ResolvedAutoscaling = Required<Omit<AutoscalingSpec, 'percentOfClaimed' | 'maxWaitProbability' | 'schedule'>> &
  Pick<AutoscalingSpec, 'percentOfClaimed' | 'maxWaitProbability'> & { schedule: ResolvedScheduleWindow[] };

/** A pool spec with every default applied; metrics and autoscaling stay optional, since unset means none. */
export type ResolvedPoolSpec = Required<Omit<InstancePoolSpec, 'claimQueue' | 'metrics' | 'drainPolicy' | 'reuse' | 'autoscaling'>> & {
  claimQueue: ResolvedClaimQueue;
  metrics?: ResolvedMetrics;
  drainPolicy: ResolvedDrainPolicy;
  reuse: ResolvedReuse;
  autoscaling?: ResolvedAutoscaling;
};

export function withAutoscalingDefaults(a: AutoscalingSpec): ResolvedAutoscaling {
  return {
    ...a,
    rateWindowSeconds: a.rateWindowSeconds ?? AUTOSCALING_DEFAULTS.rateWindowSeconds,
    scaleDownStabilizationSeconds: a.scaleDownStabilizationSeconds ?? AUTOSCALING_DEFAULTS.scaleDownStabilizationSeconds,
    schedule: (Array.isArray(a.schedule) ? a.schedule : []).filter((w) => typeof w === 'object' && w !== null).map((w) => ({ ...w, timeZone: w.timeZone ?? AUTOSCALING_DEFAULTS.timeZone })),
  };
}

/** A claim spec with its defaults; the timeouts and the acquiredBy/For stamps stay optional (unset is meaningful). */
export type ResolvedClaimSpec = PoolClaimSpec & Required<Pick<PoolClaimSpec, 'reclaimPolicy' | 'priority' | 'count' | 'fallback'>>;

export function withPoolDefaults(spec: InstancePoolSpec): ResolvedPoolSpec {
  const { claimQueue, metrics, drainPolicy, reuse, autoscaling, ...rest } = spec;
  const resolved: ResolvedPoolSpec = {
    ...rest,
    minSize: spec.minSize ?? POOL_DEFAULTS.minSize,
    maxSize: spec.maxSize ?? spec.targetSize + MAX_SIZE_HEADROOM,
    lifecycleClass: spec.lifecycleClass ?? POOL_DEFAULTS.lifecycleClass,
    warmingTimeoutSeconds: spec.warmingTimeoutSeconds ?? POOL_DEFAULTS.warmingTimeoutSeconds,
    readyTTLSeconds: spec.readyTTLSeconds ?? POOL_DEFAULTS.readyTTLSeconds,
    paused: spec.paused ?? POOL_DEFAULTS.paused,
    drain: spec.drain ?? POOL_DEFAULTS.drain,
    claimOrder: spec.claimOrder ?? POOL_DEFAULTS.claimOrder,
    evictionProtection: spec.evictionProtection ?? POOL_DEFAULTS.evictionProtection,
    drainPolicy: { ...drainPolicy, onDeadline: drainPolicy?.onDeadline ?? DRAIN_DEFAULTS.onDeadline },
    reuse: {
      ...reuse,
      cooldownSeconds: reuse?.cooldownSeconds ?? REUSE_DEFAULTS.cooldownSeconds,
      requireReset: reuse?.requireReset ?? REUSE_DEFAULTS.requireReset,
    },
    claimQueue: {
      ...claimQueue,
      strategy: claimQueue?.strategy ?? QUEUE_DEFAULTS.strategy,
      onFull: claimQueue?.onFull ?? QUEUE_DEFAULTS.onFull,
    },
  };
  if (autoscaling) resolved.autoscaling = withAutoscalingDefaults(autoscaling);
  if (metrics) {
    resolved.metrics = {
      ...metrics,
      path: metrics.path ?? METRICS_DEFAULTS.path,
      intervalSeconds: metrics.intervalSeconds ?? METRICS_DEFAULTS.intervalSeconds,
      via: metrics.via ?? METRICS_DEFAULTS.via,
    };
  }
  return resolved;
}

export function withClaimDefaults(spec: PoolClaimSpec): ResolvedClaimSpec {
  return {
    ...spec,
    reclaimPolicy: spec.reclaimPolicy ?? CLAIM_DEFAULTS.reclaimPolicy,
    priority: spec.priority ?? CLAIM_DEFAULTS.priority,
    count: spec.count ?? CLAIMS_PLUS_DEFAULTS.count,
    fallback: spec.fallback ?? CLAIMS_PLUS_DEFAULTS.fallback,
  };
}
