// make bench-scale: the operator at the size of a large cluster, on the local cluster, the operator as its own process.
//   SCALE_POOLS pools (default 1,000) of SCALE_SIZE members (default 10) in one namespace, on enough fake nodes.
//   Phases, in this order, each with the CPU seconds of every cluster component and of the operator (from /proc):
//   small:   SCALE_SERIAL claims (default 100) one at a time against a single pool of SCALE_SERIAL + 10 members, in a
//            namespace of its own, before the big pools exist: the small-pool latency the scale figure is held to;
//   spread:  SCALE_SERIAL claims one at a time, each to another of SCALE_SERIAL pools of 2, in a namespace of their
//            own, before the big pools exist: the serial-at-scale scenario's access pattern at a small size (each
//            claim's pool is quiet at once and refills among the next claims, which the small pool's does not);
//   light:   the limit, small: the same claims bound by the speed-of-light allocator (bench/speed-of-light.ts: two
//            writes a claim, nothing else), each to another of SCALE_SERIAL plain pods, in a namespace the operator
//            does not watch (it runs with --namespaces for this), before the big pools exist;
//   fill:    the pools created (16 at a time) until every pool reports readyCount = SCALE_SIZE: time to fill all;
//   rest:    SCALE_REST_SECONDS (default 60) with nothing to do: operator writes (audit log by identity), CPU, RSS;
//   serial:  SCALE_SERIAL claims one at a time, each to another pool, at that size (then their refill);
//   light at scale: the light phase again beside the 10,000 members: what the cluster itself gives at that size;
//   burst:   SCALE_BURST claims (default 1,000) spread across the pools, created by 32 workers: claims per second
//            from the first create to the last Bound, latency p50/p99 (then their refill).
//   Latency: create request to Bound seen on a watch opened before (bench/claims.ts BoundWatch), monotonic clock.
//   Operator RSS is sampled every second (peak, per phase and at rest); its CPU peak is the busiest 5 s window.
// SCALE_QPS / SCALE_QPS_BURST, when set, pass --kube-api-qps / --kube-api-burst (default: the operator's defaults).
// Prints the figures and writes them as JSON under .cache/bench/.
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeInformer, type KubernetesListObject } from '@kubernetes/client-node';
import type { InstancePool } from '../operator/api/types.js';
import { repoRoot } from '../e2e/cluster/paths.js';
import { BoundWatch, poolClaimsIn } from './claims.js';
import {
  auditWrites,
  benchEnv,
  benchPool,
  cpuSnapshot,
  envCount,
  machineInfo,
  OPERATOR_USER,
  processCpuSeconds,
  sleep,
  waitFor,
  countByUser,
  type AuditWrite,
  type BenchEnv,
} from './env.js';
import { LIGHT_USER, lightPods, startSpeedOfLight } from './light.js';
import { countsLine, readsBetween, requestCounts, splitClaimWrites, writesByKind } from './peer-report.js';
import { LABEL_LIGHT_POOL } from './speed-of-light.js';
import { summary } from './stats.js';

const POOLS = envCount('SCALE_POOLS', 1000, 5000);
const SIZE = envCount('SCALE_SIZE', 10, 100);
const SERIAL = envCount('SCALE_SERIAL', 100, 1000);
const BURST = envCount('SCALE_BURST', 1000, 10_000);
const REST_SECONDS = envCount('SCALE_REST_SECONDS', 60, 600, 10);
const QPS = process.env.SCALE_QPS;
const QPS_BURST = process.env.SCALE_QPS_BURST;
/** SCALE_EVICTION_PROTECTION=false: pools without their PDB, to see what the disruption controller costs at this size. */
const PROTECT = process.env.SCALE_EVICTION_PROTECTION !== 'false';
const pool = (namespace: string, name: string, size: number, maxSize: number): InstancePool => {
  const p = benchPool(namespace, name, size, maxSize);
  return PROTECT ? p : { ...p, spec: { ...p.spec, evictionProtection: false } };
};

const perPool = (claims: number): number => Math.ceil(claims / POOLS);
if (perPool(SERIAL) > SIZE || perPool(BURST) > SIZE) {
  throw new Error(`SCALE_SERIAL=${SERIAL} and SCALE_BURST=${BURST} over ${POOLS} pools: at most ${SIZE} claims per pool (SCALE_SIZE)`);
}

const NS_SMALL = 'scale-small';
const NS_SPREAD = 'scale-spread';
const NS = 'scale';
/** The speed-of-light allocator's: outside the operator's --namespaces. */
const NS_LIGHT = 'scale-light';
const WP = { group: 'warmpool.dev', version: 'v1alpha1' } as const;
/** kwok gives each node a /24 of pod IPs. */
const PODS_PER_NODE = 250;
const poolName = (i: number): string => `p-${String(i).padStart(4, '0')}`;

interface Latency {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

interface PhaseRecord {
  phase: string;
  seconds: number;
  /** CPU seconds by process: kube-apiserver, etcd, kube-scheduler, kwok-controller, ..., operator, bench client. */
  cpuSeconds: Record<string, number>;
  operatorPeakRssMiB: number;
  /** The machine's 1-minute load average at the phase's end: the machine is shared, so figures move with it. */
  loadAverage1m: number;
}

/** Ready counts of every pool in a namespace, from one informer: waiting on 1,000 pools costs no extra requests. */
class PoolWatch {
  readonly ready = new Map<string, number>();
  private stopped = false;
  private stopInformer: (() => void) | undefined;

  async start(env: BenchEnv, namespace: string): Promise<void> {
    const informer = makeInformer<InstancePool>(
      env.kc,
      `/apis/${WP.group}/${WP.version}/namespaces/${namespace}/instancepools`,
      () => env.custom.listNamespacedCustomObject({ ...WP, namespace, plural: 'instancepools' }) as Promise<KubernetesListObject<InstancePool>>,
    );
    // A pool counts only once its status speaks for its current spec.
    const seen = (p: InstancePool): void => {
      const current = p.status?.observedGeneration === p.metadata.generation;
      this.ready.set(p.metadata.name ?? '', current ? (p.status?.readyCount ?? 0) : 0);
    };
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('delete', (p) => this.ready.delete(p.metadata.name ?? ''));
    informer.on('error', () => setTimeout(() => void (this.stopped ? undefined : informer.start()), 500));
    await informer.start();
    this.stopInformer = () => void informer.stop();
  }

  /** Pools with at least `want` ready members, and the ready members of all pools. */
  count(want: number): { full: number; members: number } {
    let full = 0;
    let members = 0;
    for (const r of this.ready.values()) {
      if (r >= want) full++;
      members += r;
    }
    return { full, members };
  }

  stop(): void {
    this.stopped = true;
    this.stopInformer?.();
  }
}

/** The operator's resident memory and CPU, sampled every second: peaks overall and per phase. */
class OperatorSampler {
  peakRssMiB = 0;
  phasePeakRssMiB = 0;
  /** Busiest 5 s window, in cores. */
  peakCpuCores = 0;
  private readonly cpu: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly env: BenchEnv) {
    this.timer = setInterval(() => this.sample(), 1000);
  }

  sample(): void {
    const rss = this.env.operatorRssMiB();
    this.peakRssMiB = Math.max(this.peakRssMiB, rss);
    this.phasePeakRssMiB = Math.max(this.phasePeakRssMiB, rss);
    this.cpu.push(processCpuSeconds(this.env.operator.pid ?? 0));
    if (this.cpu.length > 6) this.cpu.shift();
    const first = this.cpu[0];
    const last = this.cpu[this.cpu.length - 1];
    if (this.cpu.length === 6 && first !== undefined && last !== undefined) this.peakCpuCores = Math.max(this.peakCpuCores, (last - first) / 5);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

async function createClaim(env: BenchEnv, namespace: string, name: string, pool: string): Promise<void> {
  await env.custom.createNamespacedCustomObject({
    ...WP,
    namespace,
    plural: 'poolclaims',
    body: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace }, spec: { poolName: pool } },
  });
}

/** What the cluster spent on a window of claims: each process's CPU, every identity's writes by program, verb and
 * resource (audit log), and the API server's reads (its request counters): where a scenario's time went. */
interface WindowLoad {
  seconds: number;
  /** The window on the monotonic clock, in microseconds: the clock of a V8 CPU profile's startTime and endTime, so
   * an operator run with NODE_OPTIONS=--cpu-prof can be cut to the window. */
  monotonicUs: [number, number];
  cpuSeconds: Record<string, number>;
  writes: Record<string, number>;
  reads: Record<string, number>;
}

/** Claims one at a time (each waits for the previous to be Bound): latency of each, create request to Bound, and the
 * window's load. */
async function serialClaims(
  env: BenchEnv,
  watch: BoundWatch,
  namespace: string,
  names: readonly string[],
  poolOf: (i: number) => string,
): Promise<{ samples: number[]; load: WindowLoad; writes: AuditWrite[] }> {
  const latencies: number[] = [];
  const requests0 = requestCounts(await env.cluster.kubectl(['get', '--raw', '/metrics']));
  const cpu0 = cpuSnapshot(env);
  const from = Date.now();
  const monoFrom = Number(process.hrtime.bigint() / 1000n);
  for (const [i, name] of names.entries()) {
    const start = performance.now();
    const bound = watch.bound(name);
    await createClaim(env, namespace, name, poolOf(i));
    latencies.push((await bound) - start);
  }
  const to = Date.now();
  const monoTo = Number(process.hrtime.bigint() / 1000n);
  const cpu1 = cpuSnapshot(env);
  const reads = readsBetween(requests0, requestCounts(await env.cluster.kubectl(['get', '--raw', '/metrics'])));
  const cpuSeconds: Record<string, number> = {};
  for (const [k, v] of cpu1) {
    const spent = round(v - (cpu0.get(k) ?? 0), 2);
    if (spent > 0) cpuSeconds[k] = spent;
  }
  // One read of the audit log for both views of the window: every identity's writes and the operator's own.
  const writes = auditWrites(env.cluster, undefined, from, to);
  const load: WindowLoad = { seconds: round((to - from) / 1000, 2), monotonicUs: [monoFrom, monoTo], cpuSeconds, writes: writesByKind(writes), reads };
  return { samples: latencies, load, writes };
}

/** The window's lines: its length and CPU per claim by process, then its most frequent writes and reads. */
function loadLine(load: WindowLoad, claims: number): string {
  const top = (r: Record<string, number>, n: number): string => countsLine(Object.fromEntries(Object.entries(r).slice(0, n)));
  const cpu = Object.entries(load.cpuSeconds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((v * 1000) / claims).toFixed(1)}`)
    .join(', ');
  return `    window ${load.seconds} s; CPU ms/claim: ${cpu}\n    writes: ${top(load.writes, 8)}\n    reads: ${top(load.reads, 6)}`;
}

/** The operator's writes among a window's (audit log by identity): how many, and how many of each verb and resource. */
function operatorWrites(all: readonly AuditWrite[]): { count: number; kinds: Record<string, number> } {
  const writes = all.filter((w) => w.user === OPERATOR_USER);
  const kinds: Record<string, number> = {};
  for (const w of writes) {
    const k = `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''}${w.code !== undefined && w.code >= 300 ? ` ${w.code}` : ''}`;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return { count: writes.length, kinds };
}

/** Member pods of a namespace as `pods/name`, listed in pages (10,000 pods in one response is tens of MB). */
async function podKeys(env: BenchEnv, namespace: string): Promise<Set<string>> {
  const out = new Set<string>();
  let cont: string | undefined;
  do {
    const page = await env.core.listNamespacedPod({ namespace, limit: 1000, ...(cont ? { _continue: cont } : {}) });
    for (const p of page.items) out.add(`pods/${p.metadata?.name ?? ''}`);
    cont = page.metadata?._continue;
  } while (cont);
  return out;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  const members = POOLS * SIZE;
  const nodes = Math.max(2, Math.ceil(((members + SERIAL + BURST) * 1.1) / PODS_PER_NODE) + 1);
  const operatorArgs = [
    '--namespaces',
    [NS_SMALL, NS_SPREAD, NS].join(','),
    ...(QPS ? ['--kube-api-qps', QPS] : []),
    ...(QPS_BURST ? ['--kube-api-burst', QPS_BURST] : []),
  ];
  console.log(
    `bench-scale: ${POOLS} pools of ${SIZE} (${members} members) on ${nodes} fake nodes; serial ${SERIAL}, burst ${BURST}; ` +
      `${machine.cpus} cores, load ${machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')}` +
      (operatorArgs.length ? `; operator ${operatorArgs.join(' ')}` : ''),
  );
  // Without leader election for kube-scheduler and kube-controller-manager: seen in the first full run, the 1,000-claim
  // burst stalled the API server on a loaded machine, both lost their Lease and exited (kwokctl never restarts them),
  // and the pods of the refill were never scheduled.
  const env = await benchEnv(`wp-bench-scale-${process.pid}`, nodes, PODS_PER_NODE, { operatorArgs, faults: { noComponentLeaderElection: true } });
  const sampler = new OperatorSampler(env);
  const pools = new PoolWatch();
  const small = new BoundWatch(poolClaimsIn(NS_SMALL));
  const spread = new BoundWatch(poolClaimsIn(NS_SPREAD));
  const claims = new BoundWatch(poolClaimsIn(NS));
  const lightClaims = new BoundWatch(poolClaimsIn(NS_LIGHT));
  let light: ChildProcess | undefined;
  const phases: PhaseRecord[] = [];
  let phaseStart = { t: performance.now(), cpu: cpuSnapshot(env) };
  const endPhase = (phase: string): PhaseRecord => {
    const cpu = cpuSnapshot(env);
    sampler.sample();
    const rec: PhaseRecord = {
      phase,
      seconds: round((performance.now() - phaseStart.t) / 1000, 1),
      cpuSeconds: Object.fromEntries([...cpu].map(([k, v]) => [k, round(v - (phaseStart.cpu.get(k) ?? 0))])),
      operatorPeakRssMiB: round(sampler.phasePeakRssMiB, 0),
      loadAverage1m: round(loadavg()[0] ?? 0, 1),
    };
    phases.push(rec);
    const c = rec.cpuSeconds;
    console.log(
      `  [${phase}] ${rec.seconds} s; CPU s: apiserver ${c['kube-apiserver'] ?? 0}, etcd ${c.etcd ?? 0}, operator ${c.operator ?? 0}, ` +
        `scheduler ${c['kube-scheduler'] ?? 0}, kwok ${c['kwok-controller'] ?? 0}; operator peak RSS ${rec.operatorPeakRssMiB} MiB; load ${rec.loadAverage1m}`,
    );
    sampler.phasePeakRssMiB = 0;
    phaseStart = { t: performance.now(), cpu };
    return rec;
  };
  const report: Record<string, unknown> = {
    startedAt: startedAt.toISOString(),
    machine,
    sizes: { pools: POOLS, size: SIZE, members, serial: SERIAL, burst: BURST, restSeconds: REST_SECONDS, nodes, operatorArgs, evictionProtection: PROTECT },
  };
  try {
    for (const ns of [NS_SMALL, NS_SPREAD, NS, NS_LIGHT]) await env.core.createNamespace({ body: { metadata: { name: ns } } });
    await pools.start(env, NS);
    await small.start(env);
    await spread.start(env);
    await claims.start(env);
    await lightClaims.start(env);
    mkdirSync(join(repoRoot(), '.cache', 'bench'), { recursive: true });
    light = await startSpeedOfLight(
      await env.cluster.kubeconfigFor(LIGHT_USER, ['system:masters']),
      NS_LIGHT,
      openSync(join(repoRoot(), '.cache', 'bench', 'scale-speed-of-light.log'), 'w'),
    );
    endPhase('setup');

    // The limit: SERIAL claims one at a time, each to another plain pod, bound by the speed-of-light allocator.
    const lightPool = (i: number): string => `l-${String(i).padStart(4, '0')}`;
    const lightSerial = async (tag: string): Promise<{ samples: number[]; load: WindowLoad }> => {
      await env.cluster.kubectl(['apply', '-f', '-'], JSON.stringify(lightPods(NS_LIGHT, Array.from({ length: SERIAL }, (_, i) => ({ name: `${lightPool(i)}-${tag}`, pool: lightPool(i) })))));
      const ready = async (): Promise<boolean> =>
        (await env.core.listNamespacedPod({ namespace: NS_LIGHT, labelSelector: LABEL_LIGHT_POOL })).items.filter((p) =>
          (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length >= SERIAL;
      await waitFor(`${SERIAL} speed-of-light pods ready`, ready, 300_000);
      await sleep(2000);
      const run = await serialClaims(env, lightClaims, NS_LIGHT, Array.from({ length: SERIAL }, (_, i) => `light-${tag}-${i}`), lightPool);
      await env.cluster.kubectl(['-n', NS_LIGHT, 'delete', 'poolclaims', '--all', '--wait=false']);
      await env.cluster.kubectl(['-n', NS_LIGHT, 'delete', 'pods', '--all', '--wait=false']);
      await waitFor('speed-of-light pods gone', async () => (await env.core.listNamespacedPod({ namespace: NS_LIGHT, limit: 1 })).items.length === 0, 300_000);
      return run;
    };

    // Small pool: the reference latency, on the same cluster and operator, before the big pools exist.
    const smallSize = SERIAL + 10;
    await env.custom.createNamespacedCustomObject({ ...WP, namespace: NS_SMALL, plural: 'instancepools', body: pool(NS_SMALL, 'small', smallSize, smallSize * 3) });
    const readySmall = async (): Promise<number> =>
      ((await env.custom.getNamespacedCustomObject({ ...WP, namespace: NS_SMALL, plural: 'instancepools', name: 'small' })) as InstancePool).status?.readyCount ?? 0;
    await waitFor(`small pool: ${smallSize} ready`, async () => (await readySmall()) >= smallSize, 300_000);
    await sleep(2000); // its last status writes land before the first claim
    const { samples: smallSamples, load: smallLoad, writes: smallAll } = await serialClaims(env, small, NS_SMALL, Array.from({ length: SERIAL }, (_, i) => `small-${i}`), () => 'small');
    const smallLat = summary(smallSamples);
    const smallWrites = operatorWrites(smallAll);
    console.log(
      `  small pool, ${SERIAL} serial claims: p50 ${smallLat.p50.toFixed(1)} ms, p99 ${smallLat.p99.toFixed(1)} ms, max ${smallLat.max.toFixed(1)} ms; ` +
        `operator writes while claiming ${(smallWrites.count / SERIAL).toFixed(2)}/claim ${JSON.stringify(smallWrites.kinds)}`,
    );
    console.log(loadLine(smallLoad, SERIAL));
    await waitFor('small pool refilled', async () => (await readySmall()) >= smallSize, 300_000);
    await env.cluster.kubectl(['-n', NS_SMALL, 'delete', 'poolclaims', '--all', '--wait=false']);
    await env.cluster.kubectl(['-n', NS_SMALL, 'delete', 'instancepool', 'small', '--timeout=300s']);
    await waitFor('small pool pods gone', async () => (await env.core.listNamespacedPod({ namespace: NS_SMALL, limit: 1 })).items.length === 0, 300_000);
    small.stop();
    endPhase('small pool serial');

    // Spread: the same claims, each to another of SERIAL pools of 2 (200 members): the at-scale pattern, small.
    const spreadName = (i: number): string => `s-${String(i).padStart(4, '0')}`;
    for (let i = 0; i < SERIAL; i++) {
      await env.custom.createNamespacedCustomObject({ ...WP, namespace: NS_SPREAD, plural: 'instancepools', body: pool(NS_SPREAD, spreadName(i), 2, 4) });
    }
    const spreadFull = async (): Promise<boolean> => {
      const list = (await env.custom.listNamespacedCustomObject({ ...WP, namespace: NS_SPREAD, plural: 'instancepools' })) as KubernetesListObject<InstancePool>;
      return list.items.length === SERIAL && list.items.every((p) => (p.status?.readyCount ?? 0) >= 2);
    };
    await waitFor(`${SERIAL} pools of 2 ready`, spreadFull, 300_000);
    await sleep(2000);
    const { samples: spreadSamples, load: spreadLoad, writes: spreadAll } = await serialClaims(env, spread, NS_SPREAD, Array.from({ length: SERIAL }, (_, i) => `spread-${i}`), spreadName);
    const spreadLat = summary(spreadSamples);
    const spreadWrites = operatorWrites(spreadAll);
    console.log(
      `  ${SERIAL} pools of 2, ${SERIAL} serial claims each to another pool: p50 ${spreadLat.p50.toFixed(1)} ms, p99 ${spreadLat.p99.toFixed(1)} ms, ` +
        `max ${spreadLat.max.toFixed(1)} ms; operator writes while claiming ${(spreadWrites.count / SERIAL).toFixed(2)}/claim ${JSON.stringify(spreadWrites.kinds)}`,
    );
    console.log(loadLine(spreadLoad, SERIAL));
    await waitFor('the pools of 2 refilled', spreadFull, 300_000);
    await env.cluster.kubectl(['-n', NS_SPREAD, 'delete', 'poolclaims', '--all', '--wait=false']);
    await env.cluster.kubectl(['-n', NS_SPREAD, 'delete', 'instancepools', '--all', '--timeout=300s']);
    await waitFor('the pools of 2 gone', async () => (await env.core.listNamespacedPod({ namespace: NS_SPREAD, limit: 1 })).items.length === 0, 300_000);
    spread.stop();
    endPhase('spread serial');

    const { samples: lightSmallSamples, load: lightSmallLoad } = await lightSerial('small');
    const lightSmallLat = summary(lightSmallSamples);
    console.log(
      `  the limit, small: ${SERIAL} serial claims bound by the speed-of-light allocator: p50 ${lightSmallLat.p50.toFixed(1)} ms, ` +
        `p99 ${lightSmallLat.p99.toFixed(1)} ms, max ${lightSmallLat.max.toFixed(1)} ms`,
    );
    console.log(loadLine(lightSmallLoad, SERIAL));
    endPhase('light small');

    // Fill: every pool created, then all members Ready as the pools report them.
    const t0 = performance.now();
    let next = 0;
    const maxSize = SIZE + perPool(SERIAL) + perPool(BURST); // claimed members count toward maxSize: room for both refills
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < POOLS; i = next++) {
          await env.custom.createNamespacedCustomObject({ ...WP, namespace: NS, plural: 'instancepools', body: pool(NS, poolName(i), SIZE, maxSize) });
        }
      }),
    );
    const createdSeconds = (performance.now() - t0) / 1000;
    let lastPrint = performance.now();
    await waitFor(
      `${POOLS} pools of ${SIZE} ready`,
      async () => {
        const { full, members: ready } = pools.count(SIZE);
        if (performance.now() - lastPrint > 30_000) {
          lastPrint = performance.now();
          console.log(`    ${((lastPrint - t0) / 1000).toFixed(0)} s: ${ready}/${members} members ready, ${full}/${POOLS} pools full, operator RSS ${env.operatorRssMiB().toFixed(0)} MiB`);
        }
        return full === POOLS;
      },
      Math.max(600_000, members * 200),
    );
    const fillSeconds = (performance.now() - t0) / 1000;
    console.log(`  fill: ${POOLS} pools created in ${createdSeconds.toFixed(1)} s; all ${members} members Ready in ${fillSeconds.toFixed(1)} s (${(members / fillSeconds).toFixed(0)} members/s)`);
    const fill = endPhase('fill');

    // Rest: nothing changes; the operator should write nothing.
    await sleep(10_000); // the fill's last status writes and Events land before the window opens
    endPhase('settle');
    const restFrom = Date.now();
    await sleep(REST_SECONDS * 1000);
    const restTo = Date.now();
    const restWrites = auditWrites(env.cluster, undefined, restFrom, restTo);
    const { count: restWriteCount, kinds: restKinds } = operatorWrites(restWrites);
    const restAll = Object.fromEntries(countByUser(restWrites));
    const rssAtRest = env.operatorRssMiB();
    const rest = endPhase('rest');
    const restCpu = rest.cpuSeconds.operator ?? 0;
    console.log(
      `  at rest for ${REST_SECONDS} s: ${restWriteCount} operator writes${restWriteCount ? ` (${JSON.stringify(restKinds)})` : ''}; ` +
        `operator RSS ${rssAtRest.toFixed(0)} MiB, CPU ${restCpu.toFixed(2)} s (${((restCpu / REST_SECONDS) * 100).toFixed(1)}% of a core)`,
    );

    // Serial claims at scale, each to another pool.
    const serialNames = Array.from({ length: SERIAL }, (_, i) => `serial-${i}`);
    const { samples: serialSamples, load: serialLoad, writes: serialAll } = await serialClaims(env, claims, NS, serialNames, (i) => poolName(Math.floor((i * POOLS) / SERIAL)));
    const serialLat = summary(serialSamples);
    const serialWrites = operatorWrites(serialAll);
    const ratio = serialLat.p99 / smallLat.p99;
    const spreadRatio = serialLat.p99 / spreadLat.p99;
    console.log(
      `  at scale, ${SERIAL} serial claims: p50 ${serialLat.p50.toFixed(1)} ms, p99 ${serialLat.p99.toFixed(1)} ms, max ${serialLat.max.toFixed(1)} ms; ` +
        `p99 ${ratio.toFixed(2)}x the small pool's, ${spreadRatio.toFixed(2)}x the pools of 2's; operator writes while claiming ${(serialWrites.count / SERIAL).toFixed(2)}/claim ${JSON.stringify(serialWrites.kinds)}`,
    );
    console.log(loadLine(serialLoad, SERIAL));
    endPhase('serial at scale');
    await waitFor('refill after the serial claims', async () => pools.count(SIZE).full === POOLS, 600_000);
    endPhase('serial refill');

    const { samples: lightScaleSamples, load: lightScaleLoad } = await lightSerial('scale');
    const lightScaleLat = summary(lightScaleSamples);
    const clusterRatio = lightScaleLat.p99 / lightSmallLat.p99;
    console.log(
      `  the limit at scale: the same, beside the ${members} members: p50 ${lightScaleLat.p50.toFixed(1)} ms, p99 ${lightScaleLat.p99.toFixed(1)} ms, ` +
        `max ${lightScaleLat.max.toFixed(1)} ms; p99 ${clusterRatio.toFixed(2)}x its small figure (the cluster's own); ` +
        `warmpool's at scale ${(serialLat.p99 / lightScaleLat.p99).toFixed(2)}x it (small: ${(smallLat.p99 / lightSmallLat.p99).toFixed(2)}x)`,
    );
    console.log(loadLine(lightScaleLoad, SERIAL));
    endPhase('light at scale');

    // Burst spread across the pools.
    await sleep(2000);
    const preexisting = await podKeys(env, NS);
    const burstNames = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const latencies: number[] = [];
    const bounds: Promise<number>[] = [];
    const burstFrom = Date.now();
    const b0 = performance.now();
    next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < BURST; i = next++) {
          const name = burstNames[i] ?? '';
          const start = performance.now();
          bounds.push(claims.bound(name).then((t) => (latencies.push(t - start), t)));
          await createClaim(env, NS, name, poolName(i % POOLS));
        }
      }),
    );
    const burstCreatesSeconds = (performance.now() - b0) / 1000;
    const burstSeconds = (Math.max(...(await Promise.all(bounds))) - b0) / 1000;
    const burstTo = Date.now();
    const burstLat = summary(latencies);
    const split = splitClaimWrites(auditWrites(env.cluster, OPERATOR_USER, burstFrom, burstTo), {
      claimResource: 'poolclaims',
      claimNames: new Set(burstNames),
      preexisting,
    });
    console.log(
      `  burst of ${BURST} claims across ${Math.min(POOLS, BURST)} pools: ${(BURST / burstSeconds).toFixed(0)} claims/s ` +
        `(${burstSeconds.toFixed(2)} s first create to last Bound; creates took ${burstCreatesSeconds.toFixed(2)} s); ` +
        `p50 ${burstLat.p50.toFixed(1)} ms, p99 ${burstLat.p99.toFixed(1)} ms; claim-path writes/claim ${(split.claimPath / BURST).toFixed(2)} until the last Bound`,
    );
    endPhase('burst');
    const r0 = performance.now();
    await waitFor('refill after the burst', async () => pools.count(SIZE).full === POOLS, Math.max(600_000, BURST * 600));
    const burstRefillSeconds = (performance.now() - r0) / 1000;
    console.log(`  refill after the burst: ${burstRefillSeconds.toFixed(1)} s`);
    endPhase('burst refill');

    const cpuOf = (who: string): Record<string, number> => Object.fromEntries(phases.map((p) => [p.phase, p.cpuSeconds[who] ?? 0]));
    Object.assign(report, {
      spreadSerial: {
        ...latencyRecord(spreadLat),
        window: spreadLoad,
        pools: SERIAL,
        size: 2,
        operatorWritesPerClaim: round(spreadWrites.count / SERIAL),
        operatorWriteKinds: spreadWrites.kinds,
        samplesMs: spreadSamples.map((v) => round(v, 1)),
      },
      smallPoolSerial: {
        ...latencyRecord(smallLat),
        window: smallLoad,
        operatorWritesPerClaim: round(smallWrites.count / SERIAL),
        operatorWriteKinds: smallWrites.kinds,
        samplesMs: smallSamples.map((v) => round(v, 1)),
      },
      lightSmallSerial: { ...latencyRecord(lightSmallLat), window: lightSmallLoad, samplesMs: lightSmallSamples.map((v) => round(v, 1)) },
      lightAtScaleSerial: {
        ...latencyRecord(lightScaleLat),
        p99VersusLightSmall: round(clusterRatio, 2),
        window: lightScaleLoad,
        samplesMs: lightScaleSamples.map((v) => round(v, 1)),
      },
      fill: { poolsCreatedSeconds: round(createdSeconds, 1), allReadySeconds: round(fillSeconds, 1), membersPerSecond: round(members / fillSeconds, 1), cpuSeconds: fill.cpuSeconds },
      rest: {
        seconds: REST_SECONDS,
        operatorWrites: restWriteCount,
        operatorWriteKinds: restKinds,
        writesByUser: restAll,
        operatorRssMiB: round(rssAtRest, 0),
        operatorCpuSeconds: restCpu,
        operatorCpuCores: round(restCpu / REST_SECONDS, 4),
      },
      operator: { peakRssMiB: round(sampler.peakRssMiB, 0), peakCpuCores5s: round(sampler.peakCpuCores, 2) },
      serialAtScale: {
        ...latencyRecord(serialLat),
        window: serialLoad,
        p99VersusSmallPool: round(ratio, 2),
        p99VersusSpread: round(spreadRatio, 2),
        p99VersusLightAtScale: round(serialLat.p99 / lightScaleLat.p99, 2),
        operatorWritesPerClaim: round(serialWrites.count / SERIAL),
        operatorWriteKinds: serialWrites.kinds,
        samplesMs: serialSamples.map((v) => round(v, 1)),
      },
      burst: {
        claims: BURST,
        seconds: round(burstSeconds),
        claimsPerSecond: round(BURST / burstSeconds, 1),
        ...latencyRecord(burstLat),
        claimPathWritesPerClaim: round(split.claimPath / BURST),
        refillSeconds: round(burstRefillSeconds, 1),
      },
      cpuSecondsByPhase: { 'kube-apiserver': cpuOf('kube-apiserver'), etcd: cpuOf('etcd'), operator: cpuOf('operator') },
      phases,
    });
  } catch (e) {
    // A long run's figures so far are still worth keeping: the report says where it stopped.
    report.error = `${phases.at(-1)?.phase ?? 'start'} was the last phase done; then: ${e instanceof Error ? e.message : String(e)}`;
    report.phases = phases;
    report.operator = { peakRssMiB: round(sampler.peakRssMiB, 0), peakCpuCores5s: round(sampler.peakCpuCores, 2) };
    process.exitCode = 1;
    console.log(`  FAILED: ${String(report.error)}`);
  } finally {
    sampler.stop();
    pools.stop();
    small.stop();
    claims.stop();
    lightClaims.stop();
    light?.kill('SIGTERM');
    await env.stop();
  }
  report.finishedAt = new Date().toISOString();
  report.loadAverageAtEnd = loadavg();
  const o = report.operator as { peakRssMiB: number; peakCpuCores5s: number };
  console.log(`  operator peak: RSS ${o.peakRssMiB} MiB, CPU ${o.peakCpuCores5s} cores (busiest 5 s)`);
  const dir = join(repoRoot(), '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `scale-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`written to ${file}`);
}

function latencyRecord(l: Latency): { p50Ms: number; p99Ms: number; maxMs: number; n: number } {
  return { p50Ms: round(l.p50, 1), p99Ms: round(l.p99, 1), maxMs: round(l.max, 1), n: l.n };
}

await main();
