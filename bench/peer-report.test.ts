import { describe, expect, it } from '@jest/globals';
import {
  countsLine,
  eventSubject,
  NO_FIGURES,
  peerTable,
  ratio,
  roundOrder,
  splitClaimWrites,
  systemFigures,
  targetChecks,
  targetLines,
  type ScenarioSample,
  type SystemFigures,
  type WriteRecord,
  writesByKind,
  readsBetween,
  requestCounts,
} from './peer-report.js';

describe('countsLine', () => {
  it('keeps the order it is given, most first as the counters give it', () => {
    expect(countsLine({ 'patch pods': 300, 'GET instancepools': 14 })).toBe('patch pods 300, GET instancepools 14');
    expect(countsLine({})).toBe('');
  });
});

describe('requestCounts and readsBetween', () => {
  const text = (getPods: number, listClaims: number, patches = 9): string =>
    [
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
      '# TYPE apiserver_request_total counter',
      `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="GET",version="v1"} ${getPods}`,
      `apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="GET",version="v1"} 2`,
      `apiserver_request_total{code="200",component="apiserver",dry_run="",group="warmpool.dev",resource="poolclaims",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} ${listClaims}`,
      `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} ${patches}`,
      'apiserver_request_duration_seconds_count{verb="GET"} 1000',
    ].join('\n');
  it('sums over codes and keeps subresources apart', () => {
    expect(Object.fromEntries(requestCounts(text(5, 1)))).toEqual({ 'GET pods': 7, 'LIST poolclaims': 1, 'PATCH pods/status': 9 });
  });
  it('gives the reads that grew, most first, and no writes', () => {
    expect(readsBetween(requestCounts(text(5, 1)), requestCounts(text(6, 4, 20)))).toEqual({ 'LIST poolclaims': 3, 'GET pods': 1 });
  });
});

describe('writesByKind', () => {
  it('counts by program, verb and resource, most first', () => {
    const w = (agent: string, verb: string, resource: string, subresource?: string): WriteRecord & { agent: string } => ({ agent, verb, resource, subresource });
    expect(
      writesByKind([
        w('kube-scheduler', 'create', 'pods', 'binding'),
        w('kube-controller-manager', 'update', 'poddisruptionbudgets', 'status'),
        w('kube-controller-manager', 'update', 'poddisruptionbudgets', 'status'),
        w('', 'create', 'pods'),
      ]),
    ).toEqual({ 'kube-controller-manager update poddisruptionbudgets/status': 2, '? create pods': 1, 'kube-scheduler create pods/binding': 1 });
    expect(Object.keys(writesByKind([w('b', 'patch', 'pods'), w('a', 'patch', 'pods'), w('a', 'patch', 'pods')]))).toEqual(['a patch pods', 'b patch pods']);
  });
});

describe('splitClaimWrites', () => {
  const scope = {
    claimResource: 'sandboxclaims',
    claimNames: new Set(['c-0']),
    preexisting: new Set(['pods/warm-a', 'sandboxes/warm-a']),
  };
  const cases: { name: string; write: WriteRecord; onPath: boolean }[] = [
    { name: 'a claim status write', write: { verb: 'patch', resource: 'sandboxclaims', subresource: 'status', name: 'c-0' }, onPath: true },
    { name: 'a claim annotation patch', write: { verb: 'patch', resource: 'sandboxclaims', name: 'c-0' }, onPath: true },
    { name: 'adopting a warm Sandbox', write: { verb: 'patch', resource: 'sandboxes', name: 'warm-a' }, onPath: true },
    { name: 'relabelling a warm pod', write: { verb: 'patch', resource: 'pods', name: 'warm-a' }, onPath: true },
    { name: 'an Event about the claim', write: { verb: 'create', resource: 'events', name: 'c-0.18a2b3c4d5e6f7a8' }, onPath: true },
    { name: 'an Event about the warm member', write: { verb: 'create', resource: 'events', name: 'warm-a.18a2b3' }, onPath: true },
    { name: 'creating a replacement Sandbox', write: { verb: 'create', resource: 'sandboxes', name: 'pool-xyz' }, onPath: false },
    { name: 'creating its pod', write: { verb: 'create', resource: 'pods', name: 'pool-xyz' }, onPath: false },
    { name: 'patching a pod that was not there before the claims', write: { verb: 'patch', resource: 'pods', name: 'warm-b' }, onPath: false },
    { name: 'a Service named like a warm member (another resource)', write: { verb: 'patch', resource: 'services', name: 'warm-a' }, onPath: false },
    { name: 'the pool status', write: { verb: 'patch', resource: 'sandboxwarmpools', subresource: 'status', name: 'pool' }, onPath: false },
    { name: 'an Event about the pool', write: { verb: 'create', resource: 'events', name: 'pool.18a2b3' }, onPath: false },
  ];
  it.each(cases)('$name: claim path = $onPath', ({ write, onPath }) => {
    expect(splitClaimWrites([write], scope)).toMatchObject(onPath ? { claimPath: 1, refill: 0 } : { claimPath: 0, refill: 1 });
  });

  it('counts every write once', () => {
    const split = splitClaimWrites(
      cases.map((c) => c.write),
      scope,
    );
    expect(split).toMatchObject({ claimPath: cases.filter((c) => c.onPath).length, refill: cases.filter((c) => !c.onPath).length });
  });

  it('says what each side is made of, by verb and resource', () => {
    const split = splitClaimWrites(
      [
        { verb: 'patch', resource: 'pods', name: 'warm-a' },
        { verb: 'patch', resource: 'sandboxclaims', subresource: 'status', name: 'c-0' },
        { verb: 'create', resource: 'pods', name: 'new-1' },
        { verb: 'create', resource: 'pods', name: 'new-2' },
      ],
      scope,
    );
    expect(split.kinds).toEqual({
      claimPath: { 'patch pods': 1, 'patch sandboxclaims/status': 1 },
      refill: { 'create pods': 2 },
    });
  });
});

describe('eventSubject', () => {
  it.each([
    { event: 'burst-1.18a2b3c4', subject: 'burst-1' },
    { event: 'my.dotted.pool.18a2b3', subject: 'my.dotted.pool' },
    { event: 'nodot', subject: 'nodot' },
  ])('$event is about $subject', ({ event, subject }) => expect(eventSubject(event)).toBe(subject));
});

describe('ratio', () => {
  it.each([
    { ours: 10, theirs: 40, want: 0.25 },
    { ours: 10, theirs: 0, want: Number.NaN },
    { ours: Number.NaN, theirs: 4, want: Number.NaN },
    { ours: 4, theirs: Number.POSITIVE_INFINITY, want: Number.NaN },
  ])('$ours / $theirs = $want', ({ ours, theirs, want }) => expect(ratio(ours, theirs)).toBe(want));
});

describe('peerTable', () => {
  const ours: SystemFigures = { ...NO_FIGURES, serialP50Ms: 12, burstClaimsPerSecond: 150 };
  const peer: SystemFigures = { ...NO_FIGURES, serialP50Ms: 48, burstClaimsPerSecond: 30 };
  const light: SystemFigures = { ...NO_FIGURES, serialP50Ms: 6, burstClaimsPerSecond: 200 };
  const lines = peerTable({ ours, peer, speedOfLight: light }).split('\n');
  const row = (label: string): string[] => (lines.find((l) => l.startsWith(label)) ?? '').slice(label.length).trim().split(/\s+/);

  it('sets each figure beside the peer and the limit, as ratios ours / theirs', () => {
    expect(row('serial p50 (ms)')).toEqual(['12.0', '48.0', '0.25', '6.0', '2.00']);
    expect(row('burst (claims/s)')).toEqual(['150', '30', '5.00', '200', '0.75']);
  });

  it('shows a missing figure and its ratios as -', () => {
    expect(row('serial p99 (ms)')).toEqual(['-', '-', '-', '-', '-']);
  });

  it('has one line per figure the acceptance asks for, plus the header', () => {
    expect(lines).toHaveLength(14);
  });

  it('shows the refill ratios for warmpool alone (the others cannot pause their refill)', () => {
    const withRefill = peerTable({ ours: { ...ours, refillP99Ratio: 1.21 }, peer, speedOfLight: light }).split('\n');
    expect((withRefill.find((l) => l.startsWith('serial p99, refill / none')) ?? '').split(/\s{2,}/).slice(1)).toEqual(['1.21', '-', '-', '-', '-']);
  });
});

describe('targetChecks', () => {
  const figures = (f: Partial<SystemFigures>): SystemFigures => ({ ...NO_FIGURES, ...f });
  const ours = figures({ serialP50Ms: 20, c20P99Ms: 300, burstClaimsPerSecond: 120, refillP99Ratio: 1.25, refillClientCreateP99Ratio: 2 });
  const peer = figures({ serialP50Ms: 58, c20P99Ms: 1100, burstClaimsPerSecond: 30 });
  const light = figures({ serialP50Ms: 21, c20P99Ms: 280, burstClaimsPerSecond: 160 });
  const byTarget = (checks: ReturnType<typeof targetChecks>, start: string) => checks.find((c) => c.target.startsWith(start));

  it('checks each target as a ratio of one run, and says where the speed of light itself misses it', () => {
    const checks = targetChecks({ ours, peer, speedOfLight: light });
    expect(byTarget(checks, 'serial p50')).toMatchObject({ met: false, limit: { what: 'speed of light / agent-sandbox' } });
    expect(byTarget(checks, 'serial p50')?.value).toBeCloseTo(20 / 58);
    expect(byTarget(checks, 'serial p50')?.limit?.value).toBeCloseTo(21 / 58);
    expect(byTarget(checks, '20-at-once p99')).toMatchObject({ met: true });
    expect(byTarget(checks, 'burst at least 3x')).toMatchObject({ met: true, value: 4 });
    expect(byTarget(checks, 'burst at least 0.70')).toMatchObject({ met: true, value: 0.75 });
    expect(byTarget(checks, 'serial p99 with the refill')).toMatchObject({ met: true, value: 1.25, limit: { value: 2 } });
  });

  it('bounds are inclusive, and a figure that was not measured is neither met nor missed', () => {
    const edge = targetChecks({ ours: figures({ burstClaimsPerSecond: 90, refillP99Ratio: 1.3 }), peer: figures({ burstClaimsPerSecond: 30 }), speedOfLight: NO_FIGURES });
    expect(byTarget(edge, 'burst at least 3x')?.met).toBe(true);
    expect(byTarget(edge, 'serial p99 with the refill')?.met).toBe(true);
    expect(byTarget(edge, 'burst at least 0.70')?.met).toBeUndefined();
    expect(targetLines(edge)).toMatch(/burst at least 0\.70 of the speed of light +- +not measured/);
  });
});

describe('systemFigures', () => {
  const sample = (scenario: string, latencies: number[], over: Partial<ScenarioSample> = {}): ScenarioSample => ({
    scenario,
    claims: latencies.length,
    latencies,
    seconds: 1,
    writes: { claimPath: 2 * latencies.length, refill: latencies.length, allIdentities: 5 * latencies.length },
    cpuSeconds: 0.01 * latencies.length,
    rssMiB: 100,
    ...over,
  });

  it('pools the rounds: percentiles of every sample, the burst rate as all claims over all seconds, the highest RSS', () => {
    const f = systemFigures([
      sample('serial', [10, 20, 30, 40, 50]),
      sample('serial', [60, 70, 80, 90, 100], { rssMiB: 140 }),
      sample('burst', Array.from({ length: 100 }, () => 1), { seconds: 1 }),
      sample('burst', Array.from({ length: 100 }, () => 1), { seconds: 3 }),
    ]);
    // p50 of the ten pooled samples (nearest rank), not the mean of each round's (30 and 80: 55).
    expect(f.serialP50Ms).toBe(50);
    expect(f.serialP99Ms).toBeGreaterThan(90);
    // 200 claims in 4 s, not the mean of 100/s and 33/s.
    expect(f.burstClaimsPerSecond).toBe(50);
    expect(f.writesClaimPath).toBe(2);
    expect(f.writesRefill).toBe(1);
    expect(f.cpuMsPerClaim).toBeCloseTo(10, 5);
    expect(f.rssMiB).toBe(140);
    expect(f.c20P50Ms).toBeNaN();
    expect(f.refillP99Ratio).toBeNaN();
  });

  it('the refill ratios from the A/B sides', () => {
    const f = systemFigures([sample('serial', [1])], {
      withRefill: { p50: 30, p99: 65, clientCreateP99: 12 },
      without: { p50: 30, p99: 50, clientCreateP99: 10 },
    });
    expect([f.refillP50Ratio, f.refillP99Ratio, f.refillClientCreateP99Ratio]).toEqual([1, 1.3, 1.2]);
  });
});

describe('roundOrder', () => {
  it('turns around every round, so a drift falls on every system alike', () => {
    expect([0, 1, 2].map((r) => roundOrder(['a', 'b', 'c'], r).join(''))).toEqual(['abc', 'cba', 'abc']);
  });
});
