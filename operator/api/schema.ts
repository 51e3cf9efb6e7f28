// OpenAPI v3 structural schemas of InstancePool and PoolClaim, and the CustomResourceDefinitions built from them
// (rendered to crds/ by hack/gen-crds.ts). validate.ts walks the same schemas, so the controller re-checks exactly
// what the API server checks.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type {
  AutoscalingMode,
  AutoscalingSpec,
  AutoscalingStatus,
  ScheduleWindow,
  ClaimFallback,
  BlockingClaims,
  ReuseSpec,
  DrainPolicySpec,
  OnDrainDeadline,
  ClaimMember,
  ClaimOrder,
  ClaimPhase,
  ClaimQueueSpec,
  Condition,
  InstancePoolSpec,
  InstancePoolStatus,
  LifecycleClass,
  MemberMetadata,
  MemberMetricsSpec,
  OnFull,
  PoolClaimSpec,
  PoolClaimStatus,
  PoolPhase,
  PoolUtilization,
  QueueStrategy,
  ReclaimPolicy,
  ScrapeVia,
  WarmupStatus,
} from './types.js';
import { CLAIM_KIND, CLAIM_PLURAL, GROUP, isReservedKey, POOL_KIND, POOL_PLURAL, RESERVED_KEY_PREFIX, VERSION } from './types.js';
import { API_LIMITS, CLAIM_DEFAULTS, CLAIMS_PLUS_DEFAULTS, MAX_CLAIM_COUNT, MAX_SIZE_HEADROOM, MEMBER_METADATA_LIMITS, METRICS_DEFAULTS, POOL_DEFAULTS, QUEUE_DEFAULTS } from './defaults.js';
import { AUTOSCALING_DEFAULTS, AUTOSCALING_LIMITS, BLOCKING_NAMES_MAX, DRAIN_DEFAULTS, REUSE_DEFAULTS } from './defaults.js';
import { CRON_MESSAGE, CRON_PATTERN } from './cron-pattern.js';
import { isRecord } from './conform.js';
import type { Presence, Properties, Schema, ValidationRule } from './openapi.js';
import { boolean, dateTime, int32, int64, listOf, number, object, oneOf, string, stringMap } from './openapi.js';

/** A DNS-1123 subdomain (what Kubernetes allows as an object name); the same regex in RE2 and JavaScript. */
const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const PROMETHEUS_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** Pool and claim names become label values on member pods (warmpool.dev/pool, warmpool.dev/claim). */
const LABEL_VALUE_MAX = 63;

function numberAt(self: unknown, key: string): number | undefined {
  const value = isRecord(self) ? self[key] : undefined;
  return typeof value === 'number' ? value : undefined;
}

/**
 * `low <= high`, skipped while `optional` (one of the two) is unset. Both uses bound targetSize, so the error is
 * reported there, which is also what `kubectl scale` past a bound changes.
 */
function targetSizeBound(low: string, high: string, optional: string, message: string): ValidationRule {
  return {
    rule: `!has(self.${optional}) || self.${low} <= self.${high}`,
    message,
    fieldPath: '.targetSize',
    holds: (self) => {
      const a = numberAt(self, low);
      const b = numberAt(self, high);
      return a === undefined || b === undefined || a <= b;
    },
  };
}

/** The keys of a string map that the operator reserves, in the map's order. */
export function reservedKeysOf(map: unknown): string[] {
  return isRecord(map) ? Object.keys(map).filter(isReservedKey) : [];
}

export const RESERVED_KEYS_MESSAGE = `keys with the prefix ${RESERVED_KEY_PREFIX} are reserved for the operator`;

/**
 * Refuses the operator's own keys in a template's labels or annotations: a template label warmpool.dev/claim would
 * make every member look claimed, an annotation warmpool.dev/claim-uid would get every member deleted at birth. The
 * message names a reserved key (one: the API server's cost estimate refuses a join() over keys of unbounded length).
 * maxProperties on the map bounds the rule's CEL cost.
 */
const noReservedKeys: ValidationRule = {
  rule: `self.all(k, !k.startsWith('${RESERVED_KEY_PREFIX}'))`,
  message: RESERVED_KEYS_MESSAGE,
  messageExpression: `self.filter(k, k.startsWith('${RESERVED_KEY_PREFIX}'))[0] + ': ${RESERVED_KEYS_MESSAGE}'`,
  holds: (self) => reservedKeysOf(self).length === 0,
  explain: (self) => `${reservedKeysOf(self)[0] ?? ''}: ${RESERVED_KEYS_MESSAGE}`,
};

function stringRule(rule: string, message: string, holds: (self: string) => boolean): ValidationRule {
  return { rule, message, holds: (self) => typeof self !== 'string' || holds(self) };
}

/**
 * spec.metrics.path is appended to the member's URL, and a URL parser resolves dot segments (also spelled %2e):
 * `/../../../../kube-system/pods/x:9100/proxy/metrics` would make the API server's pod proxy read another pod. The
 * scraper encodes each segment anyway (operator/utilization/scraper.ts); the schema refuses such paths outright.
 */
const metricsPathRules: ValidationRule[] = [
  stringRule("!self.matches('(^|/)[.][.]?(/|$)')", 'may not contain a . or .. segment', (s) => !/(^|\/)\.\.?(\/|$)/.test(s)),
  stringRule("!self.matches('%2[eE]')", 'may not contain a percent-encoded dot (%2e)', (s) => !/%2[eE]/.test(s)),
  stringRule(
    "!self.contains('?') && !self.contains('#') && !self.contains('\\\\')",
    'may not contain ?, # or a backslash (a path only: no query, no fragment)',
    (s) => !/[?#\\]/.test(s),
  ),
];

function immutable(field: string): ValidationRule {
  return { rule: 'self == oldSelf', message: `${field} is immutable`, holds: (self, oldSelf) => self === oldSelf };
}

/** Each interface of types.ts with its schema node and its keys, for the test that holds the two together at run time. */
export const interfaceSchemas: { name: string; keys: string[]; schema: Schema }[] = [];

/**
 * object() for the interface of types.ts named `name`, recorded in interfaceSchemas: `fields` lists every key of T
 * (the compiler refuses a missing or extra one) and the schema test checks the properties against that list.
 */
function interfaceSchema<T>(
  name: string,
  description: string,
  fields: Presence<T>,
  properties: Properties<T>,
  more?: Parameters<typeof object<T>>[3],
): Schema<T> {
  const schema = object<T>(description, fields, properties, more);
  interfaceSchemas.push({ name, keys: Object.keys(fields), schema });
  return schema;
}

/** A count in a status: never negative. */
function count(description: string): Schema<number> {
  return int32(description, { minimum: 0 });
}

/** A measured figure in a status (seconds, rates, percentages): never negative. */
function measured(description: string): Schema<number> {
  return number(description, { minimum: 0 });
}

// Structural, yet it must not prune any pod spec field: `spec` preserves unknown fields and declares only what a rule
// needs (at least one container). Only labels and annotations of the template's metadata reach member pods.
const podTemplate: Schema<V1PodTemplateSpec> = {
  type: 'object',
  description: 'Pod template the members are created from.',
  required: ['spec'],
  properties: {
    metadata: {
      type: 'object',
      description: 'Labels and annotations for the members; other metadata fields are dropped.',
      properties: {
        labels: stringMap(`Labels of the members. Keys with the prefix ${RESERVED_KEY_PREFIX} are the operator's and refused.`, {
          maxProperties: API_LIMITS.maxTemplateKeys,
          'x-kubernetes-validations': [noReservedKeys],
        }),
        annotations: stringMap(`Annotations of the members. Keys with the prefix ${RESERVED_KEY_PREFIX} are the operator's and refused.`, {
          maxProperties: API_LIMITS.maxTemplateKeys,
          'x-kubernetes-validations': [noReservedKeys],
        }),
      },
    },
    spec: {
      type: 'object',
      description: 'A PodSpec (core/v1), kept as written.',
      required: ['containers'],
      properties: {
        containers: listOf(
          'Containers of the members: at least one.',
          {
            type: 'object',
            required: ['name'],
            properties: { name: string('Container name (DNS-1123 label).', { maxLength: 63, pattern: DNS1123_LABEL }) },
            'x-kubernetes-preserve-unknown-fields': true,
          },
          { minItems: 1, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
        ),
      },
      'x-kubernetes-preserve-unknown-fields': true,
    },
  },
};

const conditions = listOf<Condition>(
  'Latest observations of the object (Ready, Reconciling, Stalled and more), one per type.',
  interfaceSchema<Condition>(
    'Condition',
    'A metav1.Condition.',
    { type: 'required', status: 'required', reason: 'required', message: 'required', lastTransitionTime: 'required', observedGeneration: 'optional' },
    {
      type: string('Type of the condition, in CamelCase.', {
        maxLength: 316,
        pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      }),
      status: oneOf<Condition['status']>('Status of the condition.', { True: true, False: true, Unknown: true }),
      reason: string('Machine-readable reason for the last transition, in CamelCase.', {
        minLength: 1,
        maxLength: 1024,
        pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      }),
      message: string('Human-readable details of the last transition.', { maxLength: 32768 }),
      lastTransitionTime: dateTime('When the status last changed.'),
      observedGeneration: int64('metadata.generation the condition was set for.', { minimum: 0 }),
    },
  ),
  { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
);

const claimQueue = interfaceSchema<ClaimQueueSpec>(
  'ClaimQueueSpec',
  'How claims wait for ready members.',
  { strategy: 'optional', maxPending: 'optional', onFull: 'optional' },
  {
    strategy: oneOf<QueueStrategy>(
      'Priority: higher priority first, then creation order. FIFO: creation order. FairShare: round robin over the distinct values of acquiredBy.',
      { Priority: true, FIFO: true, FairShare: true },
      { default: QUEUE_DEFAULTS.strategy },
    ),
    maxPending: int32('Most claims that may wait; unset means unbounded.', { minimum: 0, maximum: API_LIMITS.maxPending }),
    onFull: oneOf<OnFull>(
      'Which claim fails (reason QueueFull) when one more would exceed maxPending.',
      { RejectNewest: true, RejectOldest: true },
      { default: QUEUE_DEFAULTS.onFull },
    ),
  },
  // An empty default lets the API server fill in the nested defaults.
  { default: {} },
);

const metrics = interfaceSchema<MemberMetricsSpec>(
  'MemberMetricsSpec',
  "The members' own Prometheus endpoint, scraped for request rates and in-flight requests.",
  {
    port: 'required',
    path: 'optional',
    intervalSeconds: 'optional',
    via: 'optional',
    httpRequestsCounter: 'optional',
    tcpRequestsCounter: 'optional',
    methodRequestsCounter: 'optional',
    inflightGauge: 'optional',
  },
  {
    port: int32('Port of the endpoint.', { minimum: 1, maximum: 65535 }),
    path: string('Path of the endpoint, taken literally: each segment is percent-encoded when the URL is built.', {
      default: METRICS_DEFAULTS.path,
      maxLength: API_LIMITS.maxPathLength,
      pattern: '^/',
      'x-kubernetes-validations': metricsPathRules,
    }),
    intervalSeconds: int32('Seconds between scrapes.', {
      default: METRICS_DEFAULTS.intervalSeconds,
      minimum: 1,
      maximum: API_LIMITS.maxScrapeIntervalSeconds,
    }),
    via: oneOf<ScrapeVia>(
      'Direct dials http://<podIP>:<port><path>; APIServerProxy goes through the pod proxy subresource.',
      { Direct: true, APIServerProxy: true },
      { default: METRICS_DEFAULTS.via },
    ),
    httpRequestsCounter: string('Counter of HTTP requests served.', { maxLength: API_LIMITS.maxMetricNameLength, pattern: PROMETHEUS_NAME }),
    tcpRequestsCounter: string('Counter of TCP connections (or requests) served.', { maxLength: API_LIMITS.maxMetricNameLength, pattern: PROMETHEUS_NAME }),
    methodRequestsCounter: string('Counter of method (RPC) requests served.', { maxLength: API_LIMITS.maxMetricNameLength, pattern: PROMETHEUS_NAME }),
    inflightGauge: string('Gauge of requests in flight.', { maxLength: API_LIMITS.maxMetricNameLength, pattern: PROMETHEUS_NAME }),
  },
);

const drainPolicy = interfaceSchema<DrainPolicySpec>(
  'DrainPolicySpec',
  'How long a drain or a deletion waits for the claims that hold members, and what happens then.',
  { deadlineSeconds: 'optional', onDeadline: 'optional' },
  {
    deadlineSeconds: int32('Seconds from the start of the drain (or the deletion) to the deadline; unset: no deadline.', {
      minimum: 0,
      maximum: API_LIMITS.maxSeconds,
    }),
    onDeadline: oneOf<OnDrainDeadline>(
      'At the deadline: Wait keeps waiting (status.blockingClaims names who holds it); Release ends the blocking claims (phase Released, reason Drained, an Event on each) and their members go as their reclaimPolicy says (a Return member is deleted: the pool is going).',
      { Wait: true, Release: true },
      { default: DRAIN_DEFAULTS.onDeadline },
    ),
  },
  { default: {} },
);

const reuse = interfaceSchema<ReuseSpec>(
  'ReuseSpec',
  'How a member handed back by a Return claim is reused.',
  { maxReuses: 'optional', cooldownSeconds: 'optional', requireReset: 'optional' },
  {
    maxReuses: int32('A member returned this many times is deleted at its next return instead; unset: no limit. The member counts its returns in the annotation warmpool.dev/reuse-count.', {
      minimum: 0,
      maximum: API_LIMITS.maxReuses,
    }),
    cooldownSeconds: int32('A returned member stays out of allocation this long (state cooling).', {
      default: REUSE_DEFAULTS.cooldownSeconds,
      minimum: 0,
      maximum: API_LIMITS.maxSeconds,
    }),
    requireReset: boolean(
      'A returned member (state resetting) is handed out again only after its Ready condition went False and True again after the return, so the workload can clean itself up and flip its readiness probe; one that does not within warmingTimeoutSeconds is recycled.',
      { default: REUSE_DEFAULTS.requireReset },
    ),
  },
  { default: {} },
);

const cronShape = new RegExp(CRON_PATTERN);

const scheduleWindow = interfaceSchema<ScheduleWindow>(
  'ScheduleWindow',
  'A window that raises the floor while it is open, for known busy hours.',
  { start: 'required', durationSeconds: 'required', timeZone: 'optional', minSize: 'required' },
  {
    start: string('When the window opens: a cron expression of 5 fields (minute hour day-of-month month day-of-week) read in timeZone; numbers, *, a-b ranges, /steps and comma lists.', {
      maxLength: AUTOSCALING_LIMITS.maxCronLength,
      'x-kubernetes-validations': [stringRule(`self.matches('${CRON_PATTERN}')`, `start ${CRON_MESSAGE}`, (s) => cronShape.test(s))],
    }),
    durationSeconds: int32('How long the window stays open from each start.', {
      minimum: AUTOSCALING_LIMITS.minWindowSeconds,
      maximum: AUTOSCALING_LIMITS.maxWindowSeconds,
    }),
    timeZone: string('IANA time zone the cron is read in (e.g. Europe/Paris). One the operator does not know is reported in condition AutoscalingActive, naming the field.', {
      default: AUTOSCALING_DEFAULTS.timeZone,
      maxLength: AUTOSCALING_LIMITS.maxTimeZoneLength,
      pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$',
    }),
    minSize: int32('The floor while the window is open (the higher of this and spec.minSize; at most maxSize).', {
      minimum: 0,
      maximum: API_LIMITS.maxMembers,
    }),
  },
);

/** A field that only one mode reads: required under it, refused under the other, so a spec says what it means. */
function modeField(field: keyof AutoscalingSpec, mode: AutoscalingMode): ValidationRule[] {
  const modeOf = (self: unknown): unknown => (isRecord(self) ? self.mode : undefined);
  const has = (self: unknown): boolean => isRecord(self) && self[field] !== undefined;
  return [
    {
      rule: `self.mode != '${mode}' || has(self.${field})`,
      message: `${field} is required when mode is ${mode}`,
      fieldPath: `.${field}`,
      holds: (self) => modeOf(self) !== mode || has(self),
    },
    {
      rule: `self.mode == '${mode}' || !has(self.${field})`,
      message: `${field} applies only to mode ${mode}`,
      fieldPath: `.${field}`,
      holds: (self) => modeOf(self) === mode || !has(self),
    },
  ];
}

const autoscaling = interfaceSchema<AutoscalingSpec>(
  'AutoscalingSpec',
  'The pool sizes itself: the operator writes spec.targetSize through the scale subresource (a manual change of targetSize is overwritten).',
  {
    mode: 'required',
    percentOfClaimed: 'optional',
    maxWaitProbability: 'optional',
    rateWindowSeconds: 'optional',
    scaleDownStabilizationSeconds: 'optional',
    schedule: 'optional',
  },
  {
    mode: oneOf<AutoscalingMode>(
      'Proportional: the target is percentOfClaimed percent of the claimed members, rounded up. Objective: the smallest target whose predicted share of claims that find no ready member is at most maxWaitProbability, from the measured claim rate and warm-up time.',
      { Proportional: true, Objective: true },
    ),
    percentOfClaimed: int32('Proportional: warm target = ceil(percentOfClaimed / 100 x claimed members).', {
      minimum: 1,
      maximum: AUTOSCALING_LIMITS.maxPercentOfClaimed,
    }),
    maxWaitProbability: number('Objective: the share of claims that may find no ready member (0.01: 1%).', {
      minimum: AUTOSCALING_LIMITS.minWaitProbability,
      maximum: AUTOSCALING_LIMITS.maxWaitProbability,
    }),
    rateWindowSeconds: int32('Objective: time constant of the exponentially weighted claim rate.', {
      default: AUTOSCALING_DEFAULTS.rateWindowSeconds,
      minimum: AUTOSCALING_LIMITS.minRateWindowSeconds,
      maximum: AUTOSCALING_LIMITS.maxRateWindowSeconds,
    }),
    scaleDownStabilizationSeconds: int32('The target never drops below the highest recommendation made within this window (scaling up is never delayed).', {
      default: AUTOSCALING_DEFAULTS.scaleDownStabilizationSeconds,
      minimum: 0,
      maximum: AUTOSCALING_LIMITS.maxStabilizationSeconds,
    }),
    schedule: listOf('Windows that raise the floor while they are open.', scheduleWindow, { maxItems: AUTOSCALING_LIMITS.maxScheduleWindows }),
  },
  { 'x-kubernetes-validations': [...modeField('percentOfClaimed', 'Proportional'), ...modeField('maxWaitProbability', 'Objective')] },
);

export const poolSpecSchema = interfaceSchema<InstancePoolSpec>(
  'InstancePoolSpec',
  'Desired state of the pool.',
  {
    template: 'required',
    targetSize: 'required',
    minSize: 'optional',
    maxSize: 'optional',
    lifecycleClass: 'optional',
    warmingTimeoutSeconds: 'optional',
    readyTTLSeconds: 'optional',
    paused: 'optional',
    drain: 'optional',
    claimOrder: 'optional',
    claimQueue: 'optional',
    metrics: 'optional',
    evictionProtection: 'optional',
    drainPolicy: 'optional',
    reuse: 'optional',
    autoscaling: 'optional',
  },
  {
    template: podTemplate,
    targetSize: int32('Desired warm members (warming + ready); claimed members do not count toward it.', {
      minimum: 0,
      maximum: API_LIMITS.maxMembers,
    }),
    minSize: int32('Lowest targetSize may go (kubectl scale, autoscalers).', {
      default: POOL_DEFAULTS.minSize,
      minimum: 0,
      maximum: API_LIMITS.maxMembers,
    }),
    maxSize: int32(
      `Highest targetSize may go, and a cap on all members, claimed included (the cost ceiling). Unset: targetSize + ${MAX_SIZE_HEADROOM}.`,
      { minimum: 0, maximum: API_LIMITS.maxMembers },
    ),
    lifecycleClass: oneOf<LifecycleClass>(
      'ephemeral: a member that fails or is evicted counts as errored. spot: members may be evicted at any time; an eviction is routine churn, not an error (a claim bound to the member becomes Lost).',
      { ephemeral: true, spot: true },
      { default: POOL_DEFAULTS.lifecycleClass },
    ),
    warmingTimeoutSeconds: int32('A member not Ready by then is recycled and counted as errored.', {
      default: POOL_DEFAULTS.warmingTimeoutSeconds,
      minimum: 1,
      maximum: API_LIMITS.maxSeconds,
    }),
    readyTTLSeconds: int32('Ready members older than this are recycled as stale (with jitter); 0 means never.', {
      default: POOL_DEFAULTS.readyTTLSeconds,
      minimum: 0,
      maximum: API_LIMITS.maxSeconds,
    }),
    paused: boolean('Stop replenishing; members stay.'),
    drain: boolean('Delete every unclaimed member and stop replenishing; claimed members keep running.'),
    claimOrder: oneOf<ClaimOrder>(
      'Which ready member a claim gets.',
      { OldestReady: true, NewestReady: true, PackNodes: true, SpreadNodes: true },
      { default: POOL_DEFAULTS.claimOrder },
    ),
    claimQueue,
    metrics,
    evictionProtection: boolean(
      'Claimed members refuse eviction: the bind marks them cluster-autoscaler.kubernetes.io/safe-to-evict "false" and the namespace\'s PodDisruptionBudget warmpool-claimed-members (minAvailable above any count) selects them, so the Eviction API (kubectl drain, the autoscaler) answers 429. Warming and ready members stay evictable.',
      { default: POOL_DEFAULTS.evictionProtection },
    ),
    drainPolicy,
    reuse,
    autoscaling,
  },
  {
    'x-kubernetes-validations': [
      targetSizeBound('minSize', 'targetSize', 'minSize', 'targetSize must be at least minSize'),
      targetSizeBound('targetSize', 'maxSize', 'maxSize', 'targetSize must be at most maxSize'),
    ],
  },
);

const autoscalingStatus = interfaceSchema<AutoscalingStatus>(
  'AutoscalingStatus',
  "The autoscaler's last decision and why: its inputs and outcome when it last chose a target.",
  {
    target: 'required',
    reason: 'required',
    floor: 'required',
    claimRate: 'optional',
    peakClaimRate: 'optional',
    warmupSeconds: 'optional',
    claimed: 'optional',
    predictedWaitProbability: 'optional',
    lastScaleTime: 'optional',
  },
  {
    target: count('The target written to spec.targetSize.'),
    reason: string('What decided it: Objective, Proportional, Schedule, MinSize, MaxSize, Stabilized or WarmupUnknown.', { maxLength: 64 }),
    floor: count('The floor: the higher of spec.minSize and the open schedule windows (at most maxSize).'),
    claimRate: measured('Claims per second, exponentially weighted over rateWindowSeconds.'),
    peakClaimRate: measured('The highest claim rate within the stabilization window: the rate the target is held for.'),
    warmupSeconds: measured('The warm-up time the objective used (status.warmup.averageSeconds).'),
    claimed: count('Claimed members (Proportional).'),
    predictedWaitProbability: number('The share of claims predicted to find no ready member at the claim rate and this target.', { minimum: 0, maximum: 1 }),
    lastScaleTime: dateTime('When the autoscaler last changed spec.targetSize.'),
  },
);

const warmup = interfaceSchema<WarmupStatus>(
  'WarmupStatus',
  'Measured warm-up time (creation to Ready) of recent members.',
  { lastSeconds: 'optional', averageSeconds: 'optional', samples: 'optional' },
  {
    lastSeconds: measured('Seconds from creation to Ready of the most recent member.'),
    averageSeconds: measured('Mean over the recent members (up to 20).'),
    samples: count('Number of members the mean is taken over.'),
  },
);

const utilization = interfaceSchema<PoolUtilization>(
  'PoolUtilization',
  'How busy the members are: cpu and memory from metrics.k8s.io for every pool; requests from the members\' metrics endpoints for pools with spec.metrics.',
  {
    combinedRps: 'optional',
    httpRps: 'optional',
    tcpRps: 'optional',
    methodRps: 'optional',
    inflight: 'optional',
    avgCpuPercent: 'optional',
    avgMemoryPercent: 'optional',
    sampledAt: 'required',
  },
  {
    combinedRps: measured('Requests per second over all protocols (pools with spec.metrics).'),
    httpRps: measured('HTTP requests per second (pools with spec.metrics).'),
    tcpRps: measured('TCP connections (or requests) per second (pools with spec.metrics).'),
    methodRps: measured('Method (RPC) requests per second (pools with spec.metrics).'),
    inflight: measured('Requests in flight (pools with spec.metrics).'),
    avgCpuPercent: measured('Mean cpu use in percent of the container requests (limits where there is no request).'),
    avgMemoryPercent: measured('Mean memory use in percent of the container requests (limits where there is no request).'),
    sampledAt: dateTime('Time of the sample these figures come from.'),
  },
);

const blockingClaims = interfaceSchema<BlockingClaims>(
  'BlockingClaims',
  'While a drain or a deletion waits for claimed members: the claims that hold them.',
  { count: 'required', names: 'required' },
  {
    count: count('How many claims hold members.'),
    names: listOf(`The first of them by name (at most ${BLOCKING_NAMES_MAX}).`, string('Claim name.'), { maxItems: BLOCKING_NAMES_MAX }),
  },
);

export const poolStatusSchema = interfaceSchema<InstancePoolStatus>(
  'InstancePoolStatus',
  'Observed state of the pool.',
  {
    phase: 'optional',
    observedGeneration: 'optional',
    targetSize: 'optional',
    warmingCount: 'optional',
    readyCount: 'optional',
    claimedCount: 'optional',
    erroredCount: 'optional',
    replicas: 'optional',
    selector: 'optional',
    pendingClaims: 'optional',
    conditions: 'optional',
    warmup: 'optional',
    utilization: 'optional',
    templateHash: 'optional',
    blockingClaims: 'optional',
    drainStartedAt: 'optional',
    autoscaling: 'optional',
  },
  {
    phase: oneOf<PoolPhase>('Lifecycle phase.', { Active: true, Paused: true, Draining: true, Terminating: true }),
    observedGeneration: int64('metadata.generation this status was computed for; 0 until the operator has seen the object.', { minimum: 0 }),
    targetSize: count('targetSize this status was computed for.'),
    warmingCount: count('Members started but not yet Ready.'),
    readyCount: count('Members Ready and unclaimed.'),
    claimedCount: count('Members bound to a claim.'),
    erroredCount: count('Members recycled because they failed (warming timeout, crash, failure).'),
    replicas: count('Warm members (warming + ready), for the scale subresource.'),
    selector: string('Label selector of the members, for the scale subresource.'),
    pendingClaims: count('Claims waiting for a member.'),
    conditions,
    warmup,
    utilization,
    templateHash: string('Template hash new members are created with (label warmpool.dev/template-hash).'),
    blockingClaims,
    drainStartedAt: dateTime('When the current drain started; the drain deadline counts from here (a deletion counts from its deletionTimestamp).'),
    autoscaling: autoscalingStatus,
  },
  // Defaulted so a brand-new object already carries observedGeneration 0 < generation: kstatus (helm 4 --wait,
  // Flux) then reads it as in progress until the operator has observed it, instead of Current.
  { default: { observedGeneration: 0 } },
);

/**
 * A label or annotation key: an optional DNS-subdomain prefix (at most 253 characters) and `/`, then a name of 1-63
 * characters. The API server checks this only when the key reaches a pod, so a claim's memberMetadata is checked
 * here, at apply, rather than failing its bind.
 */
const QUALIFIED_NAME = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const QUALIFIED_NAME_PREFIX_MAX = 253;
const QUALIFIED_NAME_MESSAGE = 'not a valid key: an optional DNS subdomain prefix and "/", then 1-63 letters, digits, "-", "_" or "." starting and ending with a letter or digit';

function isQualifiedName(key: string): boolean {
  return new RegExp(QUALIFIED_NAME).test(key) && (!key.includes('/') || key.indexOf('/') <= QUALIFIED_NAME_PREFIX_MAX);
}

/** The keys of a string map that are not label/annotation keys, in the map's order. */
export function invalidKeysOf(map: unknown): string[] {
  return isRecord(map) ? Object.keys(map).filter((key) => !isQualifiedName(key)) : [];
}

const QUALIFIED_NAME_CEL = `k.matches('${QUALIFIED_NAME}') && (!k.contains('/') || k.indexOf('/') <= ${QUALIFIED_NAME_PREFIX_MAX})`;
const qualifiedKeys: ValidationRule = {
  rule: `self.all(k, ${QUALIFIED_NAME_CEL})`,
  message: QUALIFIED_NAME_MESSAGE,
  messageExpression: `self.filter(k, !(${QUALIFIED_NAME_CEL}))[0] + ': ${QUALIFIED_NAME_MESSAGE}'`,
  holds: (self) => invalidKeysOf(self).length === 0,
  explain: (self) => `${invalidKeysOf(self)[0] ?? ''}: ${QUALIFIED_NAME_MESSAGE}`,
};

/** A string map whose values carry their own bounds (label values: length and the label-value syntax). */
function boundedMap(description: string, maxKeys: number, values: Schema<string>): Schema<Record<string, string>> {
  return {
    ...stringMap(description, { maxProperties: maxKeys, 'x-kubernetes-validations': [noReservedKeys, qualifiedKeys] }),
    additionalProperties: values,
  };
}

/** JSON with object keys sorted, so two maps equal as CEL sees them compare equal here. */
function canonical(value: unknown): string {
  if (!isRecord(value)) return JSON.stringify(value) ?? 'undefined';
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

/**
 * memberMetadata is written once, in the bind; a Return hands the member back with exactly those keys removed. A
 * change after creation (set, changed or dropped) would leave keys on a returned member, so it is refused.
 */
const memberMetadataImmutable: ValidationRule = {
  rule: 'has(self.memberMetadata) == has(oldSelf.memberMetadata) && (!has(self.memberMetadata) || self.memberMetadata == oldSelf.memberMetadata)',
  message: 'memberMetadata is immutable',
  fieldPath: '.memberMetadata',
  holds: (self, oldSelf) => canonical(isRecord(self) ? self.memberMetadata : undefined) === canonical(isRecord(oldSelf) ? oldSelf.memberMetadata : undefined),
};

const memberMetadata = interfaceSchema<MemberMetadata>(
  'MemberMetadata',
  `Labels and annotations written onto the member in the bind (the same single write) and removed when it is returned. Keys with the prefix ${RESERVED_KEY_PREFIX} are refused; so are keys the pool's template sets (the claim fails, reason InvalidSpec). Immutable.`,
  { labels: 'optional', annotations: 'optional' },
  {
    labels: boundedMap(
      'Labels of the member; each value a label value (at most 63 characters).',
      MEMBER_METADATA_LIMITS.maxKeys,
      string('A label value.', {
        maxLength: MEMBER_METADATA_LIMITS.maxLabelValueLength,
        pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
      }),
    ),
    annotations: boundedMap(
      'Annotations of the member; each value at most 4096 characters.',
      MEMBER_METADATA_LIMITS.maxKeys,
      string('An annotation value.', { maxLength: MEMBER_METADATA_LIMITS.maxAnnotationValueLength }),
    ),
  },
);

export const claimSpecSchema = interfaceSchema<PoolClaimSpec>(
  'PoolClaimSpec',
  'What the claim asks for.',
  {
    poolName: 'required',
    acquiredBy: 'optional',
    acquiredFor: 'optional',
    reclaimPolicy: 'optional',
    waitTimeoutSeconds: 'optional',
    ttlSecondsAfterBound: 'optional',
    priority: 'optional',
    memberMetadata: 'optional',
    idleTimeoutSeconds: 'optional',
    acceptWarming: 'optional',
    count: 'optional',
    fallback: 'optional',
  },
  {
    poolName: string('InstancePool in the same namespace to claim a member of. Immutable.', {
      minLength: 1,
      maxLength: LABEL_VALUE_MAX,
      pattern: DNS1123_SUBDOMAIN,
      'x-kubernetes-validations': [immutable('poolName')],
    }),
    acquiredBy: string('Who claims (stamped on the member; FairShare rotates over its values).', {
      maxLength: API_LIMITS.maxAcquiredByLength,
    }),
    acquiredFor: string('What the member is claimed for (stamped on the member).', { maxLength: API_LIMITS.maxAcquiredForLength }),
    reclaimPolicy: oneOf<ReclaimPolicy>(
      'On release, Delete terminates the member; Return gives it back to the pool as ready (for stateless members). Immutable.',
      { Delete: true, Return: true },
      { default: CLAIM_DEFAULTS.reclaimPolicy, 'x-kubernetes-validations': [immutable('reclaimPolicy')] },
    ),
    waitTimeoutSeconds: int32('How long to wait for a ready member; 0 fails at once (NoReadyMembers); unset waits indefinitely.', {
      minimum: 0,
      maximum: API_LIMITS.maxSeconds,
    }),
    ttlSecondsAfterBound: int32('Longest the member is held; then the claim is Released (reason Expired).', {
      minimum: 0,
      maximum: API_LIMITS.maxSeconds,
    }),
    priority: int32('Higher is served first.', { default: CLAIM_DEFAULTS.priority, minimum: INT32_MIN, maximum: INT32_MAX }),
    memberMetadata,
    idleTimeoutSeconds: int32(
      'Release the claim (reason Idle) once its holder has not set the annotation warmpool.dev/heartbeat (an RFC 3339 time) on the claim for this long, counted from the later of the bind and the last heartbeat; unset never.',
      { minimum: 1, maximum: API_LIMITS.maxSeconds },
    ),
    acceptWarming: boolean(
      'With no ready member, bind the warming member closest to Ready instead of waiting: the claim is Bound with condition Ready False until the member is Ready.',
    ),
    count: int32(
      'How many members to bind, all or nothing: none is held until all are bound in one pass. The claim is one queue entry needing count ready members; more than the pool\'s maxSize fails at once (reason CountExceedsMaxSize). Immutable.',
      { default: CLAIMS_PLUS_DEFAULTS.count, minimum: 1, maximum: MAX_CLAIM_COUNT, 'x-kubernetes-validations': [immutable('count')] },
    ),
    fallback: oneOf<ClaimFallback>(
      "None: wait for a warm member. Cold: a claim that would wait (no ready member, no claim waiting ahead of it) gets a member created for it from the pool's template, labelled claimed and owned by the claim; the claim is Bound once it is Ready (status.member.cold). Cold members count toward maxSize; the pool's target does not change.",
      { None: true, Cold: true },
      { default: CLAIMS_PLUS_DEFAULTS.fallback },
    ),
  },
  { 'x-kubernetes-validations': [memberMetadataImmutable] },
);

const member = interfaceSchema<ClaimMember>(
  'ClaimMember',
  'The member pod bound to the claim.',
  { name: 'required', uid: 'required', podIP: 'optional', nodeName: 'optional', cold: 'optional', token: 'optional' },
  {
    name: string('Pod name.'),
    uid: string('Pod uid.'),
    podIP: string('Pod IP.'),
    nodeName: string('Node the pod runs on.'),
    cold: boolean('Created for the claim (fallback Cold) rather than taken warm from the pool.'),
    token: int64(
      'Fencing token of this bind (also the member annotation warmpool.dev/lease-token): every bind of the member raises it, so a workload can refuse a holder with a lower one.',
      { minimum: 1 },
    ),
  },
);

export const claimStatusSchema = interfaceSchema<PoolClaimStatus>(
  'PoolClaimStatus',
  'Observed state of the claim.',
  {
    phase: 'optional',
    observedGeneration: 'optional',
    member: 'optional',
    members: 'optional',
    boundAt: 'optional',
    waitedSeconds: 'optional',
    queuePosition: 'optional',
    releasedAt: 'optional',
    conditions: 'optional',
  },
  {
    phase: oneOf<ClaimPhase>('Lifecycle phase.', { Pending: true, Bound: true, Released: true, Failed: true, Lost: true }),
    observedGeneration: int64('metadata.generation this status was computed for; 0 until the operator has seen the object.', { minimum: 0 }),
    member,
    members: listOf('Every member of a claim of count > 1, in bind order (member is the first).', member, { maxItems: MAX_CLAIM_COUNT }),
    boundAt: dateTime('When the claim was bound.'),
    waitedSeconds: measured('Seconds from creation to Bound.'),
    queuePosition: count('Place in the pool queue while Pending (1 is next).'),
    releasedAt: dateTime('When the claim was released.'),
    conditions,
  },
  // Defaulted so a brand-new object already carries observedGeneration 0 < generation: kstatus (helm 4 --wait,
  // Flux) then reads it as in progress until the operator has observed it, instead of Current.
  { default: { observedGeneration: 0 } },
);

/** Root metadata may only restrict the name: pool and claim names are label values on members. */
export const metadataSchema: Schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: LABEL_VALUE_MAX } },
};

function rootSchema(description: string, spec: Schema, status: Schema): Schema {
  return {
    type: 'object',
    description,
    required: ['spec'],
    properties: {
      apiVersion: string('Versioned schema of this representation of an object.'),
      kind: string('REST resource this object represents.'),
      metadata: metadataSchema,
      spec,
      status,
    },
  };
}

export const poolSchema = rootSchema(
  'A pool of warm, pre-started member pods built from one template, handed out through PoolClaims.',
  poolSpecSchema,
  poolStatusSchema,
);

export const claimSchema = rootSchema(
  'A claim of ready members (one unless count says more) of an InstancePool in the same namespace.',
  claimSpecSchema,
  claimStatusSchema,
);

/** A schema as the API server reads it: the TypeScript twins of the CEL rules left out. */
export type OpenApiSchema = Omit<Schema, 'properties' | 'items' | 'additionalProperties' | 'x-kubernetes-validations' | '__value'> & {
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  'x-kubernetes-validations'?: Omit<ValidationRule, 'holds' | 'explain'>[];
};

export function toOpenApi(schema: Schema): OpenApiSchema {
  const { properties, items, additionalProperties, 'x-kubernetes-validations': rules, ...rest } = schema;
  return {
    ...rest,
    ...(properties && { properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toOpenApi(v)])) }),
    ...(items && { items: toOpenApi(items) }),
    ...(additionalProperties && { additionalProperties: toOpenApi(additionalProperties) }),
    ...(rules && { 'x-kubernetes-validations': rules.map(({ holds: _holds, explain: _explain, ...rule }) => rule) }),
  };
}

interface PrinterColumn {
  name: string;
  type: 'integer' | 'string' | 'date';
  jsonPath: string;
  description?: string;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: OpenApiSchema };
      subresources: {
        status: Record<string, never>;
        scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
      };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: { jsonPath: string }[];
    }[];
  };
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function crd(
  kind: string,
  plural: string,
  shortName: string,
  schema: Schema,
  version: Omit<CustomResourceDefinition['spec']['versions'][number], 'name' | 'served' | 'storage' | 'schema'>,
): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [shortName], categories: ['warmpool'] },
      scope: 'Namespaced',
      versions: [{ name: VERSION, served: true, storage: true, schema: { openAPIV3Schema: toOpenApi(schema) }, ...version }],
    },
  };
}

export function customResourceDefinitions(): CustomResourceDefinition[] {
  return [
    crd(POOL_KIND, POOL_PLURAL, 'ipool', poolSchema, {
      subresources: {
        status: {},
        scale: { specReplicasPath: '.spec.targetSize', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
      },
      additionalPrinterColumns: [
        { name: 'Target', type: 'integer', jsonPath: '.spec.targetSize', description: 'Desired warm members.' },
        { name: 'Warming', type: 'integer', jsonPath: '.status.warmingCount' },
        { name: 'Ready', type: 'integer', jsonPath: '.status.readyCount' },
        { name: 'Claimed', type: 'integer', jsonPath: '.status.claimedCount' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        age,
      ],
    }),
    crd(CLAIM_KIND, CLAIM_PLURAL, 'pclaim', claimSchema, {
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: 'Pool', type: 'string', jsonPath: '.spec.poolName' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Member', type: 'string', jsonPath: '.status.member.name' },
        age,
      ],
      // `kubectl get pclaim --field-selector spec.poolName=<pool>` (Kubernetes 1.31 and later).
      selectableFields: [{ jsonPath: '.spec.poolName' }],
    }),
  ];
}
