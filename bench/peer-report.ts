// The pure part of `make bench-peers`: which audited writes belong to a claim's path and which to the refill, the
// figures each system gets, and the table that sets them side by side as ratios. No I/O here.
import { summary } from './stats.js';

/** An API write as the audit log records it (the fields the split needs). */
export interface WriteRecord {
  verb: string;
  resource: string;
  subresource?: string | undefined;
  name?: string | undefined;
}

/** What a scenario knew before its first claim: the claims it made and the members that were already there. */
export interface ClaimPathScope {
  /** The claim resource's plural (poolclaims, sandboxclaims): every write to a claim is on its path. */
  claimResource: string;
  claimNames: ReadonlySet<string>;
  /** Objects that existed before the first claim, as `resource/name` (member pods, agent-sandbox's Sandboxes). */
  preexisting: ReadonlySet<string>;
}

export interface WriteSplit {
  claimPath: number;
  refill: number;
  /** "patch pods", "create sandboxes", "patch sandboxclaims/status" -> count, for each side: what the figures are made of. */
  kinds: { claimPath: Record<string, number>; refill: Record<string, number> };
}

/** An Event's name is `<involved object>.<suffix>` (client-go and client-node alike): the object it is about. */
export function eventSubject(eventName: string): string {
  const dot = eventName.lastIndexOf('.');
  return dot <= 0 ? eventName : eventName.slice(0, dot);
}

/**
 * Writes by program, verb and resource ("kube-controller-manager update poddisruptionbudgets/status" -> count), most
 * first: what the API server served in a window beside the claims themselves.
 */
export function writesByKind(writes: readonly (WriteRecord & { agent: string })[]): Record<string, number> {
  const out = new Map<string, number>();
  for (const w of writes) {
    const kind = `${w.agent || '?'} ${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''}`;
    out.set(kind, (out.get(kind) ?? 0) + 1);
  }
  return Object.fromEntries([...out].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** "kind n, kind n" in the record's order (most first, as writesByKind and readsBetween give it). */
export function countsLine(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/**
 * The API server's request counts by verb and resource ("LIST pods" -> n) from its Prometheus text
 * (apiserver_request_total, summed over codes, scopes and components): reads are not in the audit log, so a window's
 * reads come from two of these.
 */
export function requestCounts(metricsText: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = new Map<string, string>();
    for (const m of line.slice('apiserver_request_total{'.length, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(m[1] ?? '', m[2] ?? '');
    const value = Number(line.slice(close + 1).trim());
    if (!Number.isFinite(value)) continue;
    const sub = labels.get('subresource') ?? '';
    const key = `${labels.get('verb') ?? '?'} ${labels.get('resource') ?? '?'}${sub ? `/${sub}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

/** Read requests (GET, LIST, WATCH) between two requestCounts, most first. */
export function readsBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Record<string, number> {
  const out: [string, number][] = [];
  for (const [key, n] of after) {
    if (!/^(GET|LIST|WATCH) /.test(key)) continue;
    const d = n - (before.get(key) ?? 0);
    if (d > 0) out.push([key, d]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/**
 * Sorts one controller's writes into the claim path (the claims themselves, the members that were ready before the
 * claims came and their Events) and the refill (everything else: replacement creates, the new objects' status,
 * the pool's status and Events). The same rule for every system, so their figures compare.
 */
export function splitClaimWrites(writes: readonly WriteRecord[], scope: ClaimPathScope): WriteSplit {
  let claimPath = 0;
  let refill = 0;
  const kinds: WriteSplit['kinds'] = { claimPath: {}, refill: {} };
  const preexistingNames = new Set([...scope.preexisting].map((k) => k.slice(k.indexOf('/') + 1)));
  for (const w of writes) {
    const name = w.name ?? '';
    let onPath: boolean;
    if (w.resource === scope.claimResource) onPath = true;
    else if (w.resource === 'events') {
      const subject = eventSubject(name);
      onPath = scope.claimNames.has(subject) || preexistingNames.has(subject);
    } else onPath = scope.preexisting.has(`${w.resource}/${name}`);
    if (onPath) claimPath++;
    else refill++;
    const side = onPath ? kinds.claimPath : kinds.refill;
    const kind = `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''}`;
    side[kind] = (side[kind] ?? 0) + 1;
  }
  return { claimPath, refill, kinds };
}

/** One system's figures from one run; a field is NaN when its scenario did not run or failed. */
export interface SystemFigures {
  serialP50Ms: number;
  serialP99Ms: number;
  c20P50Ms: number;
  c20P99Ms: number;
  burstClaimsPerSecond: number;
  writesClaimPath: number;
  writesRefill: number;
  writesAllIdentities: number;
  cpuMsPerClaim: number;
  rssMiB: number;
  /**
   * Serial claims from a refilling pool ÷ from a paused one, p50 and p99, in alternating blocks (warmpool only: the
   * others cannot pause their refill); and the benchmark client's own create request the same way, which the
   * controller never touches: how much the refill slows the cluster itself.
   */
  refillP50Ratio: number;
  refillP99Ratio: number;
  refillClientCreateP99Ratio: number;
}

export const NO_FIGURES: SystemFigures = {
  serialP50Ms: Number.NaN,
  serialP99Ms: Number.NaN,
  c20P50Ms: Number.NaN,
  c20P99Ms: Number.NaN,
  burstClaimsPerSecond: Number.NaN,
  writesClaimPath: Number.NaN,
  writesRefill: Number.NaN,
  writesAllIdentities: Number.NaN,
  cpuMsPerClaim: Number.NaN,
  rssMiB: Number.NaN,
  refillP50Ratio: Number.NaN,
  refillP99Ratio: Number.NaN,
  refillClientCreateP99Ratio: Number.NaN,
};

/** What systemFigures reads of one scenario's run (bench/peers.ts ScenarioResult). */
export interface ScenarioSample {
  scenario: string;
  claims: number;
  /** Every claim's latency, ms. */
  latencies: readonly number[];
  /** First create to last bound. */
  seconds: number;
  writes: { claimPath: number; refill: number; allIdentities: number };
  cpuSeconds: number;
  rssMiB: number;
}

/** The refill A/B's two sides (bench/peers.ts RefillAb). */
export interface RefillAbSides {
  withRefill: { p50: number; p99: number; clientCreateP99: number };
  without: { p50: number; p99: number; clientCreateP99: number };
}

/**
 * One system's figures from its scenarios over every round: latency percentiles of all the round's samples pooled,
 * the burst rate as all burst claims over all burst seconds, writes and CPU per claim over all claims, the highest
 * RSS. Pooling rounds run in turn with the other systems (bench/peers.ts) spreads the machine's drift over all.
 */
export function systemFigures(results: readonly ScenarioSample[], ab?: RefillAbSides): SystemFigures {
  const of = (name: string): ScenarioSample[] => results.filter((r) => r.scenario === name);
  const pct = (name: string, q: 50 | 99): number => {
    const all = of(name).flatMap((r) => r.latencies);
    if (all.length === 0) return Number.NaN;
    const s = summary(all);
    return q === 50 ? s.p50 : s.p99;
  };
  const sum = (rs: readonly ScenarioSample[], f: (r: ScenarioSample) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const claims = sum(results, (r) => r.claims);
  const burst = of('burst');
  const burstSeconds = sum(burst, (r) => r.seconds);
  const perClaim = (f: (r: ScenarioSample) => number): number => (claims === 0 ? Number.NaN : sum(results, f) / claims);
  return {
    serialP50Ms: pct('serial', 50),
    serialP99Ms: pct('serial', 99),
    c20P50Ms: pct('c20', 50),
    c20P99Ms: pct('c20', 99),
    burstClaimsPerSecond: burstSeconds > 0 ? sum(burst, (r) => r.claims) / burstSeconds : Number.NaN,
    writesClaimPath: perClaim((r) => r.writes.claimPath),
    writesRefill: perClaim((r) => r.writes.refill),
    writesAllIdentities: perClaim((r) => r.writes.allIdentities),
    cpuMsPerClaim: perClaim((r) => r.cpuSeconds * 1000),
    rssMiB: results.length === 0 ? Number.NaN : Math.max(...results.map((r) => r.rssMiB)),
    refillP50Ratio: ab === undefined ? Number.NaN : ratio(ab.withRefill.p50, ab.without.p50),
    refillP99Ratio: ab === undefined ? Number.NaN : ratio(ab.withRefill.p99, ab.without.p99),
    refillClientCreateP99Ratio: ab === undefined ? Number.NaN : ratio(ab.withRefill.clientCreateP99, ab.without.clientCreateP99),
  };
}

/**
 * The order systems take their turns in a round: as given in even rounds, reversed in odd ones, so a drift of the
 * machine over the run falls on every system alike (A B C, C B A, ...).
 */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...systems] : [...systems].reverse();
}

/** ours / theirs; NaN when either is missing or theirs is 0 (a ratio to nothing says nothing). */
export function ratio(ours: number, theirs: number): number {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return Number.NaN;
  return ours / theirs;
}

interface Row {
  label: string;
  key: keyof SystemFigures;
  digits: number;
}

const ROWS: readonly Row[] = [
  { label: 'serial p50 (ms)', key: 'serialP50Ms', digits: 1 },
  { label: 'serial p99 (ms)', key: 'serialP99Ms', digits: 1 },
  { label: '20-at-once p50 (ms)', key: 'c20P50Ms', digits: 1 },
  { label: '20-at-once p99 (ms)', key: 'c20P99Ms', digits: 1 },
  { label: 'burst (claims/s)', key: 'burstClaimsPerSecond', digits: 0 },
  { label: 'writes/claim, claim path', key: 'writesClaimPath', digits: 2 },
  { label: 'writes/claim, refill', key: 'writesRefill', digits: 2 },
  { label: 'writes/claim, all identities', key: 'writesAllIdentities', digits: 2 },
  { label: 'controller CPU/claim (ms)', key: 'cpuMsPerClaim', digits: 1 },
  { label: 'controller RSS (MiB)', key: 'rssMiB', digits: 0 },
  { label: 'serial p50, refill / none', key: 'refillP50Ratio', digits: 2 },
  { label: 'serial p99, refill / none', key: 'refillP99Ratio', digits: 2 },
  { label: "client's create p99, refill / none", key: 'refillClientCreateP99Ratio', digits: 2 },
];

const fmt = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

export interface PeerTableInput {
  ours: SystemFigures;
  peer: SystemFigures;
  speedOfLight: SystemFigures;
}

/**
 * The table `make bench-peers` prints: each figure for warmpool, agent-sandbox and the speed-of-light allocator,
 * and warmpool's as a ratio to each (ours / theirs: below 1 is better for times, writes, CPU and memory, above 1
 * for the burst rate).
 */
export function peerTable({ ours, peer, speedOfLight }: PeerTableInput): string {
  const header = ['', 'warmpool', 'agent-sandbox', 'ours/theirs', 'speed of light', 'ours/light'];
  const body = ROWS.map((r) => [
    r.label,
    fmt(ours[r.key], r.digits),
    fmt(peer[r.key], r.digits),
    fmt(ratio(ours[r.key], peer[r.key]), 2),
    fmt(speedOfLight[r.key], r.digits),
    fmt(ratio(ours[r.key], speedOfLight[r.key]), 2),
  ]);
  const rows = [header, ...body];
  const widths = header.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** One of the issue's targets, as a ratio measured in one run, beside the limit this cluster set in the same run. */
export interface TargetCheck {
  target: string;
  value: number;
  met: boolean | undefined;
  /** What the limit is and its value: the same ratio for the speed-of-light allocator, or the cluster's own slowdown. */
  limit?: { what: string; value: number };
}

/**
 * The targets (issue 23) checked against one run: serial p50 and 20-at-once p99 at most 1/3 of agent-sandbox's,
 * the burst rate at least 3x its and at least 70% of the speed of light, serial p99 with the refill within 1.3x of
 * without. Where the speed-of-light allocator (a claim's writes and nothing else) misses a target against the
 * peer, no controller on this cluster could meet it in this run: the limit says so.
 */
export function targetChecks({ ours, peer, speedOfLight }: PeerTableInput): TargetCheck[] {
  const atMost = (v: number, bound: number): boolean | undefined => (Number.isFinite(v) ? v <= bound : undefined);
  const atLeast = (v: number, bound: number): boolean | undefined => (Number.isFinite(v) ? v >= bound : undefined);
  const light = (key: keyof SystemFigures): { what: string; value: number } => ({
    what: 'speed of light / agent-sandbox',
    value: ratio(speedOfLight[key], peer[key]),
  });
  const serialP50 = ratio(ours.serialP50Ms, peer.serialP50Ms);
  const c20P99 = ratio(ours.c20P99Ms, peer.c20P99Ms);
  const burst = ratio(ours.burstClaimsPerSecond, peer.burstClaimsPerSecond);
  const burstLight = ratio(ours.burstClaimsPerSecond, speedOfLight.burstClaimsPerSecond);
  return [
    { target: "serial p50 at most 1/3 of agent-sandbox's", value: serialP50, met: atMost(serialP50, 1 / 3), limit: light('serialP50Ms') },
    { target: "20-at-once p99 at most 1/3 of agent-sandbox's", value: c20P99, met: atMost(c20P99, 1 / 3), limit: light('c20P99Ms') },
    { target: "burst at least 3x agent-sandbox's", value: burst, met: atLeast(burst, 3), limit: light('burstClaimsPerSecond') },
    { target: 'burst at least 0.70 of the speed of light', value: burstLight, met: atLeast(burstLight, 0.7) },
    {
      target: 'serial p99 with the refill within 1.3x of without',
      value: ours.refillP99Ratio,
      met: atMost(ours.refillP99Ratio, 1.3),
      limit: { what: "the client's own create, refill / none", value: ours.refillClientCreateP99Ratio },
    },
  ];
}

/** The targets as lines under the table. */
export function targetLines(checks: readonly TargetCheck[]): string {
  const width = Math.max(...checks.map((c) => c.target.length));
  return checks
    .map((c) => {
      const verdict = c.met === undefined ? 'not measured' : c.met ? 'met' : 'missed';
      const limit = c.limit === undefined ? '' : `   (limit: ${c.limit.what} ${fmt(c.limit.value, 2)})`;
      return `  ${c.target.padEnd(width)}  ${fmt(c.value, 2).padStart(5)}  ${verdict.padEnd(6)}${limit}`;
    })
    .join('\n');
}
