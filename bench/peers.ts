// make bench-peers: warmpool beside its peer (agent-sandbox v1.0.3) and beside the limit (a speed-of-light allocator),
// in one run, on one local cluster, measured by the same client code, printed as ratios.
//   The same scenarios run against each system, one system after the other, each controller a process of its own
//   under its own client certificate (only one runs at a time, so CPU, memory and audited writes are its alone), in
//   PEERS_ROUNDS rounds (default 2) whose order turns around every round (A B C, C B A), each round in namespaces of
//   its own; a system's figures pool its rounds, so the machine's drift over the run falls on every system alike:
//   serial:      PEERS_SERIAL claims one at a time (default 50), from a pool with spare ready members;
//   20-at-once:  20 claimers, PEERS_C20_EACH claims each (default 5);
//   burst:       PEERS_BURST claims (default 300) against as many ready members, created by 32 workers;
//                claims per second from the first create to the last claim bound;
//   refill A/B:  warmpool only (the others cannot pause their refill), after the rounds: PEERS_AB_ROUNDS rounds (default 8, 0 skips)
//                of PEERS_AB_BLOCK serial claims (default 25) from a refilling pool and from a paused one, alternating,
//                and the ratio of their p50 and p99 (the benchmark client's own create timed the same way).
//   Latency: from the create request to the claim's bound point (PoolClaim phase Bound, SandboxClaim Ready=True)
//   seen on a watch opened before (bench/claims.ts BoundWatch), same process, monotonic clock.
//   Writes per claim: from the audit log by identity, split into the claim path and the refill by one rule for all
//   (bench/peer-report.ts); all identities counts every writer (the client, scheduler, kwok, controllers).
//   CPU per claim and RSS: /proc of each controller process, CPU from before the first create until its refill is done.
// Prints the table and, under it, each of issue 23's targets as met or missed beside the limit of the same run; writes
// both with every scenario's detail as JSON under .cache/bench/.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeConfig, type CoreV1Api, type CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import type { InstancePool } from '../operator/api/types.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { startCluster, type Cluster } from '../e2e/cluster/cluster.js';
import { repoRoot } from '../e2e/cluster/paths.js';
import { BoundWatch, poolClaimsIn, type ClaimWatchTarget } from './claims.js';
import { auditWrites, benchPool, cpuByProcess, envCount, machineInfo, OPERATOR_USER, processCpuSeconds, sleep, stopOnSignal, treeRssMiB, waitFor, countByUser } from './env.js';
import { NO_FIGURES, countsLine, peerTable, roundOrder, splitClaimWrites, systemFigures, targetChecks, targetLines, readsBetween, requestCounts, writesByKind, type ScenarioSample, type SystemFigures, type WriteSplit } from './peer-report.js';
import {
  EXT,
  installPeerCrds,
  PEER_USER,
  PEER_VERSION,
  peerClaim,
  peerClaimsIn,
  peerPool,
  peerPoolReady,
  peerTemplate,
  peerTools,
  startPeer,
} from './peer-sandbox.js';
import { LABEL_LIGHT_POOL } from './speed-of-light.js';
import { LIGHT_USER, lightPods, startSpeedOfLight } from './light.js';
import { summary } from './stats.js';

const WP = { group: 'warmpool.dev', version: 'v1alpha1' } as const;

/** PEERS_ONLY=warmpool,light (any of agent-sandbox, warmpool, light) runs only those: for debugging a run. */
const ONLY = (process.env.PEERS_ONLY ?? 'agent-sandbox,warmpool,light').split(',').map((s) => s.trim());
const UNKNOWN = ONLY.filter((s) => !['agent-sandbox', 'warmpool', 'light'].includes(s));
if (UNKNOWN.length > 0) throw new Error(`PEERS_ONLY: unknown ${UNKNOWN.join(', ')}; known: agent-sandbox, warmpool, light`);

const SIZES = {
  rounds: envCount('PEERS_ROUNDS', 2, 10),
  serial: envCount('PEERS_SERIAL', 50, 1000),
  c20Each: envCount('PEERS_C20_EACH', 5, 100),
  // At most 500: the burst's claimed members and their refill must fit the operator's default per-pool limit of
  // 1,000 members (--max-members-per-pool), or the pool stalls at MemberLimitExceeded and the run waits for a refill
  // that never comes.
  burst: envCount('PEERS_BURST', 300, 500),
  /** warmpool's refill A/B: rounds of serial claims on a refilling and a paused pool, block claims each side. */
  refillAb: { rounds: envCount('PEERS_AB_ROUNDS', 8, 40, 0), block: envCount('PEERS_AB_BLOCK', 25, 200) },
};

interface Api {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

/** One system under test: how to start its controller, make its pools and claims, and tear them down. */
interface Subject {
  label: 'warmpool' | 'agent-sandbox' | 'speed of light';
  namespace: string;
  user: string;
  claimResource: string;
  target: ClaimWatchTarget;
  /** Whether it replaces claimed members (the speed-of-light allocator does not). */
  refills: boolean;
  /** Writes per claim its design allows on the claim path: a baseline that makes more is not the baseline. */
  exactClaimPathWrites?: number;
  start(): Promise<ChildProcess>;
  /** maxSize (warmpool: claimed members count toward it) defaults to 3 x size. */
  createPool(pool: string, size: number, maxSize?: number): Promise<void>;
  readyCount(pool: string): Promise<number>;
  createClaim(name: string, pool: string): Promise<void>;
  /** Names of the members (and, for agent-sandbox, their Sandboxes) as `resource/name`. */
  members(): Promise<Set<string>>;
  deletePool(pool: string): Promise<void>;
  /** Stops the pool's refill (warmpool's spec.paused); only a subject that has one runs the refill A/B. */
  pausePool?: (pool: string) => Promise<void>;
}

/** One scenario's run: what systemFigures pools over the rounds (ScenarioSample), and the rest of its detail. */
interface ScenarioResult extends ScenarioSample {
  round: number;
  latency: { p50: number; p99: number; max: number };
  claimsPerSecond: number;
  writes: WriteSplit & { conflicts: number; allIdentities: number; byUser: Record<string, number> };
  refillSeconds: number;
  /** CPU seconds of each cluster component, the controller and the bench client from the first create to the last bind. */
  claimWindowCpu: Record<string, number>;
  /** Every identity's writes in the same window, by program, verb and resource: what the API server served besides the claims. */
  claimWindowWrites: Record<string, number>;
  /** The API server's read requests (GET, LIST, WATCH) in the same window, by verb and resource, from its metrics. */
  claimWindowReads: Record<string, number>;
}

function logFile(name: string): number {
  const dir = join(repoRoot(), '.cache', 'bench', 'peers-logs');
  mkdirSync(dir, { recursive: true });
  return openSync(join(dir, `${name}.log`), 'w');
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Each round's namespaces are its own: claims of a round before, still going, never meet the next one's names. */
const roundSuffix = (round: number): string => (round === 0 ? '' : `-r${round + 1}`);

/**
 * PEERS_PPROF_SECONDS=N: the API server's CPU profile over the first N seconds of each burst, saved as
 * .cache/bench/apiserver-<system>-r<round>.pprof (read with `go tool pprof -top`): where its share of a claim goes.
 */
const PPROF_SECONDS = envCount('PEERS_PPROF_SECONDS', 0, 60, 0);

async function apiServerProfile(cluster: Cluster, name: string): Promise<void> {
  if (PPROF_SECONDS === 0) return;
  const out = openSync(join(repoRoot(), '.cache', 'bench', `apiserver-${name}.pprof`), 'w');
  const p = spawn(cluster.tools.bin('kubectl'), ['--kubeconfig', cluster.kubeconfig, 'get', '--raw', `/debug/pprof/profile?seconds=${PPROF_SECONDS}`], {
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  // A profile is a diagnosis: a kubectl that fails to start must not hold the run.
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.once('error', () => resolve());
  });
}

async function podsLeft(api: Api, namespace: string, labelSelector?: string): Promise<number> {
  return (await api.core.listNamespacedPod({ namespace, ...(labelSelector && { labelSelector }) })).items.length;
}

/** A PoolClaim: warmpool and the speed-of-light allocator are claimed the same way. */
async function createPoolClaim(api: Api, namespace: string, name: string, pool: string): Promise<void> {
  await api.custom.createNamespacedCustomObject({
    ...WP,
    namespace,
    plural: 'poolclaims',
    body: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace }, spec: { poolName: pool } },
  });
}

/** The namespace's pods as audit object names (pods/<name>). */
async function podNames(api: Api, namespace: string): Promise<Set<string>> {
  return new Set((await api.core.listNamespacedPod({ namespace })).items.map((p) => `pods/${p.metadata?.name ?? ''}`));
}

function warmpoolSubject(cluster: Cluster, api: Api, round = 0): Subject {
  const namespace = `peer-warmpool${roundSuffix(round)}`;
  return {
    label: 'warmpool',
    namespace,
    user: OPERATOR_USER,
    claimResource: 'poolclaims',
    target: poolClaimsIn(namespace),
    refills: true,
    start: async () => {
      const kubeconfig = await cluster.kubeconfigFor(OPERATOR_USER, ['system:masters']);
      const log = logFile('warmpool');
      const p = spawn(
        join(repoRoot(), 'bin', 'warmpool'),
        // BENCH_OPERATOR_ARGS: extra operator flags for an experiment, as in bench/env.ts.
        ['operator', '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', ...(process.env.BENCH_OPERATOR_ARGS ?? '').split(' ').filter(Boolean)],
        { env: { ...process.env, KUBECONFIG: kubeconfig, WARMPOOL_LOG: 'warn' }, stdio: ['ignore', log, log] },
      );
      closeSync(log);
      return p;
    },
    // maxSize 3x: claimed members count toward it, and the pool must refill behind the claims as agent-sandbox's does.
    createPool: async (pool, size, maxSize) => {
      await api.custom.createNamespacedCustomObject({ ...WP, namespace, plural: 'instancepools', body: benchPool(namespace, pool, size, maxSize ?? size * 3) });
    },
    readyCount: async (pool) => {
      const p = (await api.custom.getNamespacedCustomObject({ ...WP, namespace, plural: 'instancepools', name: pool })) as InstancePool;
      return p.status?.readyCount ?? 0;
    },
    createClaim: (name, pool) => createPoolClaim(api, namespace, name, pool),
    pausePool: async (pool) => {
      await cluster.kubectl(['-n', namespace, 'patch', 'instancepool', pool, '--type=merge', '-p', '{"spec":{"paused":true}}']);
    },
    members: () => podNames(api, namespace),
    deletePool: async (pool) => {
      await cluster.kubectl(['-n', namespace, 'delete', 'poolclaims', '--all', '--wait=false']);
      await cluster.kubectl(['-n', namespace, 'delete', 'instancepool', pool, '--timeout=300s']);
      await waitFor(`pods of ${pool} gone`, async () => (await podsLeft(api, namespace, `warmpool.dev/pool=${pool}`)) === 0, 300_000);
    },
  };
}

function peerSubject(cluster: Cluster, api: Api, bin: string, round = 0): Subject {
  const namespace = `peer-agent-sandbox${roundSuffix(round)}`;
  const template = 'bench';
  const sandboxes = async (): Promise<string[]> => {
    const list = (await api.custom.listNamespacedCustomObject({ group: 'agents.x-k8s.io', version: 'v1beta1', namespace, plural: 'sandboxes' })) as {
      items: KubernetesObject[];
    };
    return list.items.map((s) => `sandboxes/${s.metadata?.name ?? ''}`);
  };
  return {
    label: 'agent-sandbox',
    namespace,
    user: PEER_USER,
    claimResource: 'sandboxclaims',
    target: peerClaimsIn(namespace),
    refills: true,
    start: async () => {
      const kubeconfig = await cluster.kubeconfigFor(PEER_USER, ['system:masters']);
      const log = logFile('agent-sandbox');
      const p = startPeer(bin, kubeconfig, log);
      closeSync(log);
      await api.custom.createNamespacedCustomObject({ ...EXT, namespace, plural: 'sandboxtemplates', body: peerTemplate(namespace, template) });
      return p;
    },
    createPool: async (pool, size) => {
      await api.custom.createNamespacedCustomObject({ ...EXT, namespace, plural: 'sandboxwarmpools', body: peerPool(namespace, pool, template, size) });
    },
    readyCount: async (pool) =>
      peerPoolReady(await api.custom.getNamespacedCustomObject({ ...EXT, namespace, plural: 'sandboxwarmpools', name: pool })),
    createClaim: async (name, pool) => {
      await api.custom.createNamespacedCustomObject({ ...EXT, namespace, plural: 'sandboxclaims', body: peerClaim(namespace, name, pool) });
    },
    members: async () =>
      new Set([...(await podNames(api, namespace)), ...(await sandboxes())]),
    deletePool: async (pool) => {
      await cluster.kubectl(['-n', namespace, 'delete', 'sandboxclaims', '--all', '--wait=false']);
      await cluster.kubectl(['-n', namespace, 'delete', 'sandboxwarmpool', pool, '--timeout=300s']);
      await waitFor(`sandboxes of ${pool} gone`, async () => (await sandboxes()).length === 0, 300_000);
      await waitFor(`pods of ${pool} gone`, async () => (await podsLeft(api, namespace)) === 0, 300_000);
    },
  };
}

function lightSubject(cluster: Cluster, api: Api, round = 0): Subject {
  const namespace = `peer-light${roundSuffix(round)}`;
  return {
    label: 'speed of light',
    namespace,
    user: LIGHT_USER,
    claimResource: 'poolclaims',
    target: poolClaimsIn(namespace),
    refills: false,
    exactClaimPathWrites: 2,
    start: async () => startSpeedOfLight(await cluster.kubeconfigFor(LIGHT_USER, ['system:masters']), namespace, logFile('speed-of-light')),
    // The members are plain pods the benchmark makes itself.
    createPool: async (pool, size) => {
      await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(lightPods(namespace, Array.from({ length: size }, (_, i) => ({ name: `${pool}-${i}`, pool })))));
    },
    readyCount: async (pool) =>
      (await api.core.listNamespacedPod({ namespace, labelSelector: `${LABEL_LIGHT_POOL}=${pool}` })).items.filter(
        (p) => p.metadata?.labels?.['bench.warmpool.dev/claim'] === undefined && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length,
    createClaim: (name, pool) => createPoolClaim(api, namespace, name, pool),
    members: () => podNames(api, namespace),
    deletePool: async () => {
      await cluster.kubectl(['-n', namespace, 'delete', 'poolclaims', '--all', '--wait=false']);
      await cluster.kubectl(['-n', namespace, 'delete', 'pods', '--all', '--wait=false']);
      await waitFor('speed-of-light pods gone', async () => (await podsLeft(api, namespace)) === 0, 300_000);
    },
  };
}

interface ScenarioSpec {
  scenario: 'serial' | 'c20' | 'burst';
  claimers: number;
  total: number;
  /** serial and 20-at-once: each claimer waits for its claim to bind before the next; burst: creates back to back. */
  waitEach: boolean;
  spare: number;
}

async function runScenario(cluster: Cluster, s: Subject, ctl: ChildProcess, watch: BoundWatch, spec: ScenarioSpec, round: number): Promise<ScenarioResult> {
  const pool = `${spec.scenario}`;
  const size = spec.total + spec.spare;
  await s.createPool(pool, size);
  await waitFor(`${s.label} pool ${pool}: ${size} ready`, async () => (await s.readyCount(pool)) >= size, 600_000);
  await sleep(2000); // the fill's last status writes land before the window opens
  const preexisting = await s.members();
  const pid = ctl.pid ?? 0;
  const from = Date.now();
  const cpu0 = processCpuSeconds(pid);
  const names = Array.from({ length: spec.total }, (_, i) => `${pool}-${i}`);
  const latencies: number[] = [];
  const bounds: Promise<number>[] = [];
  const requests0 = requestCounts(await cluster.kubectl(['get', '--raw', '/metrics']));
  const window0 = cpuByProcess(cluster, { controller: pid });
  const profiled = spec.scenario === 'burst' ? apiServerProfile(cluster, `${s.label.replace(/ /g, '-')}-r${round + 1}`) : undefined;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: spec.claimers }, async () => {
      for (let i = next++; i < spec.total; i = next++) {
        const name = names[i] ?? '';
        const start = performance.now();
        const bound = watch.bound(name).then((t) => {
          latencies.push(t - start);
          return t;
        });
        bounds.push(bound);
        await s.createClaim(name, pool);
        if (spec.waitEach) await bound;
      }
    }),
  );
  const last = Math.max(...(await Promise.all(bounds)));
  const seconds = (last - t0) / 1000;
  const window1 = cpuByProcess(cluster, { controller: pid });
  const claimWindowCpu = Object.fromEntries([...window1].map(([k, v]) => [k, Math.round((v - (window0.get(k) ?? 0)) * 100) / 100]));
  const windowTo = Date.now();
  const claimWindowReads = readsBetween(requests0, requestCounts(await cluster.kubectl(['get', '--raw', '/metrics'])));
  await profiled;
  const boundAt = performance.now();
  if (s.refills) await waitFor(`${s.label} pool ${pool} refilled`, async () => (await s.readyCount(pool)) >= size, 600_000);
  const refillSeconds = (performance.now() - boundAt) / 1000;
  await sleep(3000); // the refill's last status writes
  const to = Date.now();
  const cpuSeconds = processCpuSeconds(pid) - cpu0;
  const rssMiB = treeRssMiB(pid);
  // One read of the audit log (it holds every run's writes so far) for the scenario's three views of it.
  const all = auditWrites(cluster, undefined, from, to);
  const mine = all.filter((w) => w.user === s.user);
  const split = splitClaimWrites(mine, { claimResource: s.claimResource, claimNames: new Set(names), preexisting });
  const byUser = Object.fromEntries([...countByUser(all)].sort((a, b) => b[1] - a[1]));
  const allIdentities = Object.values(byUser).reduce((a, b) => a + b, 0);
  const claimWindowWrites = writesByKind(all.filter((w) => w.at <= windowTo));
  const lat = summary(latencies);
  const result: ScenarioResult = {
    scenario: spec.scenario,
    round: round + 1,
    claims: spec.total,
    latency: { p50: lat.p50, p99: lat.p99, max: lat.max },
    latencies: latencies.map((l) => Math.round(l * 100) / 100),
    seconds,
    claimsPerSecond: spec.total / seconds,
    writes: { ...split, conflicts: mine.filter((w) => w.code === 409).length, allIdentities, byUser },
    cpuSeconds,
    rssMiB,
    refillSeconds,
    claimWindowCpu,
    claimWindowWrites,
    claimWindowReads,
  };
  console.log(
    `  ${s.label.padEnd(14)} r${round + 1} ${spec.scenario.padEnd(6)} ${spec.total} claims: p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, ` +
      `${result.claimsPerSecond.toFixed(0)}/s; writes/claim path ${(split.claimPath / spec.total).toFixed(2)} refill ${(split.refill / spec.total).toFixed(2)} ` +
      `all ${(allIdentities / spec.total).toFixed(2)}; CPU ${((cpuSeconds * 1000) / spec.total).toFixed(1)} ms/claim; RSS ${rssMiB.toFixed(0)} MiB; refill ${refillSeconds.toFixed(1)} s`,
  );
  console.log(
    `      CPU from the first create to the last bind (${seconds.toFixed(1)} s): ` +
      Object.entries(claimWindowCpu)
        .filter(([, v]) => v >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', '),
  );
  console.log(`      writes from the first create to the last bind: ${countsLine(claimWindowWrites)}`);
  console.log(`      reads in the same window: ${countsLine(claimWindowReads)}`);
  await s.deletePool(pool);
  if (s.exactClaimPathWrites !== undefined && (split.claimPath !== s.exactClaimPathWrites * spec.total || split.refill !== 0)) {
    throw new Error(
      `${s.label} ${spec.scenario}: ${split.claimPath} claim-path and ${split.refill} other writes for ${spec.total} claims; ` +
        `its design makes exactly ${s.exactClaimPathWrites} per claim (${JSON.stringify(split.kinds)})`,
    );
  }
  return result;
}

/** Serial claims from a refilling pool and from a paused one, in alternating blocks: p50/p99 of each side. */
interface RefillAb {
  rounds: number;
  block: number;
  withRefill: { p50: number; p99: number; max: number; clientCreateP50: number; clientCreateP99: number };
  without: { p50: number; p99: number; max: number; clientCreateP50: number; clientCreateP99: number };
}

/**
 * The claim path with and without the refill, in one run: blocks of serial claims alternate between a pool that
 * refills and a paused one (order swapped every round; each block starts with the refilling pool full and its last
 * refill done), so the machine's load of the moment falls on both sides alike. The client's own create request is
 * timed too: the controller never touches it, so its slowdown is the cluster's.
 */
async function refillAb(s: Subject, watch: BoundWatch, pausePool: (pool: string) => Promise<void>): Promise<RefillAb> {
  const { rounds, block } = SIZES.refillAb;
  const refilling = 'ab-refill';
  const paused = 'ab-paused';
  const refillSize = block + 10;
  const pausedSize = block * rounds + 10;
  // Every claim of the run keeps its member, and claimed members count toward maxSize.
  await s.createPool(refilling, refillSize, refillSize + block * rounds);
  await s.createPool(paused, pausedSize);
  await waitFor(`${s.label} A/B pools ready`, async () => (await s.readyCount(refilling)) >= refillSize && (await s.readyCount(paused)) >= pausedSize, 600_000);
  await pausePool(paused);
  await sleep(2000);
  const sides = new Map<string, { latencies: number[]; creates: number[] }>([
    [refilling, { latencies: [], creates: [] }],
    [paused, { latencies: [], creates: [] }],
  ]);
  for (let r = 0; r < rounds; r++) {
    for (const pool of r % 2 === 0 ? [refilling, paused] : [paused, refilling]) {
      await waitFor(`${s.label} ${refilling} refilled`, async () => (await s.readyCount(refilling)) >= refillSize, 600_000);
      await sleep(500);
      const side = sides.get(pool);
      for (let i = 0; i < block; i++) {
        const name = `${pool}-${r}-${i}`;
        const start = performance.now();
        const bound = watch.bound(name);
        await s.createClaim(name, pool);
        side?.creates.push(performance.now() - start);
        side?.latencies.push((await bound) - start);
      }
    }
  }
  const figuresOf = (pool: string): RefillAb['withRefill'] => {
    const l = summary(sides.get(pool)?.latencies ?? []);
    const c = summary(sides.get(pool)?.creates ?? []);
    return { p50: l.p50, p99: l.p99, max: l.max, clientCreateP50: c.p50, clientCreateP99: c.p99 };
  };
  const result: RefillAb = { rounds, block, withRefill: figuresOf(refilling), without: figuresOf(paused) };
  const w = result.withRefill;
  const wo = result.without;
  console.log(
    `  ${s.label.padEnd(14)} refill A/B ${rounds} x ${block} serial claims each side: with refill p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms ` +
      `(client's create p99 ${w.clientCreateP99.toFixed(1)} ms); paused p50 ${wo.p50.toFixed(1)} ms, p99 ${wo.p99.toFixed(1)} ms ` +
      `(client's create p99 ${wo.clientCreateP99.toFixed(1)} ms); p99 ratio ${(w.p99 / wo.p99).toFixed(2)}`,
  );
  await s.deletePool(refilling);
  await s.deletePool(paused);
  return result;
}

interface SystemRun {
  figures: SystemFigures;
  scenarios: ScenarioResult[];
  refillAb?: RefillAb;
  error?: string;
}

/** The controller process of the subject whose turn it is, for a signal to stop. */
let running: ChildProcess | undefined;

/** One system's turn in a round (its scenarios), or after the rounds its refill A/B alone. */
async function runSubject(cluster: Cluster, api: Api, s: Subject, turn: { round: number } | 'refill-ab'): Promise<SystemRun> {
  const scenarios: ScenarioResult[] = [];
  let ctl: ChildProcess | undefined;
  const watch = new BoundWatch(s.target);
  try {
    await api.core.createNamespace({ body: { metadata: { name: s.namespace } } });
    await watch.start(api);
    ctl = await s.start();
    running = ctl;
    if (turn === 'refill-ab') {
      const ab = s.pausePool === undefined ? undefined : await refillAb(s, watch, (pool) => s.pausePool?.(pool) ?? Promise.resolve());
      return { figures: NO_FIGURES, scenarios, ...(ab && { refillAb: ab }) };
    }
    const specs: ScenarioSpec[] = [
      { scenario: 'serial', claimers: 1, total: SIZES.serial, waitEach: true, spare: 10 },
      { scenario: 'c20', claimers: 20, total: 20 * SIZES.c20Each, waitEach: true, spare: 20 },
      { scenario: 'burst', claimers: 32, total: SIZES.burst, waitEach: false, spare: 0 },
    ];
    for (const spec of specs) scenarios.push(await runScenario(cluster, s, ctl, watch, spec, turn.round));
    return { figures: systemFigures(scenarios), scenarios };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    console.log(`  ${s.label}: FAILED: ${error}`);
    return { figures: scenarios.length > 0 ? systemFigures(scenarios) : NO_FIGURES, scenarios, error };
  } finally {
    watch.stop();
    if (ctl !== undefined) await stopProcess(ctl);
    running = undefined;
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  console.log(
    `bench-peers: warmpool, agent-sandbox ${PEER_VERSION} and a speed-of-light allocator on one local cluster ` +
      `(${machine.cpus} cores, load ${machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')}; pods Ready 1 s after creation)`,
  );
  // Build (or find) the peer before the cluster starts: a cold build takes minutes and should not keep a cluster up.
  let peerBin: string | undefined;
  let peerCrds: string | undefined;
  let peerBuildError: string | undefined;
  try {
    if (ONLY.includes('agent-sandbox')) ({ bin: peerBin, crds: peerCrds } = await peerTools());
    else peerBuildError = 'not run (PEERS_ONLY)';
  } catch (e) {
    peerBuildError = `agent-sandbox build failed: ${e instanceof Error ? e.message : String(e)}`;
    console.log(`  ${peerBuildError}`);
  }
  const cluster = await startCluster({ name: `wp-bench-peers-${process.pid}`, nodes: 4, node: { pods: 400 }, audit: true });
  const forget = stopOnSignal(async () => {
    if (running !== undefined) await stopProcess(running);
    await cluster.stop();
  });
  const runs: Record<string, SystemRun> = {};
  try {
    await cluster.kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const { core, custom } = makeInstrumentedClients(kc, () => undefined, { userAgent: 'warmpool-bench' });
    const api: Api = { kc, core, custom };

    // Each system's turns, in the order of the round (roundOrder); a system that failed sits out the rest.
    const turns: { name: string; subject: (round: number) => Subject }[] = [];
    if (peerBin !== undefined && peerCrds !== undefined) {
      const bin = peerBin;
      try {
        await installPeerCrds(cluster, peerCrds);
        turns.push({ name: 'agent-sandbox', subject: (r) => peerSubject(cluster, api, bin, r) });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        console.log(`  agent-sandbox: FAILED: ${error}`);
        runs['agent-sandbox'] = { figures: NO_FIGURES, scenarios: [], error };
      }
    } else runs['agent-sandbox'] = { figures: NO_FIGURES, scenarios: [], error: peerBuildError ?? 'not built' };
    if (ONLY.includes('warmpool')) turns.push({ name: 'warmpool', subject: (r) => warmpoolSubject(cluster, api, r) });
    if (ONLY.includes('light')) turns.push({ name: 'speed of light', subject: (r) => lightSubject(cluster, api, r) });
    for (let round = 0; round < SIZES.rounds; round++) {
      for (const t of roundOrder(turns, round)) {
        const before = runs[t.name];
        if (before?.error !== undefined) continue;
        const r = await runSubject(cluster, api, t.subject(round), { round });
        const scenarios = [...(before?.scenarios ?? []), ...r.scenarios];
        runs[t.name] = { figures: systemFigures(scenarios), scenarios, ...(r.error !== undefined && { error: r.error }) };
      }
    }
    const wp = runs.warmpool;
    if (wp !== undefined && wp.error === undefined && SIZES.refillAb.rounds > 0) {
      const r = await runSubject(cluster, api, warmpoolSubject(cluster, api, SIZES.rounds), 'refill-ab');
      runs.warmpool = { ...wp, figures: systemFigures(wp.scenarios, r.refillAb), ...(r.refillAb && { refillAb: r.refillAb }), ...(r.error !== undefined && { error: r.error }) };
    }
  } finally {
    forget();
    await cluster.stop();
  }

  const table = peerTable({
    ours: runs.warmpool?.figures ?? NO_FIGURES,
    peer: runs['agent-sandbox']?.figures ?? NO_FIGURES,
    speedOfLight: runs['speed of light']?.figures ?? NO_FIGURES,
  });
  console.log('');
  console.log(`bench-peers, ${startedAt.toISOString().slice(0, 10)}, ${machine.hostname} (${machine.cpus} cores, ${machine.cpuModel})`);
  console.log(
    `${SIZES.rounds} round(s), each: serial ${SIZES.serial} claims; 20-at-once 20 x ${SIZES.c20Each}; burst ${SIZES.burst}. ` +
      'ours/theirs < 1 is better except for the burst rate.',
  );
  console.log(table);
  const targets = targetChecks({
    ours: runs.warmpool?.figures ?? NO_FIGURES,
    peer: runs['agent-sandbox']?.figures ?? NO_FIGURES,
    speedOfLight: runs['speed of light']?.figures ?? NO_FIGURES,
  });
  console.log('targets, as ratios of this run:');
  console.log(targetLines(targets));
  for (const [name, r] of Object.entries(runs)) if (r.error !== undefined) console.log(`${name}: ${r.error}`);
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg() },
    peer: { name: 'agent-sandbox', version: PEER_VERSION },
    sizes: SIZES,
    table,
    targets,
    systems: runs,
  };
  const dir = join(repoRoot(), '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `peers-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`written to ${file}`);
}

await main();
