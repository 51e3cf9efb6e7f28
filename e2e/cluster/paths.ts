// Where the harness finds the repository, the tools cache and its own work directory. Nothing here lives in
// ~/.kube or ~/.kwok: every cluster gets a work directory under the project's cache.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.js';

/** The repository root: the nearest parent holding warmpool's package.json (works from source and from dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'warmpool') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the warmpool repository root');
    dir = up;
  }
}

export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return process.env.WARMPOOL_CACHE_DIR ?? join(xdg && xdg !== '' ? xdg : join(homedir(), '.cache'), 'warmpool');
}

/** kwokctl's work directory for our clusters (KWOK_WORKDIR). */
export function kwokWorkdir(): string {
  return join(cacheRoot(), 'kwok');
}

export interface ToolPaths {
  dir: string;
  bin(name: ToolName): string;
  metricsServerManifests: string;
  kwokNodeStages: string;
  kwokMetricsResource: string;
}

export type ToolName =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'etcd'
  | 'kwok'
  | 'kwokctl'
  | 'metrics-server'
  | 'helm'
  | 'helm3';

function toolPathsAt(dir: string): ToolPaths {
  return {
    dir,
    bin: (name) => join(dir, 'bin', name),
    metricsServerManifests: join(dir, 'share', 'metrics-server', 'base'),
    kwokNodeStages: join(dir, 'share', 'kwok', 'node-stages'),
    kwokMetricsResource: join(dir, 'share', 'kwok', 'metrics-resource', 'metrics-resource.yaml'),
  };
}

/**
 * The built tools, building them first when the cache is cold (hack/tools/build.sh prints a progress line per
 * component to stderr, which we pass through so a first run is never a silent quarter of an hour).
 */
export async function ensureTools(): Promise<ToolPaths> {
  const script = join(repoRoot(), 'hack', 'tools', 'build.sh');
  const printed = await run('bash', [script, '--print-dir']);
  const dir = printed.stdout.trim();
  if (existsSync(join(dir, '.complete'))) return toolPathsAt(dir);
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
  });
  return toolPathsAt(dir);
}
