// The speed-of-light allocator (bench/speed-of-light.ts) as a benchmark starts it, and the plain pods it hands out:
// shared by make bench-peers (the limit beside the peers) and make bench-scale (the limit at that size).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../e2e/cluster/paths.js';
import { LABEL_LIGHT_POOL } from './speed-of-light.js';

/** The identity it runs as: its writes are counted apart from the operator's. */
export const LIGHT_USER = 'speed-of-light';

/**
 * Starts it on one namespace's PoolClaims, under the identity kubeconfig names, its stdout into the log file
 * descriptor (closed here); resolves once both of its informers have listed.
 */
export async function startSpeedOfLight(kubeconfig: string, namespace: string, log: number): Promise<ChildProcess> {
  // The V8 flags bin/warmpool gives the operator, so the two heaps are kept alike.
  const v8 = ['--max-semi-space-size=4', '--optimize-for-size', '--no-flush-bytecode'];
  const p = spawn(process.execPath, [...v8, join(repoRoot(), 'dist', 'bench', 'speed-of-light.js'), namespace], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', log, 'pipe'],
  });
  closeSync(log);
  // It says "watching" on stderr once both of its informers have listed.
  await new Promise<void>((resolve, reject) => {
    let said = '';
    p.stderr?.on('data', (b: Buffer) => {
      said += b.toString();
      if (said.includes('watching')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`speed-of-light exited ${code}: ${said.slice(0, 2000)}`)));
  });
  p.stderr?.resume();
  return p;
}

/** Plain pods it can hand out, each a member of its pool (Ready 1 s after creation, as the operators' are): a v1 List. */
export function lightPods(namespace: string, members: ReadonlyArray<{ name: string; pool: string }>): { apiVersion: 'v1'; kind: 'List'; items: object[] } {
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: members.map(({ name, pool }) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { [LABEL_LIGHT_POOL]: pool }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
      spec: { containers: [{ name: 'main', image: 'example.invalid/runner:1' }] },
    })),
  };
}
