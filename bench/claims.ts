// make bench: claim latency and API writes per claim, on the local cluster, the operator as its own process.
//   latency: from the create request to Bound as seen by a client watch opened before it (same process,
//            monotonic clock), with 1, 10, 20 and 100 concurrent claimers against a pool that has ready members,
//            and 1 and 20 again on a paused pool (the claim path without the refill competing for the CPU);
//   refill:  serial-refill and c20-refill: the same claims with and without the refill, blocks alternating in one
//            run, and the ratio of their p50 and p99 (the refill must not slow the claim path);
//   burst:   1,000 claims against 1,000 ready members, claims per second from first create to last Bound;
//   writes:  API writes by the operator's identity, from the audit log, per claim: the claim path (bind patch,
//            claim status, claim Events) and the refill (replacement create, its warming -> ready patch, pool
//            status, pool Events). Also printed: writes by every identity, and the CPU each process used.
import { performance } from 'node:perf_hooks';
import { makeInformer, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim } from '../operator/api/types.js';
import { auditWrites, benchEnv, benchPool, cpuSnapshot, cpuSpent, OPERATOR_USER, sleep, writesByUser, type BenchEnv } from './env.js';
import { ms, summary } from './stats.js';

const NS = 'bench';
const G = { group: 'warmpool.dev', version: 'v1alpha1' };

interface Waiter {
  resolve: (t: number) => void;
}

/**
 * The claims a BoundWatch watches and the point at which one counts as bound. bench/peers.ts measures other claim
 * kinds (agent-sandbox's SandboxClaim, the speed-of-light allocator's) with this same code.
 */
export interface ClaimWatchTarget {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  /** Reads the claim as the watch delivered it (JSON): the one place that knows its kind's shape. */
  isBound(claim: KubernetesObject): boolean;
}

export const poolClaimsIn = (namespace: string): ClaimWatchTarget => ({
  ...G,
  plural: 'poolclaims',
  namespace,
  isBound: (c) => (c as PoolClaim).status?.phase === 'Bound',
});

/** One watch on all claims of the namespace; resolves a claim's waiter when it is first seen Bound. */
export class BoundWatch {
  private readonly waiters = new Map<string, Waiter>();
  private readonly boundAt = new Map<string, number>();
  private abort: { abort(): void } | undefined;
  private stopped = false;

  constructor(private readonly target: ClaimWatchTarget = poolClaimsIn(NS)) {}

  async start(env: Pick<BenchEnv, 'kc' | 'custom'>): Promise<void> {
    const { group, version, plural, namespace } = this.target;
    // An informer, not a bare watch: it re-opens the watch when the server or the client times it out.
    const informer = makeInformer<KubernetesObject>(
      env.kc,
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      () => env.custom.listNamespacedCustomObject({ group, version, namespace, plural }) as Promise<KubernetesListObject<KubernetesObject>>,
    );
    const seen = (c: KubernetesObject): void => {
      const name = c.metadata?.name ?? '';
      if (!this.target.isBound(c) || this.boundAt.has(name)) return;
      const t = performance.now();
      this.boundAt.set(name, t);
      this.waiters.get(name)?.resolve(t);
    };
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('error', () => setTimeout(() => void (this.stopped ? undefined : informer.start()), 500));
    await informer.start();
    this.abort = { abort: () => void informer.stop() };
  }

  bound(name: string): Promise<number> {
    const t = this.boundAt.get(name);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => this.waiters.set(name, { resolve }));
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

async function waitReady(env: BenchEnv, pool: string, ready: number, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const p = (await env.custom.getNamespacedCustomObject({ ...G, namespace: NS, plural: 'instancepools', name: pool })) as InstancePool;
    if ((p.status?.readyCount ?? 0) >= ready) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`pool ${pool}: ${p.status?.readyCount ?? 0}/${ready} ready after ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function createClaim(env: BenchEnv, name: string, pool: string): Promise<void> {
  await env.custom.createNamespacedCustomObject({
    ...G,
    namespace: NS,
    plural: 'poolclaims',
    body: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: NS }, spec: { poolName: pool } },
  });
}

async function cleanup(env: BenchEnv, pool: string): Promise<void> {
  await env.cluster.kubectl(['-n', NS, 'delete', 'poolclaims', '--all', '--wait=false']);
  await env.cluster.kubectl(['-n', NS, 'delete', 'instancepool', pool, '--timeout=300s']);
  await env.cluster.kubectl(['-n', NS, 'wait', '--for=delete', 'pods', '--all', '--timeout=300s']).catch(() => undefined);
}

interface WriteSplit {
  claimPath: number;
  refill: number;
  conflicts: number;
  /** "create pods 200, patch pods 200, ...": the refill's writes by verb and resource. */
  refillKinds: string;
}

/** Sorts the operator's writes of a window into the claim path and the refill (see the header). */
function splitWrites(env: BenchEnv, from: number, to: number, preexisting: ReadonlySet<string>, pool: string): WriteSplit {
  const w = auditWrites(env.cluster, OPERATOR_USER, from, to);
  let claimPath = 0;
  let refill = 0;
  const kinds = new Map<string, number>();
  for (const x of w) {
    const onClaimPath =
      x.resource === 'poolclaims' ||
      (x.resource === 'pods' && x.verb === 'patch' && preexisting.has(x.name ?? '')) ||
      (x.resource === 'events' && !(x.name ?? '').startsWith(`${pool}.`));
    // Everything else is the refill: pod creates, warming -> ready patches, pool status, pool Events.
    if (onClaimPath) claimPath++;
    else {
      refill++;
      const kind = `${x.verb} ${x.resource}${x.subresource ? `/${x.subresource}` : ''}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
  }
  const refillKinds = [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return { claimPath, refill, conflicts: w.filter((x) => x.code === 409).length, refillKinds };
}

async function podNames(env: BenchEnv, pool: string): Promise<Set<string>> {
  const pods = await env.core.listNamespacedPod({ namespace: NS, labelSelector: `warmpool.dev/pool=${pool}` });
  return new Set(pods.items.map((p) => p.metadata?.name ?? ''));
}

/**
 * withoutRefill pauses the pool before the claims, so nothing replaces the members they take: the claim path alone,
 * to tell its cost apart from the refill's (pod creates, scheduling, the kubelet's status writes) on a shared CPU.
 */
async function latencyScenario(env: BenchEnv, watch: BoundWatch, claimers: number, perClaimer: number, withoutRefill = false): Promise<void> {
  const total = claimers * perClaimer;
  const pool = `lat-${claimers}${withoutRefill ? '-paused' : ''}`;
  const size = total + 20;
  await env.custom.createNamespacedCustomObject({ ...G, namespace: NS, plural: 'instancepools', body: benchPool(NS, pool, size, size * 3) });
  await waitReady(env, pool, size);
  if (withoutRefill) await env.cluster.kubectl(['-n', NS, 'patch', 'instancepool', pool, '--type=merge', '-p', '{"spec":{"paused":true}}']);
  await sleep(2000);
  const preexisting = await podNames(env, pool);
  const from = Date.now();
  const latencies: number[] = [];
  const creates: number[] = [];
  const cpu0 = cpuSnapshot(env);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: claimers }, async (_, w) => {
      for (let i = 0; i < perClaimer; i++) {
        const name = `${pool}-${w}-${i}`;
        const start = performance.now();
        const bound = watch.bound(name);
        await createClaim(env, name, pool);
        creates.push(performance.now() - start);
        latencies.push((await bound) - start);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const cpu = cpuSpent(cpu0, cpuSnapshot(env));
  const boundBy = Date.now();
  if (!withoutRefill) await waitReady(env, pool, size); // refill
  await sleep(3000); // let the last status writes land
  const to = Date.now();
  const writes = splitWrites(env, from, to, preexisting, pool);
  const byUser = [...writesByUser(env.cluster, from, to)].sort((a, b) => b[1] - a[1]);
  const allWrites = byUser.reduce((sum, [, n]) => sum + n, 0);
  const s = summary(latencies);
  console.log(
    `  ${String(claimers).padStart(3)} concurrent claimer(s)${withoutRefill ? ' on a paused pool (no refill)' : ''}, ${total} claims: p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  ` +
      `(${(total / (elapsed / 1000)).toFixed(0)} claims/s)`,
  );
  console.log(
    `      operator writes per claim: claim path ${(writes.claimPath / total).toFixed(2)}, refill ${(writes.refill / total).toFixed(2)}, ` +
      `total ${((writes.claimPath + writes.refill) / total).toFixed(2)} (409s: ${writes.conflicts}; refill done ${((Date.now() - boundBy) / 1000).toFixed(1)} s after the last bind)`,
  );
  const c = summary(creates);
  console.log(`      of which the client's create request: p50 ${ms(c.p50)}  p99 ${ms(c.p99)}  max ${ms(c.max)}`);
  console.log(`      refill writes: ${writes.refillKinds}`);
  console.log(
    `      writes by every identity: ${(allWrites / total).toFixed(2)} per claim (` +
      byUser.map(([u, n]) => `${u.replace(/^system:(serviceaccount:)?/, '')} ${(n / total).toFixed(2)}`).join(', ') +
      ')',
  );
  console.log(`      CPU used while claiming (${(elapsed / 1000).toFixed(1)} s): ${cpu}`);
  await cleanup(env, pool);
}

/** Claims `claimers` at once, `perClaimer` each, against pool; returns each claim's create-to-Bound and create times. */
async function claimBlock(env: BenchEnv, watch: BoundWatch, pool: string, claimers: number, perClaimer: number, tag: string): Promise<{ latencies: number[]; creates: number[] }> {
  const latencies: number[] = [];
  const creates: number[] = [];
  await Promise.all(
    Array.from({ length: claimers }, async (_, w) => {
      for (let i = 0; i < perClaimer; i++) {
        const name = `${pool}-${tag}-${w}-${i}`;
        const start = performance.now();
        const bound = watch.bound(name);
        await createClaim(env, name, pool);
        creates.push(performance.now() - start);
        latencies.push((await bound) - start);
      }
    }),
  );
  return { latencies, creates };
}

/**
 * The claim path with and without the refill, in one run: blocks of claims alternate between a pool that refills
 * and a paused one (order swapped every round, each block started with the refill of the one before done), so both
 * sides share the machine's load of the moment. Prints p50/p99 of each side and their ratio (with / without).
 */
async function refillAbScenario(env: BenchEnv, watch: BoundWatch, claimers: number, perClaimer: number, rounds: number): Promise<void> {
  const block = claimers * perClaimer;
  const refilling = `ab${claimers}-refill`;
  const paused = `ab${claimers}-paused`;
  const refillSize = block + 20;
  const pausedSize = block * rounds + 20;
  // Claimed members count toward maxSize: room for every claim of the run beside a full pool.
  await env.custom.createNamespacedCustomObject({ ...G, namespace: NS, plural: 'instancepools', body: benchPool(NS, refilling, refillSize, refillSize + block * rounds) });
  await env.custom.createNamespacedCustomObject({ ...G, namespace: NS, plural: 'instancepools', body: benchPool(NS, paused, pausedSize, pausedSize) });
  await Promise.all([waitReady(env, refilling, refillSize), waitReady(env, paused, pausedSize)]);
  await env.cluster.kubectl(['-n', NS, 'patch', 'instancepool', paused, '--type=merge', '-p', '{"spec":{"paused":true}}']);
  await sleep(2000);
  const withRefill = { latencies: [] as number[], creates: [] as number[] };
  const without = { latencies: [] as number[], creates: [] as number[] };
  const add = (to: typeof withRefill, r: typeof withRefill): void => {
    to.latencies.push(...r.latencies);
    to.creates.push(...r.creates);
  };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [refilling, paused] : [paused, refilling];
    for (const pool of order) {
      // Every block starts with the refilling pool full and its last refill done: a refilling block has the same
      // ready members as the first, and a paused block runs with no refill under way.
      await waitReady(env, refilling, refillSize);
      await sleep(1000);
      add(pool === refilling ? withRefill : without, await claimBlock(env, watch, pool, claimers, perClaimer, `r${r}`));
    }
  }
  const a = summary(withRefill.latencies);
  const b = summary(without.latencies);
  const ac = summary(withRefill.creates);
  const bc = summary(without.creates);
  const label = claimers === 1 ? 'serial' : `${claimers} at once`;
  console.log(`  ${label}, refill vs none (${rounds} alternating rounds of ${block} claims each side):`);
  console.log(`      with refill:    p50 ${ms(a.p50)}  p99 ${ms(a.p99)}  max ${ms(a.max)}  (client's create p50 ${ms(ac.p50)}, p99 ${ms(ac.p99)})`);
  console.log(`      without refill: p50 ${ms(b.p50)}  p99 ${ms(b.p99)}  max ${ms(b.max)}  (client's create p50 ${ms(bc.p50)}, p99 ${ms(bc.p99)})`);
  console.log(`      with / without: p50 ${(a.p50 / b.p50).toFixed(2)}x  p99 ${(a.p99 / b.p99).toFixed(2)}x`);
  await cleanup(env, refilling);
  await cleanup(env, paused);
}

async function burstScenario(env: BenchEnv, watch: BoundWatch, n: number): Promise<void> {
  const pool = 'burst';
  // maxSize = n: claimed members count toward it, so the pool does not refill behind the burst (node capacity).
  await env.custom.createNamespacedCustomObject({ ...G, namespace: NS, plural: 'instancepools', body: benchPool(NS, pool, n, n) });
  const fill = await waitReady(env, pool, n);
  console.log(`  pool of ${n} filled from empty in ${(fill / 1000).toFixed(1)} s`);
  await sleep(2000);
  const preexisting = await podNames(env, pool);
  const from = Date.now();
  const names = Array.from({ length: n }, (_, i) => `burst-${i}`);
  const bound = names.map((nm) => watch.bound(nm));
  const cpu0 = cpuSnapshot(env);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < n; i = next++) await createClaim(env, names[i] ?? '', pool);
    }),
  );
  const created = (performance.now() - t0) / 1000;
  const last = Math.max(...(await Promise.all(bound)));
  const cpu = cpuSpent(cpu0, cpuSnapshot(env));
  const secs = (last - t0) / 1000;
  await sleep(3000);
  const writes = splitWrites(env, from, Date.now(), preexisting, pool);
  console.log(`  burst of ${n} claims against ${n} ready members: ${secs.toFixed(2)} s first create to last Bound = ${(n / secs).toFixed(0)} claims/s`);
  console.log(`      the client's creates took ${created.toFixed(2)} s; CPU used meanwhile: ${cpu}`);
  console.log(`      operator writes per claim: claim path ${(writes.claimPath / n).toFixed(2)} (409s: ${writes.conflicts})`);
  console.log(`      operator resident memory with ${n} claimed members: ${env.operatorRssMiB().toFixed(0)} MiB`);
  await cleanup(env, pool);
}

/** The scenarios by name; `node dist/bench/run.js claims burst` runs only the ones named. */
const SCENARIOS: Record<string, (env: BenchEnv, watch: BoundWatch) => Promise<void>> = {
  serial: (env, watch) => latencyScenario(env, watch, 1, 100),
  c10: (env, watch) => latencyScenario(env, watch, 10, 20),
  c20: (env, watch) => latencyScenario(env, watch, 20, 10),
  c100: (env, watch) => latencyScenario(env, watch, 100, 3),
  'serial-paused': (env, watch) => latencyScenario(env, watch, 1, 100, true),
  'c20-paused': (env, watch) => latencyScenario(env, watch, 20, 10, true),
  burst: (env, watch) => burstScenario(env, watch, 1000),
  'serial-refill': (env, watch) => refillAbScenario(env, watch, 1, 25, 4),
  'c20-refill': (env, watch) => refillAbScenario(env, watch, 20, 2, 5),
};

export async function claimBenchmarks(only: readonly string[] = []): Promise<void> {
  const unknown = only.filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown claim scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const env = await benchEnv(`wp-bench-claims-${process.pid}`, 6, 400);
  try {
    await env.core.createNamespace({ body: { metadata: { name: NS } } });
    const watch = new BoundWatch();
    await watch.start(env);
    console.log('claim benchmark (2 cores; operator as its own process; pods Ready 1 s after creation)');
    for (const [name, run] of Object.entries(SCENARIOS)) if (only.length === 0 || only.includes(name)) await run(env, watch);
    watch.stop();
  } finally {
    await env.stop();
  }
}
