// Fault injectors: each one does a real thing to a real component of the chaos cluster (a process killed,
// paused or restarted, a pod evicted, a node gone) and returns when the fault is over from the injector's side
// (the component is back or the object is gone). Recovery is measured by the caller, not here.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import { alive, componentPids, waitGone, type Cluster } from '../cluster/cluster.js';
import { nodeManifest, podOctetFor } from '../cluster/nodes.js';

export type ControlPlaneComponent = 'kube-apiserver' | 'etcd';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs a control-plane component, keeps it down for downMs, then starts it again with the same command line
 * and working directory (read from /proc before the kill), detached as kwokctl starts it, and records the new pid
 * in the cluster's pid file so `kwokctl delete cluster` still stops it. etcd keeps its data directory. Returns once
 * the API server is ready again, with the seconds that took after the start.
 */
export async function restartComponent(cluster: Cluster, component: ControlPlaneComponent, downMs: number): Promise<number> {
  const pid = componentPids(cluster.dir).get(component);
  if (pid === undefined || !alive(pid)) throw new Error(`${component}: no running process in ${cluster.dir}/pids`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error(`${component}: empty command line for pid ${pid}`);
  process.kill(pid, 'SIGKILL');
  if ((await waitGone([pid], 10_000)).length > 0) throw new Error(`process ${pid} still alive 10000 ms after SIGKILL`);
  // Hold the component's listening ports while it is down: other clusters on the machine pick free ports as they
  // start (kwokctl counts down from 32767), and one took a dead API server's port within 12 s, so it never came back.
  // A held port resets every connection, which clients see as the server being down.
  const held = await holdPorts(listenPorts(args));
  await sleep(downMs);
  await Promise.all(held.map((h) => new Promise<void>((r) => h.close(() => r()))));
  const logPath = join(cluster.dir, 'logs', `${component}.log`);
  const t0 = Date.now();
  // A start can fail (seen once in CI with other clusters starting on the machine: the API server never came
  // back); the component's own log says why, and a second start usually works.
  for (let attempt = 1; ; attempt++) {
    const logFd = openSync(logPath, 'a');
    let exited: string | undefined;
    try {
      const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', logFd, logFd] });
      if (child.pid === undefined) throw new Error(`${component}: spawn failed`);
      child.on('exit', (code, signal) => (exited = `exited ${code ?? signal ?? '?'}`));
      child.unref();
      writeFileSync(join(cluster.dir, 'pids', `${component}.pid`), String(child.pid));
    } finally {
      closeSync(logFd);
    }
    const ready = await apiReady(cluster, 60_000, () => exited !== undefined).catch((e: unknown) => e);
    if (typeof ready === 'number') return (Date.now() - t0) / 1000;
    const why = `${component} ${exited ?? 'running'} after start ${attempt}: ${ready instanceof Error ? ready.message : String(ready)}; its log ends:\n${tail(logPath, 15)}`;
    if (attempt >= 3) throw new Error(why);
    process.stderr.write(`[chaos] ${why}\n`);
    if (exited === undefined) {
      const stale = componentPids(cluster.dir).get(component);
      if (stale !== undefined && alive(stale)) process.kill(stale, 'SIGKILL');
      await waitGone(stale === undefined ? [] : [stale], 10_000);
    }
    await sleep(2000);
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Waits until the API server says it is ready (/readyz, which checks etcd too); returns the seconds it took. A
 * restarted kube-apiserver needs several seconds to start, and more on a busy machine: the operator's recovery is
 * counted from here, not from the spawn.
 */
export async function apiReady(cluster: Cluster, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs && !gaveUp()) {
    const ok = await cluster.kubectl(['get', '--raw', '/readyz', '--request-timeout=2s']).then(
      (out) => out.trim() === 'ok',
      () => false,
    );
    if (ok) return (Date.now() - t0) / 1000;
    await sleep(200);
  }
  throw new Error(`API server not ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the start`);
}

/** Loopback ports a component listens on, from its flags (--secure-port, --listen-*-urls); others are dialled. */
export function listenPorts(args: readonly string[]): number[] {
  const ports = new Set<number>();
  for (const a of args) {
    const m = /^--(secure-port|listen-[a-z-]+)=(.*)$/.exec(a);
    if (m === null) continue;
    const value = m[2] ?? '';
    if (/^\d+$/.test(value)) ports.add(Number(value));
    for (const u of value.matchAll(/127\.0\.0\.1:(\d+)/g)) ports.add(Number(u[1]));
  }
  return [...ports].filter((p) => p > 0 && p < 65536);
}

async function holdPorts(ports: readonly number[]): Promise<Server[]> {
  const held: Server[] = [];
  for (const port of ports) {
    const server = createServer((sock) => sock.destroy());
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) held.push(server);
  }
  return held;
}

/** Deletes a member pod at once (grace 0), as a person or a node problem would. */
export async function deletePod(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
}

/** Evicts a pod through the Eviction API (what kubectl drain and the descheduler do). */
export async function evictPod(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  await core.createNamespacedPodEviction({
    namespace,
    name,
    body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
  });
}

/** Turns a running pod NotReady (its Ready condition False), as a failing readiness probe would. */
export async function podNotReady(cluster: Cluster, namespace: string, name: string): Promise<void> {
  const now = new Date().toISOString();
  const patch = {
    status: {
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ChaosNotReady', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'False', reason: 'ChaosNotReady', lastTransitionTime: now },
      ],
    },
  };
  await cluster.kubectl(['-n', namespace, 'patch', 'pod', name, '--subresource=status', '--type=strategic', '-p', JSON.stringify(patch)]);
}

/**
 * A node going NotReady with its pods: the node's Ready condition and every pod on it turn False (what the node
 * lifecycle controller and a dying kubelet show). kwok's heartbeat makes the node Ready again a few seconds later;
 * the pods stay NotReady, as pods of a rebooted node would until replaced.
 */
export async function nodeNotReady(cluster: Cluster, core: CoreV1Api, node: string, namespace: string): Promise<string[]> {
  const now = new Date().toISOString();
  const patch = { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ChaosNodeDown', lastHeartbeatTime: now, lastTransitionTime: now }] } };
  await cluster.kubectl(['patch', 'node', node, '--subresource=status', '--type=strategic', '-p', JSON.stringify(patch)]);
  const pods = await core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${node}` });
  const names = pods.items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '');
  for (const n of names) await podNotReady(cluster, namespace, n).catch(() => undefined);
  return names;
}

/**
 * A node deleted (kwok's other node trouble): the pod garbage collector then deletes the pods bound to it. A fresh
 * node is added so the cluster keeps its capacity.
 */
export async function deleteNode(cluster: Cluster, node: string, replacementIndex: number): Promise<string> {
  await cluster.kubectl(['delete', 'node', node, '--wait=true', '--timeout=60s']);
  // Not cluster.addNodes: it numbers after the node count, which a deleted node makes collide with a live one.
  const manifest = nodeManifest(replacementIndex, podOctetFor(cluster.name), { cpu: '32', memory: '256Gi', pods: 250 });
  const name = (manifest.metadata as { name: string }).name;
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
  await cluster.kubectl(['wait', '--for=condition=Ready', '--timeout=60s', `node/${name}`]);
  return name;
}

/**
 * API Priority and Fairness throttling the operator: a FlowSchema sends the given users' requests (every resource
 * except Leases, which real clusters give a leader-election level) to a priority level of one seat that rejects what
 * does not fit, so the operator gets 429 + Retry-After for holdMs. Shares are relative, so one share of the default
 * ~245 still gets 3 seats; a ballast level that lends all its seats brings ours down to one. Needs a cluster with
 * APF on and users outside system:masters (which APF exempts). Returns the priority level's line from the
 * apiserver's dump, as evidence that it was in effect.
 */
export async function throttleUsers(cluster: Cluster, name: string, users: readonly string[], holdMs: number): Promise<string> {
  const items = [
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'PriorityLevelConfiguration',
      metadata: { name: `${name}-ballast` },
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: 400, lendablePercent: 100, limitResponse: { type: 'Reject' } } },
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'PriorityLevelConfiguration',
      metadata: { name },
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: 1, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } } },
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'FlowSchema',
      metadata: { name },
      spec: {
        priorityLevelConfiguration: { name },
        matchingPrecedence: 200,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: users.map((u) => ({ kind: 'User', user: { name: u } })),
            resourceRules: [{ verbs: ['*'], apiGroups: ['', 'warmpool.dev', 'events.k8s.io', 'policy'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
          },
        ],
      },
    },
  ];
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  try {
    let level: string | undefined;
    const deadline = Date.now() + 30_000;
    while (level === undefined && Date.now() < deadline) {
      const dump = await cluster.kubectl(['get', '--raw', '/debug/api_priority_and_fairness/dump_priority_levels']).catch(() => '');
      level = dump.split('\n').find((l) => l.startsWith(`${name},`));
      if (level === undefined) await sleep(250);
    }
    if (level === undefined) throw new Error(`priority level ${name} not in effect after 30 s`);
    await sleep(holdMs);
    return level.replace(/\s+/g, ' ').trim();
  } finally {
    await cluster.kubectl(['delete', 'flowschema', name, '--ignore-not-found']);
    await cluster.kubectl(['delete', 'prioritylevelconfiguration', name, `${name}-ballast`, '--ignore-not-found']);
  }
}
