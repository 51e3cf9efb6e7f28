// A benchmark's world: its own local cluster with the audit log on, the CRDs, and the operator as a separate process
// under its own identity, so the audit log attributes every write to "warmpool-operator" and the benchmark client's
// CPU does not share a process with the operator's.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { InstancePool } from '../operator/api/types.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { componentPids, startCluster, type Cluster, type FaultOptions } from '../e2e/cluster/cluster.js';
import { repoRoot } from '../e2e/cluster/paths.js';

export const OPERATOR_USER = 'warmpool-operator';

export interface BenchEnv {
  cluster: Cluster;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  operator: ChildProcess;
  operatorRssMiB(): number;
  stop(): Promise<void>;
}

export interface BenchEnvOptions {
  /** After the operator's own arguments (e.g. --kube-api-qps), for benchmarks that vary them. */
  operatorArgs?: readonly string[];
  /** The cluster's fault settings, e.g. components without leader election for a run that overloads the API server. */
  faults?: FaultOptions;
}

export async function benchEnv(name: string, nodes: number, podsPerNode: number, opts: BenchEnvOptions = {}): Promise<BenchEnv> {
  const operatorArgs = opts.operatorArgs ?? [];
  const cluster = await startCluster({ name, nodes, node: { pods: podsPerNode }, audit: true, ...(opts.faults ? { faults: opts.faults } : {}) });
  try {
    await cluster.kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
    const opKubeconfig = await cluster.kubeconfigFor(OPERATOR_USER, ['system:masters']);
    const operator = spawn(
      join(repoRoot(), 'bin', 'warmpool'),
      // BENCH_OPERATOR_ARGS: extra operator flags for an experiment (e.g. "--kube-api-qps 1000"), split on spaces.
      ['operator', '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', ...operatorArgs, ...(process.env.BENCH_OPERATOR_ARGS ?? '').split(' ').filter(Boolean)],
      { env: { ...process.env, KUBECONFIG: opKubeconfig, WARMPOOL_LOG: 'warn' }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    // The benchmark's clients keep their connections open, as kubectl and client-go do; client-node's own clients
    // would add a TLS handshake to every request (operator/kube/connections.ts).
    const { core, custom } = makeInstrumentedClients(kc, () => undefined, { userAgent: 'warmpool-bench' });
    const stop = async (): Promise<void> => {
      operator.kill('SIGTERM');
      await new Promise((r) => (operator.exitCode !== null ? r(undefined) : operator.once('exit', r)));
      await cluster.stop();
    };
    const forget = stopOnSignal(stop);
    return {
      cluster,
      kc,
      core,
      custom,
      operator,
      operatorRssMiB: () => treeRssMiB(operator.pid ?? 0),
      stop: async () => {
        forget();
        await stop();
      },
    };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

/**
 * Ctrl-C or SIGTERM while a benchmark runs: stop what it started before exiting (kwokctl starts the cluster's
 * components detached, so they outlive the benchmark otherwise). Returns the function that takes the handler back.
 */
export function stopOnSignal(stop: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`${signal}: stopping the benchmark's cluster`);
    // Watches still open fail as the cluster goes (its certificates are deleted with it): nothing to report.
    process.on('uncaughtException', () => undefined);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** RSS of a process and its children (bin/warmpool is a bash wrapper that execs node, so usually one process). */
export function treeRssMiB(pid: number): number {
  const rss = (p: number): number => {
    try {
      const line = readFileSync(`/proc/${p}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
      return line ? Number.parseInt(line.replace(/\D+/g, ' ').trim(), 10) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  let total = rss(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      total += treeRssMiB(Number(child));
    }
  } catch {
    /* no children */
  }
  return total;
}

export interface AuditWrite {
  user: string;
  verb: string;
  resource: string;
  subresource: string | undefined;
  name: string | undefined;
  code: number | undefined;
  at: number;
  /** The program that sent it: the user agent up to its first "/" (several components share one identity here). */
  agent: string;
}

/**
 * Writes from the audit log (the test cluster logs writes only, at Metadata level) within [from, to], by one user or,
 * without one, by everybody.
 */
export function auditWrites(cluster: Cluster, user: string | undefined, from: number, to = Number.POSITIVE_INFINITY): AuditWrite[] {
  if (!cluster.auditLog) throw new Error('audit log is off');
  const out: AuditWrite[] = [];
  for (const line of readFileSync(cluster.auditLog, 'utf8').split('\n')) {
    if (line === '' || (user !== undefined && !line.includes(`"${user}"`))) continue;
    const e = JSON.parse(line) as {
      verb: string;
      user: { username: string };
      objectRef?: { resource?: string; subresource?: string; name?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp: string;
      userAgent?: string;
    };
    const at = Date.parse(e.requestReceivedTimestamp);
    if ((user !== undefined && e.user.username !== user) || at < from || at > to) continue;
    out.push({
      user: e.user.username,
      verb: e.verb,
      resource: e.objectRef?.resource ?? '',
      subresource: e.objectRef?.subresource,
      name: e.objectRef?.name,
      code: e.responseStatus?.code,
      at,
      agent: (e.userAgent ?? '').split('/')[0] ?? '',
    });
  }
  return out;
}

/** API writes in a window by every identity: user -> count. */
export function writesByUser(cluster: Cluster, from: number, to = Number.POSITIVE_INFINITY): Map<string, number> {
  return countByUser(auditWrites(cluster, undefined, from, to));
}

/** Writes already read from the audit log, by identity: user -> count. */
export function countByUser(writes: readonly AuditWrite[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of writes) out.set(w.user, (out.get(w.user) ?? 0) + 1);
  return out;
}

/** The pool the benchmarks use: members that become Ready 1 s after creation (a kwok Stage). */
export function benchPool(namespace: string, name: string, targetSize: number, maxSize?: number): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name, namespace },
    spec: {
      targetSize,
      ...(maxSize === undefined ? {} : { maxSize }),
      template: {
        metadata: { annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
        spec: { containers: [{ name: 'main', image: 'example.invalid/runner:1' }] },
      },
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A count from the environment, bounded: a typo must not start a benchmark of a million claims. */
export function envCount(name: string, fallback: number, max: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw}: want a whole number from ${min} to ${max}`);
  return n;
}

/** Polls check every 200 ms until it holds; throws, naming what it waited for, after timeoutMs. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    // Fields after the command (which may hold spaces) start at ") "; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) each process has used so far: the cluster's components by name, the operator, us. */
export function cpuSnapshot(env: BenchEnv): Map<string, number> {
  return cpuByProcess(env.cluster, { operator: env.operator.pid ?? 0 });
}

/** CPU seconds so far of each cluster component, of the given controller processes, and of this process. */
export function cpuByProcess(cluster: Cluster, controllers: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [component, pid] of componentPids(cluster.dir)) out.set(component, processCpuSeconds(pid));
  for (const [name, pid] of Object.entries(controllers)) out.set(name, processCpuSeconds(pid));
  const self = process.cpuUsage();
  out.set('bench client', (self.user + self.system) / 1e6);
  return out;
}

/** "apiserver 3.1 s, etcd 0.9 s, ...": the CPU used between two snapshots, largest first. */
export function cpuSpent(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const)
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
    .join(', ');
}

/** The machine a benchmark ran on, for its report: absolute figures mean little without it. */
export function machineInfo(): { hostname: string; cpus: number; cpuModel: string; memoryGiB: number; loadAverageAtStart: number[] } {
  return {
    hostname: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg(),
  };
}
