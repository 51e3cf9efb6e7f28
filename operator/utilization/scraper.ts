// The shell around utilization.ts: for each pool with spec.metrics, one timer that every interval scrapes the
// endpoints of the pool's ready and claimed members (directly at the pod IP, or through the API server's pod
// proxy), lists the pool's PodMetrics once, records the aggregate in the store and wakes the pool's work queue when
// it moved meaningfully from what the pool's status shows. It only measures: the pool controller writes the status.
// It watches nothing: the caller passes a function that returns the pool's member pods from its informer cache,
// and the API clients the controllers use (so its requests share their token bucket and connection).
//
// Cost: scrapes share one concurrency limit across pools, each member keeps one sample, and lines of an
// exposition that are not asked for are skipped without allocating (see exposition.ts).
import { isIP } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
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
import { aggregateUtilization, memberRates, parsePodMetricsList, podCapacity, usagePercent, utilizationChanged } from './utilization.js';

export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

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
  /** metrics.k8s.io/v1beta1 PodMetrics in `namespace` matching `labelSelector`, as the API server sent them. */
  listPodMetrics(namespace: string, labelSelector: string): Promise<unknown>;
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
      const list: unknown = await api.custom.listNamespacedCustomObject({
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        namespace,
        plural: 'pods',
        labelSelector,
      });
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
  members(namespace: string, pool: string): readonly V1Pod[];
  /** Where each round that measured something leaves the pool's figures, by pool key (namespace/name). */
  store: Pick<UtilizationStore, 'set' | 'delete'>;
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
  failing: boolean;
  round: number;
  /** The pod object the capacity was computed from; the informer replaces the object when the pod changes. */
  pod: V1Pod | undefined;
  capacity: ContainerCapacity[];
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
  podMetricsFailing: boolean;
  removed: boolean;
}

export class UtilizationScraper {
  private readonly pools = new Map<string, PoolState>();
  private readonly limiter: Limiter;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: ScraperOptions) {
    this.limiter = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts, updates or stops the pool's timer to match its spec.metrics; call it on every pool event. A pool
   * without spec.metrics, or being deleted, is stopped. The first round runs at once.
   */
  sync(pool: InstancePool): void {
    const { namespace, name } = pool.metadata;
    if (!namespace || !name) return;
    const spec = pool.spec.metrics && withPoolDefaults(pool.spec).metrics;
    if (!spec || pool.metadata.deletionTimestamp) {
      this.remove(namespace, name);
      return;
    }
    const key = joinKey(namespace, name);
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
      podMetricsFailing: false,
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
  }

  /** Stops the pool's timer and drops its state and utilization series (the pool lost spec.metrics or is gone). */
  remove(namespace: string, name: string): void {
    const key = joinKey(namespace, name);
    const state = this.pools.get(key);
    if (!state) return;
    state.removed = true;
    clearTimeout(state.timer);
    this.pools.delete(key);
    this.options.store.delete(key);
    dropPoolUtilization(this.options.metrics, { namespace, pool: name });
    for (const member of state.members.values()) this.options.metrics.forgetMember(namespace, name, member.name);
  }

  /** Stops every timer; rounds in flight finish without scheduling another. */
  stop(): void {
    for (const state of this.pools.values()) {
      state.removed = true;
      clearTimeout(state.timer);
      this.options.store.delete(state.key);
    }
    this.pools.clear();
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
    const usage = pods.length > 0 ? this.listUsage(state) : Promise.resolve(undefined);
    const targets = pods.map((pod) => ({ pod, member: this.member(state, pod, round) }));
    if (state.queries.length > 0 && state.unsafe === undefined) {
      await Promise.all(targets.map(({ pod, member }) => this.limiter.run(() => this.scrapeMember(state, pod, member))));
    }
    const usageByPod = await usage;
    if (state.removed) return;
    const now = this.now();
    const figures = targets.map(({ pod, member }) => {
      const figure = this.memberFigures(member, usageByPod?.get(member.name), pod);
      recordMemberUtilization(this.options.metrics, { namespace, pool: name, member: member.name }, figure);
      return figure;
    });
    this.forgetGone(state, round);
    const utilization = aggregateUtilization(figures, now);
    if (!utilization) return;
    recordPoolUtilization(this.options.metrics, { namespace, pool: name }, utilization);
    this.options.store.set(state.key, utilization);
    if (utilizationChanged(state.shown, utilization)) this.options.wake(state.key);
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

  private member(state: PoolState, pod: V1Pod, round: number): MemberState {
    const uid = pod.metadata?.uid ?? pod.metadata?.name ?? '';
    let member = state.members.get(uid);
    if (!member) {
      member = {
        name: pod.metadata?.name ?? '',
        last: undefined,
        fresh: undefined,
        failing: false,
        round,
        pod: undefined,
        capacity: [],
      };
      state.members.set(uid, member);
    }
    member.round = round;
    member.fresh = undefined;
    return member;
  }

  private async scrapeMember(state: PoolState, pod: V1Pod, member: MemberState): Promise<void> {
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

  private async fetchEndpoint(state: PoolState, pod: V1Pod): Promise<string> {
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

  private async listUsage(state: PoolState): Promise<Map<string, PodUsage> | undefined> {
    const { namespace, name } = state;
    try {
      const body = await this.options.clients.listPodMetrics(namespace, `${LABEL_POOL}=${name}`);
      if (state.podMetricsFailing) log.info('PodMetrics readable again', { namespace, name });
      state.podMetricsFailing = false;
      return parsePodMetricsList(body);
    } catch (error) {
      // metrics.k8s.io may be absent (no metrics-server): say so once, then keep quiet.
      const fields = { namespace, name, error: describe(error) };
      if (state.podMetricsFailing) log.debug('PodMetrics list failed again', fields);
      else log.warn('PodMetrics list failed; cpu and memory utilization unknown', fields);
      state.podMetricsFailing = true;
      return undefined;
    }
  }

  private memberFigures(member: MemberState, usage: PodUsage | undefined, pod: V1Pod): MemberUtilization {
    const figures: MemberUtilization = {};
    if (member.fresh) {
      Object.assign(figures, memberRates(member.last, member.fresh));
      figures.inflight = member.fresh.inflight;
      member.last = member.fresh;
    }
    if (usage) {
      if (member.pod !== pod) {
        member.pod = pod;
        member.capacity = podCapacity(pod);
      }
      figures.cpuPercent = usagePercent(member.capacity, usage, 'cpu');
      figures.memoryPercent = usagePercent(member.capacity, usage, 'memory');
    }
    return figures;
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
function isScrapable(pod: V1Pod): boolean {
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
