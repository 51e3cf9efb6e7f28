// make bench (autosize): a bursty claim trace (quiet, a 10x burst, quiet) replayed against a fixed-size pool and an
// Objective pool side by side (issue 22). Both get the same claims at the same instants (seeded Poisson arrivals),
// each held a few seconds and then deleted. For each pool it prints the share of claims that waited and the ready
// member-seconds spent, and the ratio of the two pools; the JSON goes to .cache/bench/.
//   waited:   the claim found no ready member: the member it was bound to became ready (its warmpool.dev/ready-at
//             stamp) only after the claim existed (its create returned), or it was never bound. A claim that found a
//             ready member but was bound late by a slow pass did not wait for a member: on a shared 2-core machine
//             the operator's queue stage also counts those (test/autoscale.test.ts saw 14-30% over 0.5 s at load 10
//             with the pool never empty), so it is printed beside, not used.
//   cost:     warmpool_pool_ready_member_seconds_total over the trace (ready, unclaimed members x seconds), from the
//             operator's /metrics; status.readyCount sampled every second and integrated is printed beside.
//   fixed:    sized once with the Objective's own formula (same objective, same measured warm-up) for the trace's
//             MEAN rate: the size a user who knows the average demand would pick (AUTOSIZE_FIXED_SIZE overrides it).
// Settings (environment): AUTOSIZE_PHASES ("rate:seconds,...", default 0.5:60,5:30,0.5:60), AUTOSIZE_SEED (1),
// AUTOSIZE_HOLD_SECONDS (3), AUTOSIZE_WARMUP_SECONDS (2, the members' ready delay), AUTOSIZE_RATE_WINDOW_SECONDS (10),
// AUTOSIZE_STABILIZATION_SECONDS (30), AUTOSIZE_FIXED_SIZE.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeInformer, type V1Pod } from '@kubernetes/client-node';
import { ANN_READY_AT, type InstancePool, type InstancePoolSpec, type PoolClaim } from '../operator/api/types.js';
import { objectiveSize } from '../operator/autoscale/poisson.js';
import { REACTION_SECONDS } from '../operator/autoscale/plan.js';
import { readMetrics } from '../operator/utilization/exposition.js';
import { repoRoot } from '../e2e/cluster/paths.js';
import {
  DEFAULT_PHASES,
  integrateReady,
  meanRate,
  parsePhases,
  poissonArrivals,
  summarizeWaits,
  traceSeconds,
  type ClaimRecord,
  type Phase,
  type WaitSummary,
} from './autosize-trace.js';
import { BoundWatch, poolClaimsIn } from './claims.js';
import { benchEnv, benchPool, envCount, machineInfo, sleep, waitFor, type BenchEnv } from './env.js';
import { ratio } from './peer-report.js';
import { summary } from './stats.js';

const NS = 'bench-autosize';
const G = { group: 'warmpool.dev', version: 'v1alpha1', namespace: NS } as const;
const OBJECTIVE = 0.01;
const MAX_SIZE = 100;
/** A claim not bound by then counts as waited (and unbound): a stuck run must still end. */
const CLAIM_DEADLINE_MS = 60_000;
const POOLS = ['fixed', 'objective'] as const;
type PoolName = (typeof POOLS)[number];

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function pool(name: PoolName, targetSize: number, warmupSeconds: number, extra: Partial<InstancePoolSpec>): InstancePool {
  const p = benchPool(NS, name, targetSize, MAX_SIZE);
  p.spec.template.metadata = { annotations: { 'sim.warmpool.dev/ready-after': `${warmupSeconds}s` } };
  Object.assign(p.spec, extra);
  return p;
}

const getPool = async (env: BenchEnv, name: PoolName): Promise<InstancePool> =>
  (await env.custom.getNamespacedCustomObject({ ...G, plural: 'instancepools', name })) as InstancePool;

/** Until every wanted member is ready and at least one warm-up was measured. */
async function settled(env: BenchEnv, name: PoolName): Promise<InstancePool> {
  let last: InstancePool | undefined;
  await waitFor(
    `pool ${name} full with a measured warm-up`,
    async () => {
      last = await getPool(env, name);
      const s = last.status;
      return (s?.warmup?.samples ?? 0) > 0 && (s?.readyCount ?? 0) >= last.spec.targetSize && s?.observedGeneration === last.metadata.generation;
    },
    180_000,
  );
  if (!last) throw new Error(`pool ${name}: not read`);
  return last;
}

interface Sample {
  atMs: number;
  pool: PoolName;
  target: number;
  ready: number;
  warming: number;
}

/** Both pools' spec.targetSize and status counts every second, until stopped. */
function samplePools(env: BenchEnv): { samples: Sample[]; stop: () => Promise<void> } {
  const samples: Sample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + 1000;
      await Promise.all(
        POOLS.map(async (name) => {
          const p = await getPool(env, name).catch(() => undefined);
          if (p) samples.push({ atMs: Date.now(), pool: name, target: p.spec.targetSize, ready: p.status?.readyCount ?? 0, warming: p.status?.warmingCount ?? 0 });
        }),
      );
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

interface OperatorFigures {
  readyMemberSeconds: number;
  queueCount: number;
  queueUnderHalfSecond: number;
}

async function operatorFigures(metricsUrl: string): Promise<Record<PoolName, OperatorFigures>> {
  const text = await (await fetch(metricsUrl)).text();
  const figures = (pool: PoolName): OperatorFigures => {
    const labels = (more: Record<string, string> = {}): [string, string][] => Object.entries({ namespace: NS, pool, ...more });
    const [readyMemberSeconds, queueCount, queueUnderHalfSecond] = readMetrics(text, [
      { name: 'warmpool_pool_ready_member_seconds_total', labels: labels() },
      { name: 'warmpool_claim_duration_seconds_count', labels: labels({ stage: 'queue' }) },
      { name: 'warmpool_claim_duration_seconds_bucket', labels: labels({ stage: 'queue', le: '0.5' }) },
    ]);
    return { readyMemberSeconds: readyMemberSeconds ?? 0, queueCount: queueCount ?? 0, queueUnderHalfSecond: queueUnderHalfSecond ?? 0 };
  };
  return { fixed: figures('fixed'), objective: figures('objective') };
}

interface PoolResult {
  waits: WaitSummary;
  readyMemberSeconds: number;
  readyMemberSecondsFromStatus: number;
  /** The operator's view: claims whose queue stage was over 0.5 s (includes slow passes, see the header). */
  queueOverHalfSecond: { claims: number; over: number };
  createToBoundMs: { p50: number; p99: number; max: number; n: number };
  byPhase: { claims: number; waited: number; meanTarget: number; maxTarget: number; meanReady: number; readyMemberSecondsFromStatus: number }[];
}

export async function autosizeBenchmark(): Promise<void> {
  const phasesText = process.env.AUTOSIZE_PHASES ?? DEFAULT_PHASES;
  const phases: Phase[] = parsePhases(phasesText);
  const seed = envCount('AUTOSIZE_SEED', 1, 2 ** 31 - 1);
  const holdSeconds = envCount('AUTOSIZE_HOLD_SECONDS', 3, 600, 0);
  const warmupSeconds = envCount('AUTOSIZE_WARMUP_SECONDS', 2, 600);
  const rateWindowSeconds = envCount('AUTOSIZE_RATE_WINDOW_SECONDS', 10, 3600, 5);
  const stabilizationSeconds = envCount('AUTOSIZE_STABILIZATION_SECONDS', 30, 3600, 0);
  const fixedOverride = process.env.AUTOSIZE_FIXED_SIZE ? envCount('AUTOSIZE_FIXED_SIZE', 1, MAX_SIZE) : undefined;
  const arrivals = poissonArrivals(phases, seed);
  const startedAt = new Date();
  const { loadAverageAtStart: loadAtStart, ...machine } = machineInfo();
  console.log(
    `autosizing benchmark: trace ${phases.map((p) => `${p.ratePerSecond}/s for ${p.seconds} s`).join(', ')} (seed ${seed}, ${arrivals.length} claims per pool, ` +
      `each held ${holdSeconds} s); members Ready ${warmupSeconds} s after creation; ${machine.cpus} cores, load ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
  );

  const port = await freeLoopbackPort();
  // A known port for /metrics (the last --metrics-bind-address wins over benchEnv's :0).
  const env = await benchEnv(`wp-bench-autosize-${process.pid}`, 2, 250, { operatorArgs: ['--metrics-bind-address', `127.0.0.1:${port}`] });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const readyAt = new Map<string, number>();
  const memberOf = new Map<string, string>();
  const watch = new BoundWatch({
    ...poolClaimsIn(NS),
    // Also notes the member: its ready stamp says whether the claim found it ready.
    isBound: (c) => {
      const claim = c as PoolClaim;
      const member = claim.status?.phase === 'Bound' ? claim.status.member?.name : undefined;
      if (member !== undefined) memberOf.set(claim.metadata.name ?? '', member);
      return member !== undefined;
    },
  });
  const pods = makeInformer<V1Pod>(
    env.kc,
    `/api/v1/namespaces/${NS}/pods`,
    () => env.core.listNamespacedPod({ namespace: NS }),
  );
  const noteReady = (p: V1Pod): void => {
    const at = Date.parse(p.metadata?.annotations?.[ANN_READY_AT] ?? '');
    if (Number.isFinite(at)) readyAt.set(p.metadata?.name ?? '', at);
  };
  pods.on('add', noteReady);
  pods.on('update', noteReady);
  let podsStopped = false;
  pods.on('error', () => setTimeout(() => void (podsStopped ? undefined : pods.start()), 500));
  const sampler = { current: undefined as ReturnType<typeof samplePools> | undefined };
  const report: Record<string, unknown> = { startedAt: startedAt.toISOString(), machine: { ...machine, loadAverageAtStart: loadAtStart } };
  try {
    await env.core.createNamespace({ body: { metadata: { name: NS } } });
    await watch.start(env);
    await pods.start();

    // Both start at the formula's size, the fixed pool for the trace's mean rate, the Objective pool for its first
    // phase (where a pool that had been serving that rate would be); the nominal warm-up until one is measured.
    const mean = meanRate(phases);
    const firstRate = phases[0]?.ratePerSecond ?? 0;
    const size = (rate: number, w: number): number => objectiveSize(rate * (w + REACTION_SECONDS), OBJECTIVE, MAX_SIZE);
    await env.custom.createNamespacedCustomObject({ ...G, plural: 'instancepools', body: pool('fixed', fixedOverride ?? size(mean, warmupSeconds), warmupSeconds, {}) });
    await env.custom.createNamespacedCustomObject({
      ...G,
      plural: 'instancepools',
      body: pool('objective', size(firstRate, warmupSeconds), warmupSeconds, {
        minSize: 1,
        autoscaling: { mode: 'Objective', maxWaitProbability: OBJECTIVE, rateWindowSeconds, scaleDownStabilizationSeconds: stabilizationSeconds },
      }),
    });
    let fixed = await settled(env, 'fixed');
    const measuredWarmup = fixed.status?.warmup?.averageSeconds ?? warmupSeconds;
    const fixedSize = fixedOverride ?? size(mean, measuredWarmup);
    if (fixedSize !== fixed.spec.targetSize) {
      await env.custom.patchNamespacedCustomObject({ ...G, plural: 'instancepools', name: 'fixed', body: { spec: { targetSize: fixedSize } } });
      fixed = await settled(env, 'fixed');
    }
    const objective = await settled(env, 'objective');
    console.log(
      `  fixed pool: ${fixedSize} members (${fixedOverride === undefined ? `the formula for the mean rate ${mean.toFixed(2)}/s, warm-up ${measuredWarmup.toFixed(2)} s measured` : 'AUTOSIZE_FIXED_SIZE'}); ` +
        `Objective pool: maxWaitProbability ${OBJECTIVE}, rate window ${rateWindowSeconds} s, scale-down stabilization ${stabilizationSeconds} s, starting at ${objective.spec.targetSize}`,
    );
    await sleep(2000); // the fills' last status writes land before the first claim

    const s = samplePools(env);
    sampler.current = s;
    const before = await operatorFigures(metricsUrl);
    const t0 = Date.now();
    const endMs = t0 + traceSeconds(phases) * 1000;
    const records: Record<PoolName, (ClaimRecord & { name: string })[]> = { fixed: [], objective: [] };
    const tasks: Promise<void>[] = [];
    const claimOnce = async (poolName: PoolName, i: number, phase: number): Promise<void> => {
      const name = `${poolName}-${i}`;
      const bound = watch.bound(name);
      const body = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: NS }, spec: { poolName } };
      await env.custom.createNamespacedCustomObject({ ...G, plural: 'poolclaims', body });
      const rec: ClaimRecord & { name: string } = { name, phase, createdAtMs: Date.now() };
      records[poolName].push(rec);
      const t = await Promise.race([bound, sleep(CLAIM_DEADLINE_MS).then(() => undefined)]);
      if (t !== undefined) {
        rec.boundAtMs = performance.timeOrigin + t;
        await sleep(holdSeconds * 1000);
      }
      await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'poolclaims', name }).catch(() => undefined);
    };
    for (const [i, a] of arrivals.entries()) {
      await sleep(Math.max(0, t0 + a.atMs - Date.now()));
      for (const p of POOLS) tasks.push(claimOnce(p, i, a.phase));
    }
    await sleep(Math.max(0, endMs - Date.now()));
    const after = await operatorFigures(metricsUrl);
    const toMs = Date.now();
    await Promise.all(tasks);
    await s.stop();
    report.loadAverageAtTraceEnd = loadavg();

    const phaseWindows = phases.map((_, i) => {
      const from = t0 + phases.slice(0, i).reduce((sum, p) => sum + p.seconds * 1000, 0);
      return { from, to: from + (phases[i]?.seconds ?? 0) * 1000 };
    });
    const results = {} as Record<PoolName, PoolResult>;
    for (const name of POOLS) {
      for (const r of records[name]) {
        const member = memberOf.get(r.name);
        const at = member === undefined ? undefined : readyAt.get(member);
        if (at !== undefined) r.memberReadyAtMs = at;
      }
      const waits = summarizeWaits(records[name], phases.length);
      const mine = s.samples.filter((x) => x.pool === name);
      const lat = summary(records[name].filter((r) => r.boundAtMs !== undefined).map((r) => (r.boundAtMs ?? 0) - r.createdAtMs));
      results[name] = {
        waits,
        readyMemberSeconds: round(after[name].readyMemberSeconds - before[name].readyMemberSeconds, 1),
        readyMemberSecondsFromStatus: round(integrateReady(mine, t0, toMs), 1),
        queueOverHalfSecond: {
          claims: after[name].queueCount - before[name].queueCount,
          over: after[name].queueCount - before[name].queueCount - (after[name].queueUnderHalfSecond - before[name].queueUnderHalfSecond),
        },
        createToBoundMs: { p50: round(lat.p50, 1), p99: round(lat.p99, 1), max: round(lat.max, 1), n: lat.n },
        byPhase: phaseWindows.map((w, i) => {
          const inPhase = mine.filter((x) => x.atMs >= w.from && x.atMs < w.to);
          const avg = (f: (x: Sample) => number): number => (inPhase.length === 0 ? Number.NaN : inPhase.reduce((sum, x) => sum + f(x), 0) / inPhase.length);
          return {
            claims: waits.byPhase[i]?.claims ?? 0,
            waited: waits.byPhase[i]?.waited ?? 0,
            meanTarget: round(avg((x) => x.target), 1),
            maxTarget: Math.max(0, ...inPhase.map((x) => x.target)),
            meanReady: round(avg((x) => x.ready), 1),
            readyMemberSecondsFromStatus: round(integrateReady(mine, w.from, w.to), 1),
          };
        }),
      };
    }
    printResults(results, fixedSize, phases);
    const f = results.fixed;
    const o = results.objective;
    const final = await getPool(env, 'objective');
    Object.assign(report, {
      config: {
        phases,
        seed,
        holdSeconds,
        nominalWarmupSeconds: warmupSeconds,
        measuredWarmupSeconds: { fixed: fixed.status?.warmup?.averageSeconds, objective: objective.status?.warmup?.averageSeconds },
        maxWaitProbability: OBJECTIVE,
        rateWindowSeconds,
        scaleDownStabilizationSeconds: stabilizationSeconds,
        fixedSize,
        fixedSizeRule: fixedOverride === undefined ? `objectiveSize(meanRate ${round(mean, 3)}/s x (measured warm-up + ${REACTION_SECONDS} s), ${OBJECTIVE})` : 'AUTOSIZE_FIXED_SIZE',
        objectiveStartSize: objective.spec.targetSize,
        waitedDefinition: "the bound member's warmpool.dev/ready-at is after the claim's create returned, or the claim was never bound",
      },
      claimsPerPool: arrivals.length,
      pools: results,
      ratiosObjectiveOverFixed: {
        waitedShare: round(ratio(o.waits.waitedShare, f.waits.waitedShare), 3),
        readyMemberSeconds: round(ratio(o.readyMemberSeconds, f.readyMemberSeconds), 3),
      },
      objectiveStatusAtEnd: final.status?.autoscaling,
      samples: s.samples.map((x) => ({ ...x, atMs: x.atMs - t0 })),
    });
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
    console.log(`  FAILED: ${String(report.error)}`);
    throw e;
  } finally {
    await sampler.current?.stop();
    podsStopped = true;
    void pods.stop();
    watch.stop();
    await env.stop();
    report.finishedAt = new Date().toISOString();
    report.loadAverageAtEnd = loadavg();
    const dir = join(repoRoot(), '.cache', 'bench');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `autosize-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`  written to ${file}`);
  }
}

function printResults(results: Record<PoolName, PoolResult>, fixedSize: number, phases: readonly Phase[]): void {
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  const label = { fixed: `fixed (${fixedSize})`, objective: `Objective ${OBJECTIVE}` };
  const row = (cells: readonly string[]): string => `  ${cells[0]?.padEnd(16)}${cells.slice(1).map((c) => c.padStart(14)).join('')}`;
  console.log(row(['pool', 'claims', 'waited', 'waited share', 'ready mbr-s', '(from status)', 'queue>0.5s', 'bound p50', 'bound p99']));
  for (const name of POOLS) {
    const r = results[name];
    console.log(
      row([
        label[name],
        String(r.waits.claims),
        `${r.waits.waited}${r.waits.unbound ? ` (${r.waits.unbound} unbound)` : ''}${r.waits.unknown ? ` ?${r.waits.unknown}` : ''}`,
        pct(r.waits.waitedShare),
        r.readyMemberSeconds.toFixed(0),
        r.readyMemberSecondsFromStatus.toFixed(0),
        `${r.queueOverHalfSecond.over}/${r.queueOverHalfSecond.claims}`,
        `${r.createToBoundMs.p50.toFixed(0)} ms`,
        `${r.createToBoundMs.p99.toFixed(0)} ms`,
      ]),
    );
  }
  const f = results.fixed;
  const o = results.objective;
  const shareRatio = ratio(o.waits.waitedShare, f.waits.waitedShare);
  const costRatio = ratio(o.readyMemberSeconds, f.readyMemberSeconds);
  console.log(row(['Objective/fixed', '', '', Number.isFinite(shareRatio) ? `${shareRatio.toFixed(2)}x` : 'n/a', Number.isFinite(costRatio) ? `${costRatio.toFixed(2)}x` : 'n/a']));
  for (const [i, p] of phases.entries()) {
    const cell = (r: PoolResult): string => {
      const b = r.byPhase[i];
      return b ? `waited ${b.waited}/${b.claims}, target mean ${b.meanTarget} max ${b.maxTarget}, ready mean ${b.meanReady} (${b.readyMemberSecondsFromStatus.toFixed(0)} mbr-s)` : '';
    };
    console.log(`  phase ${i + 1} (${p.ratePerSecond}/s for ${p.seconds} s): fixed ${cell(f)}; Objective ${cell(o)}`);
  }
  const better = (a: number, b: number): boolean => a < b;
  const verdict = [
    better(o.waits.waitedShare, f.waits.waitedShare) ? 'fewer claims waited' : 'NOT fewer claims waited',
    better(o.readyMemberSeconds, f.readyMemberSeconds) ? 'fewer ready member-seconds' : 'NOT fewer ready member-seconds',
  ];
  console.log(`  Objective vs fixed: ${verdict.join(', ')}`);
}
