// What every cluster test file uses: the tools, kubectl/helm as a person runs them, and a namespace of its own.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run, runRaw, type RunResult } from '../../e2e/cluster/exec.js';
import { repoRoot } from '../../e2e/cluster/paths.js';

export function toolsDir(): string {
  const dir = process.env.WARMPOOL_TOOLS_DIR;
  if (!dir) throw new Error('WARMPOOL_TOOLS_DIR is not set: run the cluster tests through jest (global setup)');
  return dir;
}

export function kubeconfig(): string {
  const k = process.env.KUBECONFIG;
  if (!k) throw new Error('KUBECONFIG is not set');
  return k;
}

export const bin = (name: string): string => join(toolsDir(), 'bin', name);

/** kubectl against the test cluster; throws with kubectl's stderr on failure. */
export async function kubectl(args: readonly string[], input?: string): Promise<string> {
  return (await run(bin('kubectl'), args, { input, timeoutMs: 120_000, env: { ...process.env, KUBECONFIG: kubeconfig() } }))
    .stdout;
}

/** kubectl that resolves with the exit code and output instead of throwing (for expected failures). */
export function kubectlRaw(args: readonly string[], input?: string): Promise<RunResult> {
  return runRaw(bin('kubectl'), args, { input, timeoutMs: 120_000, env: { ...process.env, KUBECONFIG: kubeconfig() } });
}

export async function helm(which: 'helm' | 'helm3', args: readonly string[]): Promise<string> {
  const home = join(toolsDir(), '..', `helm-home-${process.pid}`);
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig(),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return (await run(bin(which), args, { env, timeoutMs: 180_000 })).stdout;
}

/** Creates a namespace for one test file; the returned function deletes it (without waiting). */
export async function useNamespace(prefix: string): Promise<{ ns: string; cleanup: () => Promise<void> }> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', ns]);
  return { ns, cleanup: async () => void (await kubectlRaw(['delete', 'namespace', ns, '--wait=false'])) };
}

/** Polls fn until it returns a value other than undefined, or fails after the deadline with the last error. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Installs (or updates) the CRDs and waits until the API serves them; idempotent, so every file may call it. */
export async function installCrds(): Promise<void> {
  await kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
}
