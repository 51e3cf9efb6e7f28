// The shell around utilization.ts. Two kinds of rounds:
// - cpu and memory, for every pool: one timer lists PodMetrics once per interval for all pools together (the whole
//   cluster when the operator watches all namespaces, else each watched namespace), selected by the pool label and
//   grouped by pool (groupPodMetricsByPool), so the cost is one request per interval, not one per pool;
// - requests, for each pool with spec.metrics: one timer per pool that every interval scrapes the endpoints of the
//   pool's ready and claimed members (directly at the pod IP, or through the API server's pod proxy).
// Either round composes the pool's figures from the latest of both, records them in the store and wakes the pool's
// work queue when they moved meaningfully from what the pool's status shows. It only measures: the pool controller
// writes the status.
// It watches nothing: the caller passes a function that returns the pool's member pods from its informer cache,
// and the API clients the controllers use (so its requests share their token bucket and connection).
//
// Cost: scrapes share one concurrency limit across pools, each member keeps one sample, and lines of an
// exposition that are not asked for are skipped without allocating (see exposition.ts).
import { isIP } from 'node:net';
import type { CachedPod } from '../member/cached-pod.js';
import { METRICS_DEFAULTS, withPoolDefaults, type ResolvedMetrics } from '../api/defaults.js';
import type { InstancePool, PoolUtilization } from '../api/types.js';
import { LABEL_POOL, LABEL_STATE } from '../api/types.js';
import type { ApiClients } from '../kube/api-metrics.js';
import { joinKey } from '../kube/key.js';
import { clampDelayMs } from '../kube/timers.js';
import { logger } from '../telemetry/logger.js';
import type { MetricQuery } from './exposition.js';
import { parseSelector, readMetrics } from './exposition.js';
import type { Metrics } from '../metrics/registry.js';
import { dropPoolUtilization, recordMemberUtilization, recordPoolUtilization } from './record.js';
import type { UtilizationStore } from './store.js';
import type { ContainerCapacity, EndpointSample, MemberUtilization, PodUsage } from './utilization.js';
import type { UsageByPool } from './utilization.js';
import { aggregateUtilization, groupPodMetricsByPool, memberRates, podCapacity, podMetricsScopes, usagePercent, utilizationChanged } from './utilization.js';

export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** metrics-server's own resolution: listing PodMetrics more often than this mostly reads the same figures. */
export const DEFAULT_POD_METRICS_INTERVAL_MS = 15_000;

const log = logger('scraper');

/** A spec value the scraper will not put in a URL; the message names the field. */
export class UnsafeEndpointError extends Error {}

/**
 * spec.metrics.path as URL path segments, each percent-encoded: whatever the spec says, the URL keeps pointing at
 * the member (a URL parser resolves `..` and `%2e%2e` segments, and `?`, `#` or `\` would end or bend the path). The
 * path is taken literally, so `%` is encoded too. A `.` or `..` segment is refused rather than encoded, since
 * encoding leaves it as it is; the schema refuses it as well, this holds when the CRD installed is older.
 */
export function encodedMetricsPath(path: string): string {
  const segments = (path.startsWith('/') ? path.slice(1) : path).split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw new UnsafeEndpointError(`spec.metrics.path ${JSON.stringify(path)} has a . or .. segment`);
  }
  try {
    return `/${segments.map(encodeURIComponent).join('/')}`;
  } catch {
    // encodeURIComponent throws on a lone surrogate.
    throw new UnsafeEndpointError(`spec.metrics.path ${JSON.stringify(path)} is not valid Unicode`);
  }
}

function checkedPort(port: number): number {
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw new UnsafeEndpointError(`spec.metrics.port ${port} is not a port`);
}

/** `http://<podIP>:<port><path>`, with IPv6 addresses bracketed; the path's segments encoded (encodedMetricsPath). */
export function memberEndpointUrl(podIP: string, port: number, path: string = METRICS_DEFAULTS.path): string {
  const family = isIP(podIP);
  if (family === 0) throw new UnsafeEndpointError(`pod IP ${JSON.stringify(podIP)} is not an IP address`);
  const host = family === 6 ? `[${podIP}]` : podIP;
  return `http://${host}:${checkedPort(port)}${encodedMetricsPath(path)}`;
}

/**
 * The API server path that proxies to a pod's port: `/api/v1/namespaces/<ns>/pods/<name>:<port>/proxy<path>`, every
 * part encoded, so no spec value can name another pod.
 */
export function podProxyPath(namespace: string, pod: string, port: number, path: string = METRICS_DEFAULTS.path): string {
  const target = `${encodeURIComponent(pod)}:${checkedPort(port)}`;
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${target}/proxy${encodedMetricsPath(path)}`;
}

/** A response that came back with a status other than 2xx. */
export class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** The two API server calls the scraper makes; scrapeClients gives the real ones. */
export interface ScrapeClients {
  /**
   * metrics.k8s.io/v1beta1 PodMetrics in `namespace` (undefined: every namespace) matching `labelSelector`, as the
   * API server sent them.
   */
  listPodMetrics(namespace: string | undefined, labelSelector: string): Promise<unknown>;
  /** GET of an API server path (the pod proxy); throws HttpStatusError on a status other than 2xx. */
  apiGet(path: string, signal: AbortSignal, maxBytes: number): Promise<string>;
}

/**
 * The two calls on the controllers' clients (manager.ts builds them: counted, throttled, write-fenced, one shared
 * connection). The pod proxy GET goes out raw so its path stays exactly as podProxyPath encoded it and its body is
 * read with a cap.
 */
export function scrapeClients(api: Pick<ApiClients, 'custom' | 'rawGet'>): ScrapeClients {
  return {
    async listPodMetrics(namespace, labelSelector) {
      const request = { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'pods', labelSelector };
      const list: unknown =
        namespace === undefined
          ? await api.custom.listClusterCustomObject(request)
          : await api.custom.listNamespacedCustomObject({ ...request, namespace });
      return list;
    },
    async apiGet(path, signal, maxBytes) {
      const response = await api.rawGet(path, { signal, headers: { Accept: ACCEPT } });
      if (response.httpStatusCode < 200 || response.httpStatusCode >= 300) {
        await response.body.stream()?.cancel();
        throw new HttpStatusError(response.httpStatusCode);
      }
      return readCapped(response.body.stream(), maxBytes);
    },
  };
}

const ACCEPT = 'text/plain;version=0.0.4, */*;q=0.1';
const REQUEST_HEADERS = { Accept: ACCEPT, 'User-Agent': 'warmpool' };

/** Reads a body as UTF-8, failing as soon as it grows past `maxBytes` (a member's endpoint is not trusted). */
async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    // Buffer's decoder, not a TextDecoder per response: constructing one costs more than the decoding.
    if (done) return Buffer.concat(chunks, size).toString('utf8');
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
}

export interface ScraperOptions {
  metrics: Metrics;
  clients: ScrapeClients;
  /** The pool's member pods, from the informer cache. */
  members(namespace: string, pool: string): readonly CachedPod[];
  /** The namespaces the operator watches; empty (the default) means all, listed with one cluster-wide request. */
  namespaces?: readonly string[];
  /** How often PodMetrics are listed (default 15 s); a pool's shorter spec.metrics interval shortens it. */
  podMetricsIntervalMs?: number;
  /** Where each round that measured something leaves the pool's figures, by pool key (namespace/name). */
  store: Pick<UtilizationStore, 'get' | 'set' | 'delete'>;
  /** Wakes the pool's work queue: its figures moved meaningfully from what its status shows. */
  wake(poolKey: string): void;
  /** Most scrapes in flight across all pools (default 32). */
  concurrency?: number;
  /** Per-scrape timeout (default 2 s). */
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Epoch milliseconds. */
  now?: () => number;
}

interface MemberState {
  name: string;
  /** The last successful scrape, the base of the next rate. */
  last: EndpointSample | undefined;
  /** This round's scrape, when it succeeded. */
  fresh: EndpointSample | undefined;
  /** Rates and in-flight of the last endpoint round (empty when it failed), for the cpu round to compose with. */
  endpoint: MemberUtilization;
  failing: boolean;
  round: number;
}

interface PoolState {
  namespace: string;
  name: string;
  key: string;
  spec: ResolvedMetrics;
  specJson: string;
  /** status.utilization as the pool cache last showed it: a round wakes the pool only when its figures moved from it. */
  shown: PoolUtilization | undefined;
  queries: MetricQuery[];
  /** Index of each figure in `queries`, or -1 when the spec does not name it. */
  slots: { http: number; tcp: number; method: number; inflight: number };
  intervalMs: number;
  /** Why spec.metrics cannot be scraped safely (the path or port); members are then not scraped at all. */
  unsafe: string | undefined;
  timer: NodeJS.Timeout | undefined;
  /** When the next round is due (this.now() time); the timer may wake earlier and sleep again. */
  dueAt: number;
  /** When the last round started, to bring a round forward when the interval shrinks. */
  lastStartedAt: number | undefined;
  members: Map<string, MemberState>;
  round: number;
  /** The round under way; a second request for a round joins it rather than overlapping it. */
  inFlight: Promise<void> | undefined;
  removed: boolean;
}

/** A pool without spec.metrics: measured by the PodMetrics round alone. */
interface UsagePoolState {
  namespace: string;
  name: string;
  key: string;
  shown: PoolUtilization | undefined;
  /** Members whose series the last round set, to drop the series of those that left. */
  members: Set<string>;
}

export class UtilizationScraper {
  private readonly pools = new Map<string, PoolState>();
  private readonly usagePools = new Map<string, UsagePoolState>();
  /** The last PodMetrics round's figures of every pool's members; undefined before the first round. */
  private usage: UsageByPool | undefined;
  private readonly failingScopes = new Set<string>();
  private readonly podMetricsIntervalMs: number;
  private usageTimer: NodeJS.Timeout | undefined;
  private usageDueAt = 0;
  private usageLastStartedAt: number | undefined;
  private usageInFlight: Promise<void> | undefined;
  private stopped = false;
  /** Each pod object's denominators: the informer replaces the object when the pod changes. */
  private readonly capacities = new WeakMap<CachedPod, ContainerCapacity[]>();
  private readonly limiter: Limiter;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: ScraperOptions) {
    this.limiter = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.now = options.now ?? Date.now;
    this.podMetricsIntervalMs = Math.max(1000, options.podMetricsIntervalMs ?? DEFAULT_POD_METRICS_INTERVAL_MS);
  }

  /**
   * Tracks the pool for the PodMetrics round and starts, updates or stops its endpoint timer to match its
   * spec.metrics; call it on every pool event. A pool being deleted is dropped. The first round of each runs at once.
   */
  sync(pool: InstancePool): void {
    const { namespace, name } = pool.metadata;
    if (!namespace || !name || this.stopped) return;
    if (pool.metadata.deletionTimestamp) {
      this.remove(namespace, name);
      return;
    }
    const key = joinKey(namespace, name);
    const spec = pool.spec.metrics && withPoolDefaults(pool.spec).metrics;
    if (!spec) {
      // No endpoint to scrape: the PodMetrics round alone measures it (cpu and memory). A pool that just lost
      // spec.metrics drops its request figures now; its next PodMetrics round reports cpu and memory again.
      if (this.pools.has(key)) {
        this.removeEndpoint(key);
        this.options.store.delete(key);
        dropPoolUtilization(this.options.metrics, { namespace, pool: name });
      }
      const usagePool = this.usagePools.get(key);
      if (usagePool) usagePool.shown = pool.status?.utilization;
      else this.usagePools.set(key, { namespace, name, key, shown: pool.status?.utilization, members: new Set() });
      return;
    }
    const usagePool = this.usagePools.get(key);
    if (usagePool) {
      this.usagePools.delete(key);
      this.forgetMembers(usagePool, new Set());
    }
    const specJson = JSON.stringify(spec);
    const existing = this.pools.get(key);
    if (existing) existing.shown = pool.status?.utilization;
    if (existing?.specJson === specJson) return;
    const state: PoolState = existing ?? {
      namespace,
      name,
      key,
      spec,
      specJson,
      shown: pool.status?.utilization,
      queries: [],
      slots: { http: -1, tcp: -1, method: -1, inflight: -1 },
      intervalMs: 0,
      unsafe: undefined,
      timer: undefined,
      dueAt: 0,
      lastStartedAt: undefined,
      members: new Map(),
      round: 0,
      inFlight: undefined,
      removed: false,
    };
    this.configure(state, spec, specJson);
    if (!existing) {
      this.pools.set(key, state);
      this.schedule(state, this.now());
    } else if (state.timer && state.lastStartedAt !== undefined && state.lastStartedAt + state.intervalMs < state.dueAt) {
      // A shorter interval takes effect now, not after the old one ran out.
      this.schedule(state, state.lastStartedAt + state.intervalMs);
    }
    // PodMetrics are listed at least as often as the shortest endpoint interval, so cpu keeps pace with requests.
    if (this.usageTimer && this.usageLastStartedAt !== undefined && this.usageLastStartedAt + this.usageIntervalMs() < this.usageDueAt) {
      this.scheduleUsage(this.usageLastStartedAt + this.usageIntervalMs());
    }
  }

  /** Forgets the pool (it is gone): stops its timer, drops its state, its stored figures and its series. */
  remove(namespace: string, name: string): void {
    const key = joinKey(namespace, name);
    const usagePool = this.usagePools.get(key);
    if (usagePool) {
      this.usagePools.delete(key);
      this.forgetMembers(usagePool, new Set());
    }
    this.removeEndpoint(key);
    this.options.store.delete(key);
    dropPoolUtilization(this.options.metrics, { namespace, pool: name });
  }

  /** Stops the pool's endpoint timer and drops its members' state and series (the pool lost spec.metrics or is gone). */
  private removeEndpoint(key: string): void {
    const state = this.pools.get(key);
    if (!state) return;
    state.removed = true;
    clearTimeout(state.timer);
    this.pools.delete(key);
    for (const member of state.members.values()) this.options.metrics.forgetMember(state.namespace, state.name, member.name);
  }

  /** Stops every timer; rounds in flight finish without scheduling another. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.usageTimer);
    this.usageTimer = undefined;
    for (const state of this.pools.values()) {
      state.removed = true;
      clearTimeout(state.timer);
      this.options.store.delete(state.key);
    }
    for (const key of this.usagePools.keys()) this.options.store.delete(key);
    this.pools.clear();
    this.usagePools.clear();
  }

  /**
   * One PodMetrics round now (the timer's work; also for tests): one list per scope for every pool, then each
   * pool's figures composed from it. Joins the round under way, if any.
   */
  async refreshUsage(): Promise<void> {
    this.usageInFlight ??= this.runUsageRound().finally(() => {
      this.usageInFlight = undefined;
    });
    return this.usageInFlight;
  }

  private async runUsageRound(): Promise<void> {
    const grouped: UsageByPool = new Map();
    await Promise.all(
      podMetricsScopes(this.options.namespaces ?? []).map(async (scope) => {
        const where = scope ?? 'all namespaces';
        try {
          // Every member carries the pool label: one request selects the members of every pool in the scope.
          groupPodMetricsByPool(await this.options.clients.listPodMetrics(scope, LABEL_POOL), LABEL_POOL, grouped);
          if (this.failingScopes.delete(where)) log.info('PodMetrics readable again', { namespace: where });
        } catch (error) {
          // metrics.k8s.io may be absent (no metrics-server): say so once, then keep quiet.
          const fields = { namespace: where, error: describe(error) };
          if (this.failingScopes.has(where)) log.debug('PodMetrics list failed again', fields);
          else log.warn('PodMetrics list failed; cpu and memory utilization unknown', fields);
          this.failingScopes.add(where);
        }
      }),
    );
    if (this.stopped) return;
    this.usage = grouped;
    const now = this.now();
    for (const state of this.usagePools.values()) this.composeUsagePool(state, now);
    for (const state of this.pools.values()) this.composeEndpointPool(state, now);
  }

  /** A pool without spec.metrics: cpu and memory of its ready and claimed members, no request figures. */
  private composeUsagePool(state: UsagePoolState, now: number): void {
    const { namespace, name, key } = state;
    const usageByPod = this.usage?.get(key);
    const seen = new Set<string>();
    const figures = this.options
      .members(namespace, name)
      .filter(isScrapable)
      .map((pod) => {
        const member = pod.metadata?.name ?? '';
        const figure = this.usageFigures(pod, usageByPod?.get(member));
        seen.add(member);
        recordMemberUtilization(this.options.metrics, { namespace, pool: name, member }, figure);
        return figure;
      });
    this.forgetMembers(state, seen);
    const utilization = aggregateUtilization(figures, now, { requests: false });
    if (!utilization) {
      // Nothing measured (no PodMetrics yet, no requests to be a percent of): the status keeps what it shows.
      // Its series exist only while the store holds figures for it: dropped once, not every round (1,000 pools
      // without metrics-server removed 7,000 series that did not exist every round).
      if (this.options.store.get(key) !== undefined) dropPoolUtilization(this.options.metrics, { namespace, pool: name });
      this.options.store.delete(key);
      return;
    }
    this.publish(key, { namespace, pool: name }, state.shown, utilization);
  }

  /**
   * A pool with spec.metrics: each member's figures of the last endpoint round with its latest cpu and memory.
   * Members the endpoint round has not seen yet have cpu and memory only.
   */
  private composeEndpointPool(state: PoolState, now: number, pods = this.options.members(state.namespace, state.name).filter(isScrapable)): void {
    const { namespace, name, key } = state;
    const usageByPod = this.usage?.get(key);
    const figures = pods.map((pod) => {
      const memberName = pod.metadata?.name ?? '';
      const endpoint = state.members.get(pod.metadata?.uid ?? memberName)?.endpoint ?? {};
      const figure = { ...endpoint, ...this.usageFigures(pod, usageByPod?.get(memberName)) };
      recordMemberUtilization(this.options.metrics, { namespace, pool: name, member: memberName }, figure);
      return figure;
    });
    const utilization = aggregateUtilization(figures, now);
    if (utilization) this.publish(key, { namespace, pool: name }, state.shown, utilization);
  }

  private publish(key: string, labels: { namespace: string; pool: string }, shown: PoolUtilization | undefined, utilization: PoolUtilization): void {
    recordPoolUtilization(this.options.metrics, labels, utilization);
    this.options.store.set(key, utilization);
    if (utilizationChanged(shown, utilization)) this.options.wake(key);
  }

  private forgetMembers(state: UsagePoolState, seen: ReadonlySet<string>): void {
    for (const member of state.members) if (!seen.has(member)) this.options.metrics.forgetMember(state.namespace, state.name, member);
    state.members = new Set(seen);
  }

  /** The shortest of the PodMetrics interval and every endpoint interval. */
  private usageIntervalMs(): number {
    let interval = this.podMetricsIntervalMs;
    for (const state of this.pools.values()) interval = Math.min(interval, state.intervalMs);
    return interval;
  }

  /** Starts the PodMetrics timer (the first round at once); the manager calls it when this replica starts leading. */
  start(): void {
    if (this.usageTimer || this.usageLastStartedAt !== undefined || this.stopped) return;
    this.scheduleUsage(this.now());
  }

  /** As schedule(), for the one PodMetrics timer. */
  private scheduleUsage(dueAt: number): void {
    clearTimeout(this.usageTimer);
    this.usageDueAt = dueAt;
    this.usageTimer = setTimeout(() => this.wakeUsage(), clampDelayMs(dueAt - this.now()));
    this.usageTimer.unref();
  }

  private wakeUsage(): void {
    this.usageTimer = undefined;
    if (this.stopped) return;
    if (this.now() < this.usageDueAt) this.scheduleUsage(this.usageDueAt);
    else void this.usageTick();
  }

  private async usageTick(): Promise<void> {
    const started = this.now();
    this.usageLastStartedAt = started;
    try {
      await this.refreshUsage();
    } catch (error) {
      log.error('PodMetrics round failed', { error });
    }
    if (!this.stopped) this.scheduleUsage(started + this.usageIntervalMs());
  }

  /** One round for the pool now (the timer's work; also for tests). Joins the round under way, if any. */
  async scrapePool(namespace: string, name: string): Promise<void> {
    const state = this.pools.get(joinKey(namespace, name));
    if (!state) return;
    state.inFlight ??= this.runRound(state).finally(() => {
      state.inFlight = undefined;
    });
    return state.inFlight;
  }

  private async runRound(state: PoolState): Promise<void> {
    const { namespace, name } = state;
    const round = ++state.round;
    const pods = this.options.members(namespace, name).filter(isScrapable);
    const targets = pods.map((pod) => ({ pod, member: this.member(state, pod, round) }));
    if (state.queries.length > 0 && state.unsafe === undefined) {
      await Promise.all(targets.map(({ pod, member }) => this.limiter.run(() => this.scrapeMember(state, pod, member))));
    }
    if (state.removed) return;
    for (const { member } of targets) member.endpoint = this.endpointFigures(member);
    this.forgetGone(state, round);
    // cpu and memory come from the latest PodMetrics round (one list for every pool), not a list of this pool's own.
    this.composeEndpointPool(state, this.now(), pods);
  }

  private configure(state: PoolState, spec: ResolvedMetrics, specJson: string): void {
    state.spec = spec;
    state.specJson = specJson;
    state.intervalMs = Math.max(1, spec.intervalSeconds) * 1000;
    state.unsafe = unsafeEndpoint(spec);
    if (state.unsafe !== undefined) {
      const fields = { namespace: state.namespace, name: state.name, reason: state.unsafe };
      log.warn('spec.metrics is unsafe to scrape; not scraping the members', fields);
    }
    state.queries = [];
    const slot = (selector: string | undefined): number => {
      if (selector === undefined) return -1;
      const query = parseSelector(selector);
      if (!query) {
        log.warn('spec.metrics names an unreadable metric selector; ignoring it', {
          namespace: state.namespace,
          name: state.name,
          selector,
        });
        return -1;
      }
      return state.queries.push(query) - 1;
    };
    state.slots = {
      http: slot(spec.httpRequestsCounter),
      tcp: slot(spec.tcpRequestsCounter),
      method: slot(spec.methodRequestsCounter),
      inflight: slot(spec.inflightGauge),
    };
    // Rates across a change of counters would compare different series.
    for (const member of state.members.values()) member.last = undefined;
  }

  /**
   * Runs the next round at `dueAt`. The delay is clamped (a 30-day interval would overflow setTimeout and fire every
   * millisecond), so a long interval wakes the timer early and it sleeps again until the round is due.
   */
  private schedule(state: PoolState, dueAt: number): void {
    clearTimeout(state.timer);
    state.dueAt = dueAt;
    state.timer = setTimeout(() => this.wake(state), clampDelayMs(dueAt - this.now()));
    state.timer.unref();
  }

  private wake(state: PoolState): void {
    state.timer = undefined;
    if (state.removed) return;
    if (this.now() < state.dueAt) this.schedule(state, state.dueAt);
    else void this.tick(state);
  }

  private async tick(state: PoolState): Promise<void> {
    const started = this.now();
    state.lastStartedAt = started;
    try {
      await this.scrapePool(state.namespace, state.name);
    } catch (error) {
      log.error('utilization round failed', { namespace: state.namespace, name: state.name, error });
    }
    if (!state.removed) this.schedule(state, started + state.intervalMs);
  }

  private member(state: PoolState, pod: CachedPod, round: number): MemberState {
    const uid = pod.metadata?.uid ?? pod.metadata?.name ?? '';
    let member = state.members.get(uid);
    if (!member) {
      member = {
        name: pod.metadata?.name ?? '',
        last: undefined,
        fresh: undefined,
        endpoint: {},
        failing: false,
        round,
      };
      state.members.set(uid, member);
    }
    member.round = round;
    member.fresh = undefined;
    return member;
  }

  private async scrapeMember(state: PoolState, pod: CachedPod, member: MemberState): Promise<void> {
    const { namespace, name: pool, spec, queries, slots } = state;
    const at = this.now();
    try {
      const text = await this.fetchEndpoint(state, pod);
      const values = readMetrics(text, queries);
      member.fresh = {
        at,
        http: values[slots.http],
        tcp: values[slots.tcp],
        method: values[slots.method],
        inflight: values[slots.inflight],
      };
      if (member.failing) {
        member.failing = false;
        log.info('member metrics endpoint answers again', { namespace, name: pool, member: member.name });
      }
    } catch (error) {
      this.options.metrics.scrapeErrors.inc({ namespace, pool, member: member.name });
      const fields = { namespace, name: pool, member: member.name, port: spec.port, error: describe(error) };
      // One warning when a member starts failing, not one per interval while it keeps failing.
      if (member.failing) log.debug('member metrics scrape failed again', fields);
      else log.warn('member metrics scrape failed', fields);
      member.failing = true;
    }
  }

  private async fetchEndpoint(state: PoolState, pod: CachedPod): Promise<string> {
    const { spec } = state;
    const signal = AbortSignal.timeout(this.timeoutMs);
    if (spec.via === 'APIServerProxy') {
      const path = podProxyPath(state.namespace, pod.metadata?.name ?? '', spec.port, spec.path);
      return this.options.clients.apiGet(path, signal, this.maxBodyBytes);
    }
    const response = await fetch(memberEndpointUrl(pod.status?.podIP ?? '', spec.port, spec.path), {
      signal,
      headers: REQUEST_HEADERS,
      redirect: 'error',
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(response.status);
    }
    return readCapped(response.body, this.maxBodyBytes);
  }

  /** This round's rates (from the previous successful scrape) and in-flight; empty when this round's scrape failed. */
  private endpointFigures(member: MemberState): MemberUtilization {
    if (!member.fresh) return {};
    const figures: MemberUtilization = { ...memberRates(member.last, member.fresh), inflight: member.fresh.inflight };
    member.last = member.fresh;
    return figures;
  }

  /** cpu and memory percent of one member, from its PodMetrics; none without them. */
  private usageFigures(pod: CachedPod, usage: PodUsage | undefined): MemberUtilization {
    if (!usage) return {};
    let capacity = this.capacities.get(pod);
    if (!capacity) this.capacities.set(pod, (capacity = podCapacity(pod)));
    return { cpuPercent: usagePercent(capacity, usage, 'cpu'), memoryPercent: usagePercent(capacity, usage, 'memory') };
  }

  private forgetGone(state: PoolState, round: number): void {
    for (const [uid, member] of state.members) {
      if (member.round === round) continue;
      state.members.delete(uid);
      this.options.metrics.forgetMember(state.namespace, state.name, member.name);
    }
  }
}

/** Why the spec's endpoint cannot be put in a URL safely, or undefined when it can. */
function unsafeEndpoint(spec: ResolvedMetrics): string | undefined {
  try {
    podProxyPath('ns', 'pod', spec.port, spec.path);
    return undefined;
  } catch (error) {
    if (error instanceof UnsafeEndpointError) return error.message;
    throw error;
  }
}

/** Members that serve: labelled ready or claimed, with an IP, not terminating. */
function isScrapable(pod: CachedPod): boolean {
  const state = pod.metadata?.labels?.[LABEL_STATE];
  return (state === 'ready' || state === 'claimed') && !!pod.status?.podIP && !pod.metadata?.deletionTimestamp;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** At most `limit` tasks at once; a finishing task hands its slot to the longest waiter. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
