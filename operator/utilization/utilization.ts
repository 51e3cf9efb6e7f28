// How busy a pool's members are, from two sources: request counters and the in-flight gauge of each member's own
// Prometheus endpoint (rates from counter deltas between two scrapes), and cpu/memory usage from metrics.k8s.io
// PodMetrics as a percent of what the containers asked for. Pure: samples and times come in as arguments.
//
// Percent rule: a container's denominator is its request for the resource, or its limit when it has no request;
// containers with neither are left out of both the usage and the denominator (there is nothing to be a percent
// of). The API server already defaults a missing request to the limit, so the fallback matters only for objects
// that were not defaulted. Usage of a container the pod spec does not list (or of a container with no usage
// reported) is left out the same way. Init containers count only when they are sidecars (restartPolicy Always),
// since only those run next to the main containers.
import type { V1Container } from '@kubernetes/client-node';
import type { CachedPod } from '../member/cached-pod.js';
import type { PoolUtilization } from '../api/types.js';
import { joinKey } from '../kube/key.js';
import { parseQuantity } from './quantity.js';

/** What one scrape of a member's endpoint read. Counters are cumulative; `at` is epoch milliseconds. */
export interface EndpointSample {
  at: number;
  http?: number;
  tcp?: number;
  method?: number;
  inflight?: number;
}

/** One member's figures; each is undefined when its source had nothing (yet). */
export interface MemberUtilization {
  httpRps?: number;
  tcpRps?: number;
  methodRps?: number;
  /** Sum of the protocol rates that are known. */
  combinedRps?: number;
  inflight?: number;
  cpuPercent?: number;
  memoryPercent?: number;
}

export type MemberRates = Pick<MemberUtilization, 'httpRps' | 'tcpRps' | 'methodRps' | 'combinedRps'>;

/**
 * Per-second rate of a counter between two readings `seconds` apart. A reading lower than the previous one means
 * the counter restarted from zero (the process restarted), so the increase is the new reading itself. Undefined
 * without two readings or without time between them.
 */
export function counterRate(previous: number | undefined, current: number | undefined, seconds: number): number | undefined {
  if (previous === undefined || current === undefined || !(seconds > 0)) return undefined;
  return (current >= previous ? current - previous : current) / seconds;
}

/** Request rates between two scrapes of one member; the first scrape (no previous) gives none. */
export function memberRates(previous: EndpointSample | undefined, current: EndpointSample): MemberRates {
  if (!previous) return {};
  const seconds = (current.at - previous.at) / 1000;
  const httpRps = counterRate(previous.http, current.http, seconds);
  const tcpRps = counterRate(previous.tcp, current.tcp, seconds);
  const methodRps = counterRate(previous.method, current.method, seconds);
  const known = [httpRps, tcpRps, methodRps].filter((rate) => rate !== undefined);
  const combinedRps = known.length > 0 ? known.reduce((sum, rate) => sum + rate, 0) : undefined;
  return { httpRps, tcpRps, methodRps, combinedRps };
}

/** A container's denominators in base units (cores, bytes): request, else limit, else undefined. */
export interface ContainerCapacity {
  name: string;
  cpu?: number;
  memory?: number;
}

export type Resource = 'cpu' | 'memory';

export function podCapacity(pod: CachedPod): ContainerCapacity[] {
  const sidecars = (pod.spec?.initContainers ?? []).filter((container) => container.restartPolicy === 'Always');
  return [...(pod.spec?.containers ?? []), ...sidecars].map((container) => ({
    name: container.name,
    cpu: denominator(container, 'cpu'),
    memory: denominator(container, 'memory'),
  }));
}

function denominator(container: V1Container, resource: Resource): number | undefined {
  const request = positiveQuantity(container.resources?.requests?.[resource]);
  return request ?? positiveQuantity(container.resources?.limits?.[resource]);
}

function positiveQuantity(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseQuantity(value);
  return parsed !== undefined && parsed > 0 ? parsed : undefined;
}

/** One pod's usage from metrics.k8s.io, in base units. */
export interface PodUsage {
  name: string;
  containers: ContainerCapacity[];
}

/**
 * Validates a metrics.k8s.io/v1beta1 PodMetricsList and indexes it by pod name. Items or containers that are not
 * shaped as expected are skipped; an unreadable quantity leaves that figure undefined.
 */
export function parsePodMetricsList(body: unknown): Map<string, PodUsage> {
  const byName = new Map<string, PodUsage>();
  for (const item of listItems(body)) {
    const usage = parsePodMetrics(item);
    if (usage) byName.set(usage.name, usage);
  }
  return byName;
}

/** Pool key (namespace/name) -> pod name -> usage. */
export type UsageByPool = Map<string, Map<string, PodUsage>>;

/**
 * Adds a PodMetricsList (of one namespace or of the whole cluster) to `into`, grouped by the item's namespace and
 * its `poolLabel` label (metrics-server copies the pod's labels onto its PodMetrics). Items without a namespace or
 * that label, or not shaped as expected, are skipped: one list feeds every pool, so a stray item must not fail it.
 */
export function groupPodMetricsByPool(body: unknown, poolLabel: string, into: UsageByPool = new Map()): UsageByPool {
  for (const item of listItems(body)) {
    if (!isRecord(item) || !isRecord(item.metadata)) continue;
    const { namespace, labels } = item.metadata;
    const pool = isRecord(labels) ? labels[poolLabel] : undefined;
    if (typeof namespace !== 'string' || namespace === '' || typeof pool !== 'string' || pool === '') continue;
    const usage = parsePodMetrics(item);
    if (!usage) continue;
    const key = joinKey(namespace, pool);
    let pods = into.get(key);
    if (!pods) into.set(key, (pods = new Map<string, PodUsage>()));
    pods.set(usage.name, usage);
  }
  return into;
}

/**
 * What one PodMetrics list per interval covers: the whole cluster when the operator watches all namespaces (one
 * list, `undefined`), else each watched namespace once (the operator has no right to list elsewhere).
 */
export function podMetricsScopes(namespaces: readonly string[]): (string | undefined)[] {
  return namespaces.length === 0 ? [undefined] : [...new Set(namespaces)];
}

function listItems(body: unknown): unknown[] {
  return isRecord(body) && Array.isArray(body.items) ? (body.items as unknown[]) : [];
}

function parsePodMetrics(item: unknown): PodUsage | undefined {
  if (!isRecord(item) || !isRecord(item.metadata) || typeof item.metadata.name !== 'string') return undefined;
  const containers: ContainerCapacity[] = [];
  for (const container of Array.isArray(item.containers) ? (item.containers as unknown[]) : []) {
    if (!isRecord(container) || typeof container.name !== 'string' || !isRecord(container.usage)) continue;
    const { cpu, memory } = container.usage;
    containers.push({
      name: container.name,
      cpu: typeof cpu === 'string' ? parseQuantity(cpu) : undefined,
      memory: typeof memory === 'string' ? parseQuantity(memory) : undefined,
    });
  }
  return { name: item.metadata.name, containers };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Usage as a percent of the denominators (see the rule at the top); undefined when no container counts. */
export function usagePercent(capacity: readonly ContainerCapacity[], usage: PodUsage, resource: Resource): number | undefined {
  let used = 0;
  let total = 0;
  for (const container of capacity) {
    const limit = container[resource];
    if (limit === undefined) continue;
    const reported = usage.containers.find((candidate) => candidate.name === container.name)?.[resource];
    if (reported === undefined) continue;
    used += reported;
    total += limit;
  }
  return total > 0 ? (100 * used) / total : undefined;
}

/**
 * The pool's figures: sums of rates and in-flight requests, means of cpu and memory percent over the members
 * that have them, rounded to two decimals. Undefined while there are members but none has any figure yet (the
 * first scrape gives no rates), so the status is not written with zeros that only mean "not measured yet".
 * Without `requests` (a pool without spec.metrics: nobody reads its endpoints) the request figures are left out
 * rather than reported as zeros, and the result is undefined unless some member has a cpu or memory figure.
 */
export function aggregateUtilization(
  members: readonly MemberUtilization[],
  now: number,
  { requests = true }: { requests?: boolean } = {},
): PoolUtilization | undefined {
  const sum = { httpRps: 0, tcpRps: 0, methodRps: 0, inflight: 0 };
  const cpu = { total: 0, count: 0 };
  const memory = { total: 0, count: 0 };
  const add = (acc: { total: number; count: number }, figure: number | undefined): void => {
    if (figure === undefined) return;
    acc.total += figure;
    acc.count++;
  };
  let measured = 0;
  for (const member of members) {
    for (const figure of ['httpRps', 'tcpRps', 'methodRps', 'inflight'] as const) sum[figure] += member[figure] ?? 0;
    add(cpu, member.cpuPercent);
    add(memory, member.memoryPercent);
    if (Object.values(member).some((figure) => figure !== undefined)) measured++;
  }
  if (members.length > 0 && measured === 0) return undefined;
  if (!requests && cpu.count === 0 && memory.count === 0) return undefined;
  const utilization: PoolUtilization = requests
    ? {
        combinedRps: round(sum.httpRps + sum.tcpRps + sum.methodRps),
        httpRps: round(sum.httpRps),
        tcpRps: round(sum.tcpRps),
        methodRps: round(sum.methodRps),
        inflight: round(sum.inflight),
        sampledAt: new Date(now).toISOString(),
      }
    : { sampledAt: new Date(now).toISOString() };
  if (cpu.count > 0) utilization.avgCpuPercent = round(cpu.total / cpu.count);
  if (memory.count > 0) utilization.avgMemoryPercent = round(memory.total / memory.count);
  return utilization;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A figure moved meaningfully: by more than this fraction of its previous value... */
export const CHANGE_RELATIVE = 0.05;
/** ...and by more than this absolute amount, so small values do not flap on noise. */
export const CHANGE_ABSOLUTE = 1;

const FIGURES = ['combinedRps', 'httpRps', 'tcpRps', 'methodRps', 'inflight', 'avgCpuPercent', 'avgMemoryPercent'] as const;

/**
 * Whether the status should be rewritten: true when there was none, when a figure appeared or disappeared, or
 * when one moved by more than max(5% of its previous value, 1). sampledAt alone never counts.
 */
export function utilizationChanged(previous: PoolUtilization | undefined, next: PoolUtilization): boolean {
  if (!previous) return true;
  return FIGURES.some((figure) => {
    const before = previous[figure];
    const after = next[figure];
    if (before === undefined || after === undefined) return before !== after;
    return Math.abs(after - before) > Math.max(CHANGE_RELATIVE * Math.abs(before), CHANGE_ABSOLUTE);
  });
}

/**
 * What status.utilization should say, given what it says now (`shown`: our last write, else the cache) and the
 * latest measurement: the measurement when it moved meaningfully (utilizationChanged), else what is shown, so a
 * pool at a steady load keeps an equal status and costs no write. Nothing measured (no PodMetrics nor endpoint, or no round
 * yet) leaves what is shown.
 */
export function statusUtilization(shown: PoolUtilization | undefined, measured: PoolUtilization | undefined): PoolUtilization | undefined {
  if (measured === undefined) return shown;
  return shown !== undefined && !utilizationChanged(shown, measured) ? shown : measured;
}
