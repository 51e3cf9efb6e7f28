// Runs the operator for a test: in-process (fast, for most tests) or as a child process of bin/warmpool (for tests
// that kill it, run two replicas, or need it under its own identity). Each test file scopes its operator to its own
// namespace, so files run in parallel without their operators touching each other's objects.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../e2e/cluster/paths.js';
import { kubeconfig } from './kube.js';

export interface RunningOperator {
  stop(): Promise<void>;
  metricsUrl: string;
}

export async function startOperatorInProcess(namespace: string, extra: Record<string, unknown> = {}): Promise<RunningOperator> {
  const { startOperator } = await import('../../operator/manager.js');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  const op = await startOperator({
    kubeConfig: kc,
    namespaces: [namespace],
    metricsBindAddress: '127.0.0.1:0',
    healthProbeBindAddress: '127.0.0.1:0',
    leaderElect: false,
    ...extra,
  });
  return { stop: () => op.stop(), metricsUrl: `http://127.0.0.1:${op.metricsPort}/metrics` };
}

export interface OperatorProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `bin/warmpool operator` with the given flags and kubeconfig; resolves once it reports ready. */
export async function spawnOperator(
  args: readonly string[],
  kubeconfigPath = kubeconfig(),
  env: NodeJS.ProcessEnv = {},
): Promise<OperatorProcess> {
  const child = spawn(join(repoRoot(), 'bin', 'warmpool'), ['operator', ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath, WARMPOOL_LOG: process.env.WARMPOOL_LOG ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`operator did not start in 30 s:\n${out}`)), 30_000);
    const check = (): void => {
      if (/caches synced|operator started/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      reject(new Error(`operator exited ${code ?? signal ?? '?'}:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
