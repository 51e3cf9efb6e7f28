// Operator replicas as the kubelet would run them: `bin/warmpool operator` as a process under a restart loop
// (restartPolicy Always, back-off 1 s doubling to 10 s, reset once a run lasted 30 s), each replica with its own
// client certificate user so the audit log tells its writes apart, and its own metrics port, kept across restarts
// so its request counters can be sampled through an outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';

export interface ReplicaExit {
  replica: string;
  at: number;
  code: number | null;
  signal: string | null;
}

export interface Replica {
  readonly name: string;
  /** The audit user of this replica (its client certificate's CN). */
  readonly user: string;
  readonly metricsPort: number;
  /** The running process's pid, if one runs now. */
  pid(): number | undefined;
  /** Resolves once a process of this replica has said it is up (after start or a restart). */
  started(timeoutMs: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  exits: ReplicaExit[];
  output(): string;
  /** Stops the loop and the process (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  name: string;
  user: string;
  kubeconfig: string;
  metricsPort: number;
  namespace: string;
  leaseId: string;
  log?: (line: string) => void;
  /** Every line the replica writes, across restarts, is appended here too (for a post-mortem of a long run). */
  logFile?: string;
}

const MAX_OUTPUT = 200_000;

export function superviseReplica(o: ReplicaOptions): Replica {
  let child: ChildProcess | undefined;
  let stopping = false;
  let out = '';
  let upAt = 0;
  const exits: ReplicaExit[] = [];
  const waiters: (() => void)[] = [];
  let backoffMs = 1000;
  let restartTimer: NodeJS.Timeout | undefined;

  const append = (b: Buffer): void => {
    out += b.toString();
    if (o.logFile !== undefined) appendFileSync(o.logFile, b);
    if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT / 2);
    if (/caches synced|operator started/.test(b.toString())) {
      upAt = Date.now();
      waiters.splice(0).forEach((w) => w());
    }
  };

  const launch = (): void => {
    const startedAt = Date.now();
    const c = spawn(
      join(repoRoot(), 'bin', 'warmpool'),
      [
        'operator',
        '--namespaces', o.namespace,
        '--metrics-bind-address', `127.0.0.1:${o.metricsPort}`,
        '--health-probe-bind-address', '127.0.0.1:0',
        '--leader-elect',
        '--leader-election-namespace', o.namespace,
        '--leader-election-id', o.leaseId,
        '--identity', o.name,
      ],
      { env: { ...process.env, KUBECONFIG: o.kubeconfig, WARMPOOL_LOG: process.env.WARMPOOL_LOG ?? 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    c.on('exit', (code, signal) => {
      exits.push({ replica: o.name, at: Date.now(), code, signal });
      o.log?.(`replica ${o.name} exited ${code ?? signal ?? '?'}`);
      if (child === c) child = undefined;
      if (stopping) return;
      if (Date.now() - startedAt > 30_000) backoffMs = 1000;
      const wait = backoffMs;
      backoffMs = Math.min(backoffMs * 2, 10_000);
      restartTimer = setTimeout(launch, wait);
    });
  };
  launch();

  return {
    name: o.name,
    user: o.user,
    metricsPort: o.metricsPort,
    exits,
    pid: () => child?.pid,
    output: () => out,
    started: (timeoutMs) => {
      return new Promise((resolve, reject) => {
        const lastExit = exits.at(-1)?.at ?? 0;
        if (child !== undefined && upAt > lastExit) return resolve();
        const t = setTimeout(() => reject(new Error(`replica ${o.name} not up in ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    signal: (sig) => {
      if (child?.pid !== undefined) process.kill(child.pid, sig);
    },
    stop: async () => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGCONT');
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** Sum of warmpool_api_requests_total over every verb and code, from a replica's /metrics; undefined when down. */
export async function apiRequestsTotal(port: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('warmpool_api_requests_total{')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) sum += v;
    }
    return sum;
  } catch {
    return undefined;
  }
}
