// The chart's server-side write fence (templates/leader-fence.yaml), rendered from the chart itself for harnesses
// that run the operator's replicas as processes: each replica there is a user whose --identity is its username.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from './cluster.js';
import { run } from './exec.js';
import { repoRoot } from './paths.js';

export interface ServerFence {
  /** Removes the policy and its binding (cluster-scoped: they outlive a namespace). */
  remove(): Promise<void>;
}

/** Installs the fence for Lease `lease` in `namespace`, fencing `usernames`; resolves once the API server has it. */
export async function installServerFence(
  cluster: Cluster,
  o: { namespace: string; lease: string; usernames: readonly string[] },
): Promise<ServerFence> {
  const home = mkdtempSync(join(tmpdir(), 'warmpool-helm-'));
  let manifest: string;
  try {
    const env = { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
    const args = [
      'template', 'fence', join(repoRoot(), 'charts', 'warmpool'), '-n', o.namespace, '--show-only', 'templates/leader-fence.yaml',
      '--set-string', `leaderElection.leaseName=${o.lease}`,
      '--set', `leaderElection.serverFence.extraUsernames={${o.usernames.join(',')}}`,
    ];
    manifest = (await run(cluster.tools.bin('helm'), args, { env, timeoutMs: 60_000 })).stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  await cluster.kubectl(['apply', '-f', '-'], manifest);
  return { remove: async () => void (await cluster.kubectl(['delete', '--ignore-not-found', '-f', '-'], manifest)) };
}
