// Member utilization as the operator's Prometheus series: the gauges are declared with every other metric in
// metrics/registry.ts; what a pool's or a member's figures mean for them is this folder's business.
import type { PoolUtilization } from '../api/types.js';
import type { GaugeOf, MemberLabels, Metrics, PoolLabels } from '../metrics/registry.js';
import { PROTOCOLS } from '../metrics/registry.js';
import type { MemberUtilization } from './utilization.js';

/** Sets the pool's utilization gauges; a series is dropped when there is no figure for it. */
export function recordPoolUtilization(metrics: Metrics, labels: PoolLabels, utilization: PoolUtilization): void {
  // A pool without spec.metrics has cpu and memory only: no request series rather than zeros it never measured.
  setOrDrop(metrics.poolRps, { ...labels, protocol: 'http' }, utilization.httpRps);
  setOrDrop(metrics.poolRps, { ...labels, protocol: 'tcp' }, utilization.tcpRps);
  setOrDrop(metrics.poolRps, { ...labels, protocol: 'method' }, utilization.methodRps);
  setOrDrop(metrics.poolRps, { ...labels, protocol: 'combined' }, utilization.combinedRps);
  setOrDrop(metrics.poolInflight, labels, utilization.inflight);
  setOrDrop(metrics.poolCpu, labels, percentToRatio(utilization.avgCpuPercent));
  setOrDrop(metrics.poolMemory, labels, percentToRatio(utilization.avgMemoryPercent));
}

/** Drops the pool's utilization series, e.g. when it no longer configures spec.metrics. */
export function dropPoolUtilization(metrics: Metrics, labels: PoolLabels): void {
  for (const protocol of PROTOCOLS) metrics.poolRps.remove({ ...labels, protocol });
  metrics.poolInflight.remove(labels);
  metrics.poolCpu.remove(labels);
  metrics.poolMemory.remove(labels);
}

/** Sets a member's utilization gauges, when per-member utilization is enabled. */
export function recordMemberUtilization(metrics: Metrics, labels: MemberLabels, utilization: MemberUtilization): void {
  const gauges = metrics.memberUtilization;
  if (!gauges) return;
  setOrDrop(gauges.rps, { ...labels, protocol: 'http' }, utilization.httpRps);
  setOrDrop(gauges.rps, { ...labels, protocol: 'tcp' }, utilization.tcpRps);
  setOrDrop(gauges.rps, { ...labels, protocol: 'method' }, utilization.methodRps);
  setOrDrop(gauges.rps, { ...labels, protocol: 'combined' }, utilization.combinedRps);
  setOrDrop(gauges.inflight, labels, utilization.inflight);
  setOrDrop(gauges.cpu, labels, percentToRatio(utilization.cpuPercent));
  setOrDrop(gauges.memory, labels, percentToRatio(utilization.memoryPercent));
}

function percentToRatio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}

function setOrDrop<L>(gauge: GaugeOf<L>, labels: L, value: number | undefined): void {
  if (value !== undefined) gauge.set(labels, value);
  else gauge.remove(labels);
}

