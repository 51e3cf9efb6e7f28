// The local cluster: a real control plane (kube-apiserver, controller-manager, scheduler, etcd) built from Go
// modules, kwok for nodes and pods, optionally metrics-server, all started by kwokctl's binary runtime on
// 127.0.0.1. kwokctl starts its components detached, so stop() must always run: it waits until every process
// the cluster started has exited.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runRaw } from './exec.js';
import { nodeManifest, podOctetFor, type NodeShape } from './nodes.js';
import { ensureTools, kwokWorkdir, type ToolPaths } from './paths.js';
import { AUDIT_POLICY, podStageDocuments } from './stages.js';

export const KUBE_VERSION = 'v1.37.2';

export interface ClusterOptions {
  /** Cluster name, unique on the machine (default "warmpool"). */
  name?: string;
  /** Number of fake nodes (default 2). */
  nodes?: number;
  /** Capacity of each node (default 32 cpu, 256Gi, 110 pods). */
  node?: Partial<NodeShape>;
  /** Start metrics-server, so PodMetrics exist (default false: it costs a few seconds and memory). */
  metrics?: boolean;
  /** Write an audit log of API writes (logs/audit.log in the cluster directory; default false). */
  audit?: boolean;
  /**
   * Turn API Priority and Fairness on (kwok's disableQPSLimits turns it off), with the apiserver's default
   * concurrency (400 + 200): FlowSchemas then really throttle, with 429 + Retry-After. system:masters stays exempt,
   * so tests acting as the admin are not slowed. Default false.
   */
  priorityAndFairness?: boolean;
  /** Called with a progress line per step. */
  log?: (line: string) => void;
  /** Settings for fault injection (the chaos suite); unset, the cluster runs with kwokctl's defaults. */
  faults?: FaultOptions;
}

/** A control plane that survives its own faults: see the README's "Failure modes" and e2e/chaos. */
export interface FaultOptions {
  /**
   * Run kube-scheduler and kube-controller-manager without leader election: with it they exit when they cannot
   * renew (about 10 s without the API server) and kwokctl never restarts them, so an outage would leave pods
   * unscheduled for good. One instance each: nothing to elect.
   */
  noComponentLeaderElection?: boolean;
  /** kube-apiserver --min-request-timeout: watches are cut after a random 1-2 times this (default 1800 s). */
  minRequestTimeoutSeconds?: number;
  /** kube-apiserver --etcd-compaction-interval (Go duration): compacts often so resumed watches meet 410 Gone. */
  etcdCompactionInterval?: string;
}

export interface Cluster {
  name: string;
  /** Admin kubeconfig of the cluster. */
  kubeconfig: string;
  /** kwokctl's directory of this cluster (logs, pids, certificates). */
  dir: string;
  /** Audit log path when audit is on. */
  auditLog?: string;
  tools: ToolPaths;
  /** Runs kubectl against this cluster. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** Adds fake nodes (indexes continue after the existing ones). */
  addNodes(count: number, shape?: Partial<NodeShape>): Promise<string[]>;
  /** A kubeconfig for another user and groups, signed by the cluster's CA (its own identity for audit counts). */
  kubeconfigFor(user: string, groups?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

const DEFAULT_SHAPE: NodeShape = { cpu: '32', memory: '256Gi', pods: 110 };

function kwokEnv(): NodeJS.ProcessEnv {
  return { ...process.env, KWOK_WORKDIR: kwokWorkdir() };
}

function clusterDir(name: string): string {
  return join(kwokWorkdir(), 'clusters', name);
}

/** kwokctl merges a context into this file; keeping it ours means ~/.kube/config is never touched. */
function contextKubeconfig(name: string): string {
  return join(kwokWorkdir(), 'kubeconfigs', `${name}.yaml`);
}

function renderConfig(name: string, tools: ToolPaths, opts: ClusterOptions): string {
  const options: Record<string, unknown> = {
    runtime: 'binary',
    kubeVersion: KUBE_VERSION,
    bindAddress: '127.0.0.1',
    disableQPSLimits: true,
    etcdBinary: tools.bin('etcd'),
    kubeApiserverBinary: tools.bin('kube-apiserver'),
    kubeControllerManagerBinary: tools.bin('kube-controller-manager'),
    kubeSchedulerBinary: tools.bin('kube-scheduler'),
    kwokControllerBinary: tools.bin('kwok'),
    kubectlBinary: tools.bin('kubectl'),
    metricsServerBinary: tools.bin('metrics-server'),
    metricsServerManifests: [tools.metricsServerManifests],
  };
  if (opts.metrics) options.enableMetricsServer = true;
  if (opts.audit) {
    const policy = join(kwokWorkdir(), 'configs', `${name}.audit-policy.yaml`);
    writeFileSync(policy, AUDIT_POLICY);
    options.kubeAuditPolicy = policy;
  }
  const apiserverArgs = [
    // No Endpoints reconciler and an explicit loopback address: nothing advertises a non-loopback IP.
    { key: 'endpoint-reconciler-type', value: 'none' },
    { key: 'advertise-address', value: '127.0.0.1' },
  ];
  const f = opts.faults;
  if (f?.minRequestTimeoutSeconds !== undefined) {
    apiserverArgs.push({ key: 'min-request-timeout', value: String(Math.max(1, Math.floor(f.minRequestTimeoutSeconds))) });
  }
  if (f?.etcdCompactionInterval !== undefined) apiserverArgs.push({ key: 'etcd-compaction-interval', value: f.etcdCompactionInterval });
  if (opts.priorityAndFairness) {
    // After kwok's own flags: the last value of a flag wins.
    apiserverArgs.push(
      { key: 'enable-priority-and-fairness', value: 'true' },
      { key: 'max-requests-inflight', value: '400' },
      { key: 'max-mutating-requests-inflight', value: '200' },
    );
  }
  const componentsPatches: { name: string; extraArgs: { key: string; value: string }[] }[] = [
    { name: 'kube-apiserver', extraArgs: apiserverArgs },
  ];
  if (f?.noComponentLeaderElection === true) {
    for (const name of ['kube-scheduler', 'kube-controller-manager']) {
      componentsPatches.push({ name, extraArgs: [{ key: 'leader-elect', value: 'false' }] });
    }
  }
  const kwokctl = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokctlConfiguration',
    options,
    componentsPatches,
  };
  // Passing any Stage replaces all of kwok's defaults, node stages included, so kwok's own node stages go along.
  const nodeStages = ['fast/node-initialize.yaml', 'heartbeat-with-lease/node-heartbeat-with-lease.yaml'].map((f) =>
    readFileSync(join(tools.kwokNodeStages, f), 'utf8'),
  );
  const docs = [JSON.stringify(kwokctl), ...nodeStages, ...podStageDocuments()];
  if (opts.metrics) docs.push(readFileSync(tools.kwokMetricsResource, 'utf8'));
  return docs.map((d) => d.trim()).join('\n---\n') + '\n';
}

/** Process ids kwokctl recorded for the cluster's components (in its directory), by component: etcd, kube-apiserver, ... */
export function componentPids(dir: string): Map<string, number> {
  const pidsDir = join(dir, 'pids');
  const out = new Map<string, number>();
  if (!existsSync(pidsDir)) return out;
  for (const f of readdirSync(pidsDir)) {
    const pid = Number.parseInt(readFileSync(join(pidsDir, f), 'utf8').trim(), 10);
    if (Number.isInteger(pid) && pid > 0) out.set(f.replace(/\.pid$/, ''), pid);
  }
  return out;
}

/** Whether a process exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to ms for the processes to exit; returns those still alive. */
export async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  return left;
}

/** Deletes a cluster by name and waits until its processes are gone; safe to call for a cluster that is not there. */
export async function deleteCluster(name: string, tools?: ToolPaths): Promise<void> {
  const t = tools ?? (await ensureTools());
  const dir = clusterDir(name);
  const pids = [...componentPids(dir).values()];
  await runRaw(t.bin('kwokctl'), ['delete', 'cluster', '--name', name, '--kubeconfig', contextKubeconfig(name)], {
    env: kwokEnv(),
    timeoutMs: 60_000,
  });
  const stubborn = await waitGone(pids, 10_000);
  for (const pid of stubborn) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitGone(stubborn, 5_000);
  rmSync(dir, { recursive: true, force: true });
  rmSync(contextKubeconfig(name), { force: true });
}

export function clusterExists(name: string): boolean {
  return existsSync(join(clusterDir(name), 'kubeconfig.yaml'));
}

/** Attaches to a cluster that is already running (for `warmpool cluster status` and friends). */
export async function attachCluster(name: string): Promise<Cluster> {
  const tools = await ensureTools();
  return handle(name, tools, existsSync(join(clusterDir(name), 'logs', 'audit.log')));
}

function handle(name: string, tools: ToolPaths, audit: boolean): Cluster {
  const dir = clusterDir(name);
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  const kubectl = async (args: readonly string[], input?: string): Promise<string> =>
    (await run(tools.bin('kubectl'), ['--kubeconfig', kubeconfig, ...args], { input, timeoutMs: 120_000 })).stdout;
  const octet = podOctetFor(name);
  return {
    name,
    kubeconfig,
    dir,
    auditLog: audit ? join(dir, 'logs', 'audit.log') : undefined,
    tools,
    kubectl,
    async addNodes(count, shape) {
      const existing = (await kubectl(['get', 'nodes', '-o', 'name'])).split('\n').filter((l) => l !== '').length;
      const manifests = Array.from({ length: count }, (_, i) =>
        nodeManifest(existing + i, octet, { ...DEFAULT_SHAPE, ...shape }),
      );
      await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
      const names = manifests.map((m) => (m.metadata as { name: string }).name);
      await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', ...names.map((n) => `node/${n}`)]);
      return names;
    },
    async kubeconfigFor(user, groups = []) {
      const args = ['get', 'kubeconfig', '--name', name, '--user', user];
      for (const g of groups) args.push('--group', g);
      const out = (await run(tools.bin('kwokctl'), args, { env: kwokEnv(), timeoutMs: 60_000 })).stdout;
      const file = join(dir, `kubeconfig.${user.replace(/[^a-zA-Z0-9_.-]/g, '_')}.yaml`);
      writeFileSync(file, out, { mode: 0o600 });
      return file;
    },
    stop: () => deleteCluster(name, tools),
  };
}

/** Starts a cluster and its fake nodes; returns once the nodes are Ready. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const name = opts.name ?? 'warmpool';
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const tools = await ensureTools();
  if (clusterExists(name)) throw new Error(`cluster ${name} already exists (warmpool cluster down --name ${name})`);
  mkdirSync(join(kwokWorkdir(), 'configs'), { recursive: true });
  mkdirSync(join(kwokWorkdir(), 'kubeconfigs'), { recursive: true });
  const config = join(kwokWorkdir(), 'configs', `${name}.yaml`);
  writeFileSync(config, renderConfig(name, tools, opts));
  log(`starting control plane ${KUBE_VERSION} (${name})`);
  const cluster = handle(name, tools, opts.audit ?? false);
  const create = (): Promise<unknown> =>
    run(
      tools.bin('kwokctl'),
      ['create', 'cluster', '--name', name, '--config', config, '--kubeconfig', contextKubeconfig(name), '--wait', '120s'],
      { env: kwokEnv(), timeoutMs: 240_000 },
    );
  try {
    // Two clusters created in the same moment can pick the same free ports (kwokctl counts down from 32767), and one
    // API server then never serves: seen with a chaos run and the test cluster starting together. One more try, at a
    // random later moment, with the failed one deleted.
    await create().catch(async (e: unknown) => {
      log(`control plane did not come up, once more: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`);
      await deleteCluster(name, tools).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000 + Math.floor(Math.random() * 4000)));
      await create();
    });
    log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await cluster.addNodes(opts.nodes ?? 2, opts.node);
    log(`${opts.nodes ?? 2} nodes Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    await deleteCluster(name, tools).catch(() => undefined);
    throw e;
  }
  return cluster;
}
