// What `status` and `top` print: pure functions from the objects the plugin read (pools, their member pods, claims,
// PodMetrics) and the time, to text. Members are the pods the pool owns by controller reference (or its claims do),
// exactly as the operator counts them; a pod that merely carries the pool's label is not shown as a member.
import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim } from '../../operator/api/types.js';
import { ANN_ACQUIRED_BY } from '../../operator/api/types.js';
import { podCapacity, usagePercent, type PodUsage } from '../../operator/utilization/utilization.js';
import { classifyMember, ownedMembers, toMillis, type MemberPhase } from '../../operator/member/members.js';

/** kubectl's tabular output: columns left-aligned, three spaces apart. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Like kubectl's AGE column (apimachinery's HumanDuration): 45s, 3m12s, 25m, 5h, 3d4h, 12d. */
export function age(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '<unknown>';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return d < 365 * 2 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

const seconds = (s: number | undefined): string => (s === undefined ? '-' : `${s.toFixed(1)}s`);
const percent = (p: number | undefined): string => (p === undefined ? '<unknown>' : `${p.toFixed(1)}%`);
const rate = (r: number | undefined): string => (r === undefined ? '-' : r.toFixed(2));

const STATE_ORDER: Readonly<Record<MemberPhase, number>> = { claimed: 0, ready: 1, warming: 2, failed: 3, terminating: 4 };

export interface MemberRow {
  name: string;
  state: MemberPhase;
  createdAt: number | undefined;
  warmupSeconds: number | undefined;
  node: string;
  ip: string;
  claim: string;
  acquiredBy: string;
}

/** The pool's members, by state (claimed, ready, warming, failed, terminating) then name. */
export function memberRows(pool: InstancePool, pods: readonly V1Pod[]): MemberRow[] {
  return ownedMembers(pods, pool.metadata.uid)
    .map((pod) => {
      const v = classifyMember(pod);
      const warmup = v.readyAt !== undefined && v.warmingStartedAt !== undefined ? (v.readyAt - v.warmingStartedAt) / 1000 : undefined;
      return {
        name: v.name,
        state: v.phase,
        createdAt: v.createdAt,
        warmupSeconds: warmup !== undefined && warmup >= 0 ? warmup : undefined,
        node: v.nodeName ?? '<none>',
        ip: pod.status?.podIP ?? '<none>',
        claim: v.claimName ?? '',
        acquiredBy: pod.metadata?.annotations?.[ANN_ACQUIRED_BY] ?? '',
      };
    })
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Claims of the pool still waiting for a member, in the operator's queue order as far as it reported one. */
export function pendingClaims(pool: string, claims: readonly PoolClaim[]): PoolClaim[] {
  return claims
    .filter((c) => c.spec.poolName === pool && (c.status?.phase === undefined || c.status.phase === 'Pending'))
    .sort((a, b) => (a.status?.queuePosition ?? Number.MAX_SAFE_INTEGER) - (b.status?.queuePosition ?? Number.MAX_SAFE_INTEGER) || (toMillis(a.metadata.creationTimestamp) ?? 0) - (toMillis(b.metadata.creationTimestamp) ?? 0));
}

export interface StatusInput {
  pool: InstancePool;
  pods: readonly V1Pod[];
  claims: readonly PoolClaim[];
  now: number;
}

export function renderStatus({ pool, pods, claims, now }: StatusInput): string {
  const s = pool.status ?? {};
  const spec = pool.spec;
  const name = pool.metadata.name ?? '';
  const rows = memberRows(pool, pods);
  const count = (state: MemberPhase): number => rows.filter((r) => r.state === state).length;
  const pending = pendingClaims(name, claims);
  let out = `Pool ${name} (namespace ${pool.metadata.namespace ?? ''}): ${s.phase ?? 'Unknown'}, target ${spec.targetSize}`;
  out += ` (min ${spec.minSize ?? 0}, max ${spec.maxSize ?? spec.targetSize + 10})${spec.paused === true ? ', paused' : ''}\n`;
  out += `  members:     ${count('ready')} ready, ${count('warming')} warming, ${count('claimed')} claimed`;
  out += `${count('failed') > 0 ? `, ${count('failed')} failed` : ''}${count('terminating') > 0 ? `, ${count('terminating')} terminating` : ''}`;
  out += ` (errored so far: ${s.erroredCount ?? 0})\n`;
  out += `  pending:     ${pending.length} claim${pending.length === 1 ? '' : 's'} waiting\n`;
  const w = s.warmup;
  out += w?.samples
    ? `  warm-up:     last ${seconds(w.lastSeconds)}, average ${seconds(w.averageSeconds)} over ${w.samples} member${w.samples === 1 ? '' : 's'}\n`
    : '  warm-up:     not measured yet\n';
  const u = s.utilization;
  out += u
    ? `  utilization: ${u.combinedRps === undefined ? 'requests not measured (no spec.metrics)' : `${rate(u.combinedRps)} req/s (http ${rate(u.httpRps)}, tcp ${rate(u.tcpRps)}, method ${rate(u.methodRps)}), ${u.inflight ?? 0} in flight`}, cpu ${percent(u.avgCpuPercent)}, memory ${percent(u.avgMemoryPercent)} (sampled ${age(now - (toMillis(u.sampledAt) ?? now))} ago)\n`
    : '  utilization: none reported (needs metrics-server and cpu or memory requests, or spec.metrics)\n';
  const conditions = (s.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`);
  if (conditions.length > 0) out += `  conditions:  ${conditions.join(', ')}\n`;
  out += '\n';
  out += rows.length === 0
    ? 'No members.\n'
    : table(
        ['MEMBER', 'STATE', 'AGE', 'WARM-UP', 'NODE', 'IP', 'CLAIM', 'ACQUIRED-BY'],
        rows.map((r) => [r.name, r.state, age(r.createdAt === undefined ? undefined : now - r.createdAt), seconds(r.warmupSeconds), r.node, r.ip, r.claim || '-', r.acquiredBy || '-']),
      );
  if (pending.length > 0) {
    out += '\n';
    out += table(
      ['PENDING CLAIM', 'PRIORITY', 'POSITION', 'REASON', 'ACQUIRED-BY', 'AGE'],
      pending.map((c) => {
        const created = toMillis(c.metadata.creationTimestamp);
        const reason = c.status?.conditions?.find((x) => x.type === 'Bound')?.reason ?? '-';
        return [c.metadata.name ?? '', String(c.spec.priority ?? 0), c.status?.queuePosition === undefined ? '-' : String(c.status.queuePosition), reason, c.spec.acquiredBy ?? '-', age(created === undefined ? undefined : now - created)];
      }),
    );
  }
  return out;
}

export interface TopInput {
  pools: readonly InstancePool[];
  pods: readonly V1Pod[];
  /** PodMetrics by pod name; undefined when metrics.k8s.io is not served. */
  usage: ReadonlyMap<string, PodUsage> | undefined;
}

const cores = (c: number | undefined): string => (c === undefined ? '<unknown>' : `${Math.round(c * 1000)}m`);
const mebibytes = (b: number | undefined): string => (b === undefined ? '<unknown>' : `${Math.round(b / 2 ** 20)}Mi`);

function sum(usage: PodUsage | undefined, resource: 'cpu' | 'memory'): number | undefined {
  if (usage === undefined) return undefined;
  const values = usage.containers.map((c) => c[resource]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

export function renderTop({ pools, pods, usage }: TopInput): string {
  if (pools.length === 0) return 'No pools found.\n';
  const poolRows = pools.map((p) => {
    const s = p.status ?? {};
    const u = s.utilization;
    return [p.metadata.name ?? '', String(p.spec.targetSize), String(s.readyCount ?? 0), String(s.claimedCount ?? 0), rate(u?.combinedRps), u?.inflight === undefined ? '-' : String(u.inflight), percent(u?.avgCpuPercent), percent(u?.avgMemoryPercent)];
  });
  let out = table(['POOL', 'TARGET', 'READY', 'CLAIMED', 'REQ/S', 'IN-FLIGHT', 'CPU%', 'MEMORY%'], poolRows);
  const memberLines: string[][] = [];
  for (const pool of pools) {
    const mine = pods.filter((p) => p.metadata?.labels?.['warmpool.dev/pool'] === pool.metadata.name);
    for (const row of memberRows(pool, mine)) {
      const pod = mine.find((p) => p.metadata?.name === row.name);
      const u = usage?.get(row.name);
      const cap = pod === undefined ? [] : podCapacity(pod);
      memberLines.push([
        pool.metadata.name ?? '',
        row.name,
        row.state,
        cores(sum(u, 'cpu')),
        u === undefined ? '<unknown>' : percent(usagePercent(cap, u, 'cpu')),
        mebibytes(sum(u, 'memory')),
        u === undefined ? '<unknown>' : percent(usagePercent(cap, u, 'memory')),
      ]);
    }
  }
  out += '\n';
  out += memberLines.length === 0 ? 'No members.\n' : table(['POOL', 'MEMBER', 'STATE', 'CPU(cores)', 'CPU%', 'MEMORY(bytes)', 'MEMORY%'], memberLines);
  if (usage === undefined) out += '\nPer-member cpu and memory need metrics.k8s.io (metrics-server); it is not served here.\n';
  return out;
}
