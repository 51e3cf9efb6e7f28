// Every Prometheus metric the operator exposes, defined once on its own registry (not prom-client's global one, so
// tests and embedders get a fresh set) together with Node's default process metrics. Controllers receive the
// typed object and call e.g. `metrics.claims.inc({ namespace, pool, result: 'bound' })`; label values that have
// a closed set are typed as unions so a typo fails the typecheck rather than creating a new series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeleteReason } from '../member/members.js';

/** Seconds, from 1 ms to 10 minutes: claim stages, warm-up, reconciles and queue waits all fall in this range. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

export type MemberStateLabel = 'warming' | 'ready' | 'claimed' | 'errored';
export type ClaimResult = 'bound' | 'failed' | 'released' | 'expired' | 'idle' | 'lost' | 'rejected' | 'drained';
export type ClaimStage = 'queue' | 'bind' | 'total';
export type RecycleReason =
  | 'ttl'
  | 'template_drift'
  | 'unhealthy'
  | 'failed'
  | 'evicted'
  | 'warming_timeout'
  | 'drain'
  | 'release'
  | 'scale_down';
export const PROTOCOLS = ['http', 'tcp', 'method', 'combined'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface PoolLabels {
  namespace: string;
  pool: string;
}
export interface MemberLabels extends PoolLabels {
  member: string;
}

export interface CounterOf<L> {
  inc(labels: L, value?: number): void;
}
export interface GaugeOf<L> {
  set(labels: L, value: number): void;
  inc(labels: L, value?: number): void;
  dec(labels: L, value?: number): void;
  remove(labels: L): void;
}
export interface HistogramOf<L> {
  observe(labels: L, seconds: number): void;
  /** Starts a timer; calling the result observes the elapsed seconds and returns them. */
  startTimer(labels: L): () => number;
}

/** Per-member utilization; it multiplies series by the member count, hence behind an option. */
export interface MemberUtilizationMetrics {
  rps: GaugeOf<MemberLabels & { protocol: Protocol }>;
  inflight: GaugeOf<MemberLabels>;
  cpu: GaugeOf<MemberLabels>;
  memory: GaugeOf<MemberLabels>;
}

export interface Metrics {
  registry: Registry;
  /** warmpool_pool_members{namespace,pool,state} */
  poolMembers: GaugeOf<PoolLabels & { state: MemberStateLabel }>;
  /** warmpool_pool_target_size{namespace,pool} */
  poolTargetSize: GaugeOf<PoolLabels>;
  /** warmpool_claims_total{namespace,pool,result} */
  claims: CounterOf<PoolLabels & { result: ClaimResult }>;
  /** warmpool_claim_cold_members_total{namespace,pool}: members created for a claim (fallback Cold), bound at birth. */
  coldMembers: CounterOf<PoolLabels>;
  /** warmpool_claim_duration_seconds{namespace,pool,stage}: queue wait, bind, and creation to bound. */
  claimDuration: HistogramOf<PoolLabels & { stage: ClaimStage }>;
  /** warmpool_member_warmup_seconds{namespace,pool}: creation to Ready. */
  memberWarmup: HistogramOf<PoolLabels>;
  /**
   * warmpool_pool_ready_member_seconds_total{namespace,pool}: idle cost. Fed by readiness.report (the ready count
   * times the time it held, up to each scrape); do not add to it elsewhere.
   */
  readyMemberSeconds: CounterOf<PoolLabels>;
  /** warmpool_member_recycles_total{namespace,pool,reason} */
  recycles: CounterOf<PoolLabels & { reason: RecycleReason }>;
  /** warmpool_pool_pending_claims{namespace,pool} */
  pendingClaims: GaugeOf<PoolLabels>;
  /**
   * Feeds warmpool_pool_seconds_since_ready and warmpool_pool_ready_member_seconds_total{namespace,pool}; report
   * the ready count on every pool pass.
   */
  readiness: { report(labels: PoolLabels, readyCount: number, nowMs: number): void };
  /** warmpool_pool_requests_per_second{namespace,pool,protocol} */
  poolRps: GaugeOf<PoolLabels & { protocol: Protocol }>;
  /** warmpool_pool_inflight_requests{namespace,pool} */
  poolInflight: GaugeOf<PoolLabels>;
  /** warmpool_pool_cpu_utilization_ratio{namespace,pool}: mean of the members, 0.5 = half the request. */
  poolCpu: GaugeOf<PoolLabels>;
  /** warmpool_pool_memory_utilization_ratio{namespace,pool} */
  poolMemory: GaugeOf<PoolLabels>;
  /** warmpool_autoscale_target_size{namespace,pool}: the target the autoscaler chose (spec.autoscaling pools only). */
  autoscaleTarget: GaugeOf<PoolLabels>;
  /** warmpool_autoscale_claim_rate{namespace,pool}: claims per second, exponentially weighted, as the autoscaler estimates it. */
  autoscaleClaimRate: GaugeOf<PoolLabels>;
  /** warmpool_autoscale_predicted_wait_probability{namespace,pool}: Objective's predicted share of claims that wait. */
  autoscaleWaitProbability: GaugeOf<PoolLabels>;
  /** warmpool_member_*{namespace,pool,member}, only with `perMemberUtilization`. */
  memberUtilization: MemberUtilizationMetrics | undefined;
  /** warmpool_reconcile_total{controller} */
  reconciles: CounterOf<{ controller: string }>;
  /** warmpool_reconcile_errors_total{controller} */
  reconcileErrors: CounterOf<{ controller: string }>;
  /** warmpool_reconcile_duration_seconds{controller} */
  reconcileDuration: HistogramOf<{ controller: string }>;
  /** warmpool_workqueue_depth{name} */
  queueDepth: GaugeOf<{ name: string }>;
  /** warmpool_workqueue_adds_total{name} */
  queueAdds: CounterOf<{ name: string }>;
  /** warmpool_workqueue_queue_duration_seconds{name}: time an item waited before a worker took it. */
  queueLatency: HistogramOf<{ name: string }>;
  /** warmpool_workqueue_work_duration_seconds{name} */
  queueWorkDuration: HistogramOf<{ name: string }>;
  /** warmpool_workqueue_retries_total{name} */
  queueRetries: CounterOf<{ name: string }>;
  /** warmpool_api_requests_total{verb,code}; code is the HTTP status, or "error" when none came back (onApiRequest). */
  apiRequests: CounterOf<{ verb: string; code: string }>;
  /** warmpool_leader: 1 while this replica holds the lease. */
  leader: { set(value: number): void };
  /** warmpool_member_scrape_errors_total{namespace,pool,member} */
  scrapeErrors: CounterOf<MemberLabels>;
  /** Removes every series of a deleted pool (members' included). */
  forgetPool(namespace: string, pool: string): Promise<void>;
  /** Removes the per-member series of a member that is gone. */
  forgetMember(namespace: string, pool: string, member: string): void;
}

export interface MetricsOptions {
  /** Per-member utilization series (default false). */
  perMemberUtilization?: boolean;
  /** Node process metrics (default true). */
  defaultMetrics?: boolean;
  /** Clock for warmpool_pool_seconds_since_ready and the idle cost at scrape time; epoch milliseconds. */
  now?: () => number;
}

const UNCONVENTIONAL_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which `promtool check metrics` rejects; the same figures are the sums of
    // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const name of UNCONVENTIONAL_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const now = options.now ?? Date.now;
  const registers = [registry];
  const poolScoped: AnyMetric[] = [];
  const memberScoped: AnyMetric[] = [];

  const counter = <K extends string>(name: string, help: string, labelNames: readonly K[], scope?: AnyMetric[]) => {
    const metric = new Counter<K>({ name, help, labelNames, registers });
    scope?.push(metric);
    return metric;
  };
  const gauge = <K extends string>(name: string, help: string, labelNames: readonly K[], scope?: AnyMetric[]) => {
    const metric = new Gauge<K>({ name, help, labelNames, registers });
    scope?.push(metric);
    return metric;
  };
  const histogram = <K extends string>(name: string, help: string, labelNames: readonly K[], scope?: AnyMetric[]) => {
    const metric = new Histogram<K>({ name, help, labelNames, buckets: DURATION_BUCKETS, registers });
    scope?.push(metric);
    return metric;
  };

  const POOL = ['namespace', 'pool'] as const;
  const MEMBER = ['namespace', 'pool', 'member'] as const;

  // Both are brought up to date at scrape time, so they keep counting between pool passes: a pool that nothing
  // happens to is not reconciled, yet its idle cost grows.
  interface Readiness {
    labels: PoolLabels;
    readyCount: number;
    /** The last report that had a ready member, or that saw the count drop to zero (or the first report). */
    since: number;
    /** Idle cost is counted up to here. */
    accountedAt: number;
  }
  const readinessByPool = new Map<string, Readiness>();
  const readyMemberSeconds = new Counter<'namespace' | 'pool'>({
    name: 'warmpool_pool_ready_member_seconds_total',
    help: 'Idle cost: seconds members spent ready and unclaimed, summed over members.',
    labelNames: POOL,
    registers,
    collect() {
      const at = now();
      for (const entry of readinessByPool.values()) accrueIdleCost(entry, at);
    },
  });
  poolScoped.push(readyMemberSeconds);
  const accrueIdleCost = (entry: Readiness, at: number): void => {
    if (at <= entry.accountedAt) return;
    if (entry.readyCount > 0) readyMemberSeconds.inc(entry.labels, (entry.readyCount * (at - entry.accountedAt)) / 1000);
    entry.accountedAt = at;
  };
  const secondsSinceReady = new Gauge<'namespace' | 'pool'>({
    name: 'warmpool_pool_seconds_since_ready',
    help: 'Seconds since the pool last had a ready member; 0 while it has one.',
    labelNames: POOL,
    registers,
    collect() {
      const at = now();
      for (const { labels, readyCount, since } of readinessByPool.values()) {
        secondsSinceReady.set(labels, readyCount > 0 ? 0 : Math.max(0, (at - since) / 1000));
      }
    },
  });
  poolScoped.push(secondsSinceReady);

  const memberUtilization: MemberUtilizationMetrics | undefined = options.perMemberUtilization
    ? {
        rps: gauge(
          'warmpool_member_requests_per_second',
          'Requests per second served by the member, by protocol.',
          [...MEMBER, 'protocol'],
          memberScoped,
        ),
        inflight: gauge('warmpool_member_inflight_requests', 'Requests in flight in the member.', MEMBER, memberScoped),
        cpu: gauge(
          'warmpool_member_cpu_utilization_ratio',
          'Member cpu usage over its requests (limits where no request).',
          MEMBER,
          memberScoped,
        ),
        memory: gauge(
          'warmpool_member_memory_utilization_ratio',
          'Member memory usage over its requests (limits where no request).',
          MEMBER,
          memberScoped,
        ),
      }
    : undefined;

  const scrapeErrors = counter(
    'warmpool_member_scrape_errors_total',
    "Failed scrapes of a member's metrics endpoint.",
    MEMBER,
    memberScoped,
  );
  const leader = gauge('warmpool_leader', '1 while this replica is the leader, else 0.', []);
  leader.set(0);

  const metrics: Metrics = {
    registry,
    poolMembers: gauge('warmpool_pool_members', 'Members of the pool by state.', [...POOL, 'state'], poolScoped),
    poolTargetSize: gauge('warmpool_pool_target_size', 'Target number of warm members.', POOL, poolScoped),
    claims: counter('warmpool_claims_total', 'Claims by outcome.', [...POOL, 'result'], poolScoped),
    coldMembers: counter(
      'warmpool_claim_cold_members_total',
      'Members created for a claim with fallback Cold (no ready member was free), bound as they were created.',
      POOL,
      poolScoped,
    ),
    claimDuration: histogram(
      'warmpool_claim_duration_seconds',
      'Claim latency by stage: queue (waiting for a member), bind, total (creation to bound).',
      [...POOL, 'stage'],
      poolScoped,
    ),
    memberWarmup: histogram('warmpool_member_warmup_seconds', 'Seconds from member creation to ready.', POOL, poolScoped),
    readyMemberSeconds,
    recycles: counter('warmpool_member_recycles_total', 'Members deleted and replaced, by reason.', [...POOL, 'reason'], poolScoped),
    pendingClaims: gauge('warmpool_pool_pending_claims', 'Claims waiting for a member.', POOL, poolScoped),
    readiness: {
      report(labels, readyCount, nowMs) {
        const key = `${labels.namespace}/${labels.pool}`;
        const entry = readinessByPool.get(key);
        if (!entry) {
          readinessByPool.set(key, { labels, readyCount, since: nowMs, accountedAt: nowMs });
          return;
        }
        // The previous count held until now.
        accrueIdleCost(entry, nowMs);
        // The count just dropped to zero: the pool had a ready member until now, however long ago the last report.
        if (readyCount > 0 || entry.readyCount > 0) entry.since = nowMs;
        entry.readyCount = readyCount;
      },
    },
    poolRps: gauge(
      'warmpool_pool_requests_per_second',
      "Requests per second served by the pool's members, by protocol.",
      [...POOL, 'protocol'],
      poolScoped,
    ),
    poolInflight: gauge('warmpool_pool_inflight_requests', "Requests in flight in the pool's members.", POOL, poolScoped),
    poolCpu: gauge(
      'warmpool_pool_cpu_utilization_ratio',
      'Mean member cpu usage over requests (limits where no request).',
      POOL,
      poolScoped,
    ),
    poolMemory: gauge(
      'warmpool_pool_memory_utilization_ratio',
      'Mean member memory usage over requests (limits where no request).',
      POOL,
      poolScoped,
    ),
    autoscaleTarget: gauge('warmpool_autoscale_target_size', 'Target size the autoscaler chose for the pool.', POOL, poolScoped),
    autoscaleClaimRate: gauge(
      'warmpool_autoscale_claim_rate',
      'Claims per second arriving at the pool, exponentially weighted over spec.autoscaling.rateWindowSeconds.',
      POOL,
      poolScoped,
    ),
    autoscaleWaitProbability: gauge(
      'warmpool_autoscale_predicted_wait_probability',
      'Share of claims the Objective predicts will find no ready member, at the estimated rate and the chosen target.',
      POOL,
      poolScoped,
    ),
    memberUtilization,
    reconciles: counter('warmpool_reconcile_total', 'Reconcile passes by controller.', ['controller']),
    reconcileErrors: counter('warmpool_reconcile_errors_total', 'Reconcile passes that failed.', ['controller']),
    reconcileDuration: histogram('warmpool_reconcile_duration_seconds', 'Duration of reconcile passes.', ['controller']),
    queueDepth: gauge('warmpool_workqueue_depth', 'Keys waiting in the work queue.', ['name']),
    queueAdds: counter('warmpool_workqueue_adds_total', 'Keys added to the work queue.', ['name']),
    queueLatency: histogram(
      'warmpool_workqueue_queue_duration_seconds',
      'Seconds a key waited in the queue before a worker took it.',
      ['name'],
    ),
    queueWorkDuration: histogram('warmpool_workqueue_work_duration_seconds', 'Seconds a worker spent on a key.', ['name']),
    queueRetries: counter('warmpool_workqueue_retries_total', 'Keys re-added with back-off after a failure.', ['name']),
    apiRequests: counter('warmpool_api_requests_total', 'Kubernetes API requests by verb and status code.', ['verb', 'code']),
    leader,
    scrapeErrors,
    async forgetPool(namespace, pool) {
      readinessByPool.delete(`${namespace}/${pool}`);
      const match = { namespace, pool };
      await Promise.all([...poolScoped, ...memberScoped].map((metric) => removeMatching(metric, match)));
    },
    forgetMember(namespace, pool, member) {
      const labels = { namespace, pool, member };
      scrapeErrors.remove(labels);
      if (!memberUtilization) return;
      for (const protocol of PROTOCOLS) memberUtilization.rps.remove({ ...labels, protocol });
      memberUtilization.inflight.remove(labels);
      memberUtilization.cpu.remove(labels);
      memberUtilization.memory.remove(labels);
    },
  };
  return metrics;
}

/** Removes every series of `metric` whose labels include `match`. prom-client removes only exact label sets. */
async function removeMatching(metric: AnyMetric, match: Record<string, string>): Promise<void> {
  const { values } = await metric.get();
  for (const { labels } of values) {
    // A histogram lists each label set once per bucket (with `le`) and once for _sum and _count (without).
    if ('le' in labels) continue;
    if (Object.entries(match).every(([name, value]) => labels[name] === value)) metric.remove(labels);
  }
}

/** Counts a reconcile pass, its failure and its duration around `reconcile`. */
export async function observeReconcile<T>(metrics: Metrics, controller: string, reconcile: () => Promise<T>): Promise<T> {
  const labels = { controller };
  const stop = metrics.reconcileDuration.startTimer(labels);
  metrics.reconciles.inc(labels);
  try {
    return await reconcile();
  } catch (error) {
    metrics.reconcileErrors.inc(labels);
    throw error;
  } finally {
    stop();
  }
}

/** The callback of operator/kube/api-metrics.ts: code 0 means no response came back. */
export function onApiRequest(metrics: Metrics): (verb: string, code: number) => void {
  return (verb, code) => metrics.apiRequests.inc({ verb, code: code === 0 ? 'error' : String(code) });
}

/** The hooks operator/kube/workqueue.ts calls; `name` is the queue's name. */
export interface QueueHooks {
  onAdd(name: string): void;
  onDepth(name: string, depth: number): void;
  onLatency(name: string, seconds: number): void;
  onWorkDuration(name: string, seconds: number): void;
  onRetry(name: string): void;
}

export function queueHooks(metrics: Metrics): QueueHooks {
  return {
    onAdd: (name) => metrics.queueAdds.inc({ name }),
    onDepth: (name, depth) => metrics.queueDepth.set({ name }, depth),
    onLatency: (name, seconds) => metrics.queueLatency.observe({ name }, seconds),
    onWorkDuration: (name, seconds) => metrics.queueWorkDuration.observe({ name }, seconds),
    onRetry: (name) => metrics.queueRetries.inc({ name }),
  };
}

const RECYCLE_REASONS: Readonly<Record<DeleteReason, RecycleReason | undefined>> = {
  'scale-down': 'scale_down',
  ttl: 'ttl',
  'template-drift': 'template_drift',
  unhealthy: 'unhealthy',
  failed: 'failed',
  evicted: 'evicted',
  'warming-timeout': 'warming_timeout',
  drain: 'drain',
  // The pool is going away: nothing is replaced, so it is no recycle.
  'pool-deleting': undefined,
};

/** The recycle reason label of a pool planner's delete reason; undefined when the deletion is no recycle. */
export function recycleReason(reason: DeleteReason): RecycleReason | undefined {
  return RECYCLE_REASONS[reason];
}
