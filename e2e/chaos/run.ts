// The chaos run: its own local cluster (faults kill its API server, so never the shared test cluster), two
// supervised operator replicas under leader election, a few pools, the open-loop claim load, faults injected one
// kind at a time (then mixed, in the long run), the independent invariant watcher throughout, and a report.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { LABEL_POOL, LABEL_STATE } from '../../operator/api/types.js';
import { componentPids, deleteCluster, startCluster, type Cluster } from '../cluster/cluster.js';
import { kwokWorkdir, repoRoot } from '../cluster/paths.js';
import { installServerFence } from '../cluster/server-fence.js';
import { AUDIT_ALL_VERBS_GROUP } from '../cluster/stages.js';
import { deleteNode, deletePod, evictPod, nodeNotReady, podNotReady, restartComponent, throttleUsers } from './faults.js';
import { runLoad, type ClaimResult, type LoadResult } from './load.js';
import { apiRequestsTotal, superviseReplica, type Replica, type ReplicaExit } from './operators.js';
import { InvariantWatcher, type LeaseChange, type Violation } from './watcher.js';

export const FAULT_KINDS = [
  'operator-kill',
  'leader-kill',
  'leader-pause',
  'apiserver-restart',
  'etcd-restart',
  'apf-throttle',
  'pod-delete',
  'pod-evict',
  'pod-notready',
  'node-notready',
  'node-delete',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  /** Cluster name (unique on the machine). */
  name: string;
  count: number;
  ratePerSecond: number;
  concurrency: number;
  pools: number;
  poolSize: number;
  /** Faults injected one at a time, in this order, each followed by a recovery probe. */
  faults: readonly FaultKind[];
  /** After the ordered faults, keep injecting random kinds (every mixedEveryMs) until the load is done. */
  mixed: boolean;
  mixedEveryMs: number;
  /** API server down time for apiserver-restart, etcd down time for etcd-restart. */
  apiserverDownMs: number;
  etcdDownMs: number;
  /** How long apf-throttle holds the operator at one seat of API Priority and Fairness (default 20 s). */
  throttleMs?: number;
  /** Write the JSON report here (optional). */
  reportFile?: string;
  seed: number;
  log: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  startedAt: number;
  /** When the injector finished (API server ready again after a restart, process resumed, object gone). */
  endedAt: number;
  /** From endedAt until a claim created after the fault is Bound; undefined if that never happened. */
  recoverySeconds?: number;
  /** Highest request rate of the operator replicas together (req/s, 1 s samples) while the fault lasted. */
  peakOperatorRequestsPerSecond: number;
  /** The same from the fault's end until recovery (the catch-up after an outage). */
  peakOperatorRequestsPerSecondRecovering: number;
  /** Requests of the operator replicas the API server answered 429 while the fault lasted (from the audit log). */
  rejected429?: number;
  detail: string;
  error?: string;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  startedAt: string;
  durationSeconds: number;
  claims: {
    total: number;
    byOutcome: Record<string, number>;
    lost: { name: string; reason?: string }[];
    failed: { name: string; reason?: string }[];
    stuck: { name: string; outcome: string; phase?: string; reason?: string }[];
    bindSecondsP50?: number;
    bindSecondsP99?: number;
  };
  faults: FaultRecord[];
  recoverySecondsByKind: Record<string, number | null>;
  violations: Violation[];
  leakedPods: string[];
  converged: { ok: boolean; seconds: number; detail: string };
  writesAfterLeaseLoss: { replica: string; at: string; verb: string; resource: string; name: string; code: number }[];
  replicaExits: ReplicaExit[];
  leaseChanges: LeaseChange[];
  watcher: { ticks: number; failedTicks: number };
  /** Watches are cut every 5-10 s (--min-request-timeout 5) and etcd compacted every 10 s, for the whole run. */
  continuousFaults: string[];
}

const NS = 'chaos';
const OPERATORS_GROUP = 'warmpool.dev:chaos-operators';
const PROBE_PRIORITY = 1000;
const LEASE = 'warmpool-chaos';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  at: number;
  replica: string;
  total: number;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function peakRate(samples: readonly Sample[], from: number, to: number): number {
  const byReplica = new Map<string, Sample[]>();
  // The sample just before `from` starts the first interval, so a rate is counted only for requests made after it.
  for (const s of samples) if (s.at >= from - 1000 && s.at <= to + 1000) byReplica.set(s.replica, [...(byReplica.get(s.replica) ?? []), s]);
  // Per second, summed over replicas: bucket each replica's rate by the second it ends in.
  const perSecond = new Map<number, number>();
  for (const list of byReplica.values()) {
    list.sort((x, y) => x.at - y.at);
    for (let i = 1; i < list.length; i++) {
      const b = list[i];
      // Over at least a second: two scrapes answered close together (a slow one, then a fast one) would blow a
      // handful of requests up into a huge rate.
      let j = i - 1;
      while (j > 0 && b !== undefined && (list[j]?.at ?? 0) > b.at - 1000) j--;
      const a = list[j];
      if (a === undefined || b === undefined || b.at - a.at < 900 || b.at < from || a.at > to) continue;
      // A restarted process starts its counters again from 0.
      const delta = b.total >= a.total ? b.total - a.total : b.total;
      const sec = Math.floor(b.at / 1000);
      perSecond.set(sec, (perSecond.get(sec) ?? 0) + (delta * 1000) / (b.at - a.at));
    }
  }
  return Math.round(Math.max(0, ...perSecond.values()) * 10) / 10;
}

function quantile(xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
  /** When the API server received the request: what the client sent, as opposed to when the server finished. */
  requestReceivedTimestamp?: string;
  stage: string;
}

/** Requests of users the API server answered 429 (throttled) and received between from and to, from the audit log. */
export function rejectedBetween(auditLog: string, users: readonly string[], from: number, to: number): number {
  let n = 0;
  const names = new Set(users);
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes('"code":429')) continue;
    const e = JSON.parse(line) as AuditEvent;
    const t = Date.parse(e.requestReceivedTimestamp ?? e.stageTimestamp);
    if (e.stage === 'ResponseComplete' && names.has(e.user.username) && t >= from && t <= to) n++;
  }
  return n;
}

/**
 * Writes that succeeded from a replica while another held the Lease: from the audit log (by the replica's user)
 * against the holders' acquire times. A replica holds from its acquireTime until another's acquireTime. A write is
 * judged by when the API server received it: one received before the takeover was sent while its replica still led
 * (a request on the wire when the process was paused completes after it resumes, and no client can fence that; the
 * Kubernetes API has no fencing tokens), while one received after the takeover is a write the fence let through.
 */
export function writesAfterLeaseLoss(
  auditLog: string,
  replicas: readonly { name: string; user: string }[],
  history: readonly LeaseChange[],
): ChaosReport['writesAfterLeaseLoss'] {
  const holderAt = (t: number): string | undefined => {
    let h: string | undefined;
    for (const c of history) if (c.acquireTime <= t) h = c.holder;
    return h;
  };
  const users = new Map(replicas.map((r) => [r.user, r.name]));
  const out: ChaosReport['writesAfterLeaseLoss'] = [];
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (line === '' || !line.includes('"chaos-op-')) continue;
    const e = JSON.parse(line) as AuditEvent;
    const replica = users.get(e.user.username);
    if (replica === undefined || e.stage !== 'ResponseComplete') continue;
    if (!['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb)) continue;
    const resource = e.objectRef?.resource ?? '';
    if (resource === 'leases' || resource === 'events' || e.objectRef?.namespace !== NS) continue;
    const code = e.responseStatus?.code ?? 0;
    if (code >= 300) continue;
    const t = Date.parse(e.requestReceivedTimestamp ?? e.stageTimestamp);
    const holder = holderAt(t);
    if (holder !== undefined && holder !== replica) {
      out.push({ replica, at: e.stageTimestamp, verb: e.verb, resource: resource + (e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''), name: e.objectRef?.name ?? '', code });
    }
  }
  return out;
}

const liveReplicas = new Set<Replica>();

/**
 * Synchronous last resort for a process 'exit' handler (no promise runs there): SIGKILLs the operator replicas and
 * every component of the named cluster. deleteCluster afterwards still cleans its directory.
 */
export function killChaosNow(name: string): void {
  const pids = [...[...liveReplicas].map((r) => r.pid()), ...componentPids(join(kwokWorkdir(), 'clusters', name)).values()];
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  await deleteCluster(o.name).catch(() => undefined);
  const start = (): Promise<Cluster> =>
    startCluster({
      name: o.name,
      nodes: 3,
      node: { pods: 250 },
      audit: true,
      // APF on, so the apf-throttle fault's FlowSchema really throttles (the operators run outside system:masters).
      priorityAndFairness: true,
      faults: { noComponentLeaderElection: true, minRequestTimeoutSeconds: 5, etcdCompactionInterval: '10s' },
      log: (l) => o.log(`[cluster] ${l}`),
    });
  // Seen once with another cluster starting in the same second: nodes never Ready (two kwokctl runs can pick the
  // same free ports; startCluster retries the control plane itself). startCluster deletes a cluster that failed.
  const cluster = await start().catch((e: unknown) => {
    o.log(`[cluster] start failed, once more: ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`);
    return start();
  });
  const replicas: Replica[] = [];
  let watcher: InvariantWatcher | undefined;
  let sampler: NodeJS.Timeout | undefined;
  // Teardown runs even when the process is interrupted: kwokctl's components are detached and would outlive us.
  // A handler replaces the default exit on the signal, so it exits itself once the cluster is gone.
  const onExit = (): void => {
    killChaosNow(o.name);
    void deleteCluster(o.name).finally(() => process.exit(130));
  };
  process.once('SIGINT', onExit);
  process.once('SIGTERM', onExit);
  try {
    return await withCluster(cluster, o, t0, replicas, (w) => (watcher = w), (s) => (sampler = s));
  } finally {
    if (sampler) clearInterval(sampler);
    watcher?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    for (const r of replicas) liveReplicas.delete(r);
    await cluster.stop();
    process.removeListener('SIGINT', onExit);
    process.removeListener('SIGTERM', onExit);
  }
}

async function withCluster(
  cluster: Cluster,
  o: ChaosOptions,
  t0: number,
  replicas: Replica[],
  setWatcher: (w: InvariantWatcher) => void,
  setSampler: (s: NodeJS.Timeout) => void,
): Promise<ChaosReport> {
  await cluster.kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
  await cluster.kubectl(['create', 'namespace', NS]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  // The replicas are cluster-admin through RBAC, not system:masters, which API Priority and Fairness exempts; their
  // group also has every verb audited, so the 429s they get are counted.
  await cluster.kubectl(['create', 'clusterrolebinding', 'chaos-operators', '--clusterrole=cluster-admin', `--group=${OPERATORS_GROUP}`]);
  // The chart's server-side write fence, for these replicas: a paused leader cannot land a write after a takeover.
  await installServerFence(cluster, { namespace: NS, lease: LEASE, usernames: ['chaos-op-a', 'chaos-op-b'] });
  for (const r of ['a', 'b']) {
    const user = `chaos-op-${r}`;
    const kubeconfig = await cluster.kubeconfigFor(user, [OPERATORS_GROUP, AUDIT_ALL_VERBS_GROUP]);
    const logFile = o.reportFile === undefined ? undefined : o.reportFile.replace(/\.json$/, '') + `.replica-${r}.log`;
    // Named for its user: the server-side fence admits a replica's writes only while the Lease names its identity.
    const replica = superviseReplica({ name: user, user, kubeconfig, metricsPort: await freePort(), namespace: NS, leaseId: LEASE, log: o.log, logFile });
    replicas.push(replica);
    liveReplicas.add(replica);
  }
  await Promise.all(replicas.map((r) => r.started(60_000)));

  const pools = Array.from({ length: o.pools }, (_, i) => `pool-${i}`);
  for (const name of pools) {
    await custom.createNamespacedCustomObject({
      group: 'warmpool.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'instancepools',
      body: {
        apiVersion: 'warmpool.dev/v1alpha1',
        kind: 'InstancePool',
        metadata: { name, namespace: NS },
        spec: {
          targetSize: o.poolSize,
          maxSize: Math.min(100_000, o.poolSize + o.concurrency + 50),
          template: {
            metadata: { labels: { app: name }, annotations: { 'sim.warmpool.dev/ready-after': '500ms' } },
            spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
          },
        },
      },
    });
  }

  const watcher = new InvariantWatcher({ kubeconfig: cluster.kubeconfig, namespace: NS, leaseId: LEASE });
  setWatcher(watcher);
  watcher.start();
  const samples: Sample[] = [];
  setSampler(
    setInterval(() => {
      for (const r of replicas) {
        void apiRequestsTotal(r.metricsPort).then((total) => {
          if (total !== undefined) samples.push({ at: Date.now(), replica: r.name, total });
        });
      }
    }, 1000),
  );
  const ready = async (what: string, deadlineMs: number, pred: () => boolean): Promise<boolean> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      if (pred()) return true;
      await sleep(200);
    }
    o.log(`timed out: ${what}`);
    return false;
  };
  const poolsReady = (): boolean =>
    pools.every((p) => (watcher.latest?.pods ?? []).filter((m) => m.metadata?.labels?.[LABEL_POOL] === p && m.metadata.labels[LABEL_STATE] === 'ready').length >= o.poolSize);
  await ready('pools ready', 120_000, poolsReady);
  o.log(`setup done in ${((Date.now() - t0) / 1000).toFixed(1)} s; load: ${o.count} claims at ${o.ratePerSecond}/s, ${o.concurrency} concurrent`);

  let loadDone = false;
  const load: Promise<LoadResult> = runLoad(
    {
      kubeconfig: cluster.kubeconfig,
      namespace: NS,
      pools,
      count: o.count,
      ratePerSecond: o.ratePerSecond,
      concurrency: o.concurrency,
      holdMs: { min: 1000, max: 4000 },
      bindDeadlineMs: 180_000,
      goneDeadlineMs: 120_000,
      seed: o.seed,
      log: o.log,
    },
    watcher,
  ).finally(() => (loadDone = true));

  let seed = o.seed ^ 0x5eed;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
  let probes = 0;
  let nextNodeIndex = 10;

  const holder = (): Replica | undefined => {
    const h = watcher.leaseHistory.at(-1)?.holder;
    return replicas.find((r) => r.name === h);
  };
  const memberPods = (state: 'ready' | 'claimed', n: number): string[] => {
    const pods = (watcher.latest?.pods ?? []).filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.[LABEL_STATE] === state && p.status?.phase === 'Running');
    const out: string[] = [];
    for (let i = 0; i < n && pods.length > 0; i++) {
      const [p] = pods.splice(Math.floor(rand() * pods.length), 1);
      if (p?.metadata?.name) out.push(p.metadata.name);
    }
    return out;
  };

  /**
   * A fresh claim after the fault: how long until a user's new claim is served again. It goes ahead of the load's
   * claims (priority), so it measures the operator's recovery, not the depth of the queue the load keeps.
   */
  const probe = async (from: number): Promise<number | undefined> => {
    const name = `probe-${String(probes++).padStart(4, '0')}`;
    const deadline = Date.now() + 180_000;
    const body = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: NS }, spec: { poolName: pools[0] ?? '', priority: PROBE_PRIORITY } };
    const base = { group: 'warmpool.dev', version: 'v1alpha1', namespace: NS, plural: 'poolclaims' };
    for (;;) {
      try {
        await custom.createNamespacedCustomObject({ ...base, body });
        break;
      } catch (e) {
        if ((e as { code?: number }).code === 409) break;
        if (Date.now() > deadline) return undefined;
        await sleep(250);
      }
    }
    const bound = await ready(`${name} Bound`, deadline - Date.now(), () => watcher.claim(name)?.phase === 'Bound');
    const at = Date.now();
    for (;;) {
      try {
        await custom.deleteNamespacedCustomObject({ ...base, name });
        break;
      } catch (e) {
        if ((e as { code?: number }).code === 404 || Date.now() > deadline) break;
        await sleep(250);
      }
    }
    return bound ? (at - from) / 1000 : undefined;
  };

  const inject = async (kind: FaultKind): Promise<string> => {
    switch (kind) {
      case 'operator-kill':
        for (const r of replicas) r.signal('SIGKILL');
        return 'SIGKILL both replicas';
      case 'leader-kill': {
        const h = holder();
        h?.signal('SIGKILL');
        return `SIGKILL leader ${h?.name ?? '(none)'}`;
      }
      case 'leader-pause': {
        const h = holder();
        if (h === undefined) return 'no leader';
        const before = watcher.leaseHistory.length;
        h.signal('SIGSTOP');
        const took = await ready('standby takes the Lease', 60_000, () => watcher.leaseHistory.slice(before).some((c) => c.holder !== h.name));
        // A few seconds more with the standby acting, then the stale leader wakes up with its old view.
        await sleep(3000);
        h.signal('SIGCONT');
        return `SIGSTOP ${h.name}, standby ${took ? 'took over' : 'did NOT take over'}, SIGCONT`;
      }
      case 'apiserver-restart': {
        const readyS = await restartComponent(cluster, 'kube-apiserver', o.apiserverDownMs);
        return `kube-apiserver SIGKILL, down ${o.apiserverDownMs / 1000} s, restarted, ready ${readyS.toFixed(1)} s later`;
      }
      case 'etcd-restart': {
        const readyS = await restartComponent(cluster, 'etcd', o.etcdDownMs);
        return `etcd SIGKILL, down ${o.etcdDownMs / 1000} s, restarted (data kept), API server ready ${readyS.toFixed(1)} s later`;
      }
      case 'apf-throttle': {
        const ms = o.throttleMs ?? 20_000;
        const level = await throttleUsers(cluster, 'chaos-throttle', replicas.map((r) => r.user), ms);
        return `operators held at one APF seat (Reject) for ${ms / 1000} s: ${level}`;
      }
      case 'pod-delete': {
        const names = [...memberPods('ready', 3), ...memberPods('claimed', 2)];
        await Promise.all(names.map((n) => deletePod(core, NS, n).catch(() => undefined)));
        return `deleted ${names.join(' ')}`;
      }
      case 'pod-evict': {
        const names = [...memberPods('ready', 3), ...memberPods('claimed', 2)];
        await Promise.all(names.map((n) => evictPod(core, NS, n).catch(() => undefined)));
        return `evicted ${names.join(' ')}`;
      }
      case 'pod-notready': {
        const names = [...memberPods('ready', 3), ...memberPods('claimed', 2)];
        for (const n of names) await podNotReady(cluster, NS, n).catch(() => undefined);
        return `NotReady ${names.join(' ')}`;
      }
      case 'node-notready': {
        const node = pick((await core.listNode()).items.map((n) => n.metadata?.name ?? '')) ?? '';
        const pods = await nodeNotReady(cluster, core, node, NS);
        return `node ${node} NotReady with ${pods.length} pods`;
      }
      case 'node-delete': {
        const node = pick((await core.listNode()).items.map((n) => n.metadata?.name ?? '')) ?? '';
        const added = await deleteNode(cluster, node, nextNodeIndex++);
        return `node ${node} deleted, ${added} added`;
      }
    }
  };

  const faults: FaultRecord[] = [];
  const runFault = async (kind: FaultKind): Promise<void> => {
    const startedAt = Date.now();
    watcher.faultWindow(Number.MAX_SAFE_INTEGER);
    o.log(`fault ${kind}: injecting`);
    let detail = '';
    let error: string | undefined;
    try {
      detail = await inject(kind);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const endedAt = Date.now();
    const recoverySeconds = await probe(endedAt);
    // The stuck-pending clock starts again a grace period after recovery (claims queued in the fault drain first).
    watcher.faultWindow(Date.now() + 15_000);
    const rec: FaultRecord = {
      kind,
      startedAt,
      endedAt,
      recoverySeconds,
      peakOperatorRequestsPerSecond: peakRate(samples, startedAt, endedAt),
      peakOperatorRequestsPerSecondRecovering: peakRate(samples, endedAt, Date.now()),
      rejected429: cluster.auditLog ? rejectedBetween(cluster.auditLog, replicas.map((r) => r.user), startedAt, endedAt) : undefined,
      detail,
      error,
    };
    faults.push(rec);
    o.log(`fault ${kind}: ${detail}${error ? ` (error: ${error})` : ''}; recovered in ${recoverySeconds ?? 'never'} s; peak ${rec.peakOperatorRequestsPerSecond} req/s during, ${rec.peakOperatorRequestsPerSecondRecovering} after; ${rec.rejected429 ?? '?'} answered 429`);
  };

  for (const kind of o.faults) {
    await runFault(kind);
    await sleep(2000);
  }
  if (o.mixed) {
    while (!loadDone) {
      const kind = pick(FAULT_KINDS);
      if (kind !== undefined) await runFault(kind);
      await sleep(o.mixedEveryMs);
    }
  }
  const result = await load;
  const lastFault = Date.now();

  // Convergence: no claims left, and each pool back to exactly targetSize ready members, nothing claimed.
  let detail = '';
  const converged = await ready('pools converge', 180_000, () => {
    const s = watcher.latest;
    if (s === undefined || s.at < lastFault) return false;
    const live = s.pods.filter((p) => !p.metadata?.deletionTimestamp);
    const parts = pools.map((p) => {
      const mine = live.filter((m) => m.metadata?.labels?.[LABEL_POOL] === p);
      const readyN = mine.filter((m) => m.metadata?.labels?.[LABEL_STATE] === 'ready').length;
      const status = s.pools.find((x) => x.metadata.name === p)?.status;
      return { p, ok: mine.length === o.poolSize && readyN === o.poolSize && status?.readyCount === o.poolSize, text: `${p}: ${mine.length} live, ${readyN} ready, status ready ${status?.readyCount}` };
    });
    const text = parts.map((x) => x.text).join('; ') + `; ${s.claims.length} claims left`;
    if (text !== detail) o.log(`converging: ${text}`);
    detail = text;
    return s.claims.length === 0 && parts.every((x) => x.ok);
  });
  const convergedSeconds = (Date.now() - lastFault) / 1000;
  await sleep(2000); // let the audit log flush
  watcher.stop();
  const leaked = (watcher.latest?.pods ?? [])
    .filter((p) => !p.metadata?.deletionTimestamp && (p.metadata?.labels?.[LABEL_STATE] === 'claimed' || p.metadata?.labels?.['warmpool.dev/claim'] !== undefined))
    .map((p) => p.metadata?.name ?? '');

  const claims: ClaimResult[] = result.claims;
  const byOutcome: Record<string, number> = {};
  for (const c of claims) byOutcome[c.outcome] = (byOutcome[c.outcome] ?? 0) + 1;
  const bindS = claims.flatMap((c) => (c.boundAfterMs === undefined ? [] : [c.boundAfterMs / 1000]));
  const recoverySecondsByKind: Record<string, number | null> = {};
  for (const f of faults) recoverySecondsByKind[f.kind] = Math.max(recoverySecondsByKind[f.kind] ?? 0, f.recoverySeconds ?? Number.POSITIVE_INFINITY);
  for (const k of Object.keys(recoverySecondsByKind)) if (recoverySecondsByKind[k] === Number.POSITIVE_INFINITY) recoverySecondsByKind[k] = null;
  const { log: _log, ...options } = o;
  const report: ChaosReport = {
    options,
    startedAt: new Date(t0).toISOString(),
    durationSeconds: Math.round((Date.now() - t0) / 1000),
    claims: {
      total: claims.length,
      byOutcome,
      lost: claims.filter((c) => c.outcome === 'lost').map((c) => ({ name: c.name, reason: c.reason })),
      failed: claims.filter((c) => c.outcome === 'failed').map((c) => ({ name: c.name, reason: c.reason })),
      stuck: claims.filter((c) => c.outcome.startsWith('stuck') || c.outcome === 'create-failed').map((c) => ({ name: c.name, outcome: c.outcome, phase: c.phase, reason: c.reason })),
      bindSecondsP50: quantile(bindS, 0.5),
      bindSecondsP99: quantile(bindS, 0.99),
    },
    faults,
    recoverySecondsByKind,
    violations: watcher.violations,
    leakedPods: leaked,
    converged: { ok: converged, seconds: Math.round(convergedSeconds * 10) / 10, detail },
    writesAfterLeaseLoss: cluster.auditLog ? writesAfterLeaseLoss(cluster.auditLog, replicas, watcher.leaseHistory) : [],
    replicaExits: replicas.flatMap((r) => r.exits),
    leaseChanges: watcher.leaseHistory,
    watcher: { ticks: watcher.ticks, failedTicks: watcher.failedTicks },
    continuousFaults: ['watches cut every 5-10 s (kube-apiserver --min-request-timeout=5)', 'etcd compacted every 10 s (--etcd-compaction-interval=10s), so resumed watches meet 410 Gone'],
  };
  if (o.reportFile) writeFileSync(o.reportFile, JSON.stringify(report, null, 2) + '\n');
  return report;
}

/** The report as a person reads it. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos run ${r.startedAt}: ${r.durationSeconds} s, ${r.claims.total} claims (${JSON.stringify(r.claims.byOutcome)}), bind p50 ${r.claims.bindSecondsP50 ?? '-'} s p99 ${r.claims.bindSecondsP99 ?? '-'} s`,
    'fault                recovery s  peak req/s during  after   429s  detail',
    ...r.faults.map(
      (f) =>
        `${f.kind.padEnd(20)} ${String(f.recoverySeconds ?? 'never').padStart(10)}  ${String(f.peakOperatorRequestsPerSecond).padStart(17)}  ${String(f.peakOperatorRequestsPerSecondRecovering).padStart(5)}  ${String(f.rejected429 ?? '-').padStart(5)}  ${f.detail}${f.error ? ` ERROR ${f.error}` : ''}`,
    ),
    `claims lost: ${r.claims.lost.length} (${[...new Set(r.claims.lost.map((c) => c.reason))].join(', ') || '-'}); failed: ${r.claims.failed.length}; stuck: ${r.claims.stuck.length}`,
    `invariant violations: ${r.violations.length}${r.violations.map((v) => `\n  ${v.kind}: ${v.detail}`).join('')}`,
    `leaked pods: ${r.leakedPods.length}; converged: ${r.converged.ok} after ${r.converged.seconds} s (${r.converged.detail})`,
    `writes after Lease loss: ${r.writesAfterLeaseLoss.length}; replica exits: ${r.replicaExits.map((e) => `${e.replica}:${e.code ?? e.signal}`).join(' ') || '-'}`,
  ];
  return lines.join('\n');
}
