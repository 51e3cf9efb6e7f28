// Manifests and reads for pool and claim tests, through kubectl as a user would.
import type { InstancePool, PoolClaim } from '../../operator/api/types.js';
import { eventually, kubectl } from './kube.js';

export interface PodJson {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

export interface PoolOptions {
  targetSize: number;
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
  podSpec?: Record<string, unknown>;
}

export function poolManifest(ns: string, name: string, o: PoolOptions): string {
  return JSON.stringify({
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name, namespace: ns },
    spec: {
      targetSize: o.targetSize,
      template: {
        metadata: { labels: { app: name }, annotations: { 'sim.warmpool.dev/ready-after': '1s', ...o.annotations } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
          ...o.podSpec,
        },
      },
      ...o.spec,
    },
  });
}

export function claimManifest(ns: string, name: string, pool: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'PoolClaim',
    metadata: { name, namespace: ns },
    spec: { poolName: pool, ...spec },
  });
}

export async function getPool(ns: string, name: string): Promise<InstancePool> {
  return JSON.parse(await kubectl(['-n', ns, 'get', 'instancepool', name, '-o', 'json'])) as InstancePool;
}

export async function getClaim(ns: string, name: string): Promise<PoolClaim> {
  return JSON.parse(await kubectl(['-n', ns, 'get', 'poolclaim', name, '-o', 'json'])) as PoolClaim;
}

export async function listClaims(ns: string): Promise<PoolClaim[]> {
  return (JSON.parse(await kubectl(['-n', ns, 'get', 'poolclaims', '-o', 'json'])) as { items: PoolClaim[] }).items;
}

export async function members(ns: string, pool: string): Promise<PodJson[]> {
  const out = await kubectl(['-n', ns, 'get', 'pods', '-l', `warmpool.dev/pool=${pool}`, '-o', 'json']);
  return (JSON.parse(out) as { items: PodJson[] }).items;
}

export const isReady = (p: PodJson): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Waits until the pool's status satisfies pred; returns that pool. */
export function poolWhere(
  ns: string,
  name: string,
  what: string,
  pred: (p: InstancePool) => boolean,
  timeoutMs = 30_000,
): Promise<InstancePool> {
  return eventually(`pool ${name}: ${what}`, async () => {
    const p = await getPool(ns, name);
    return pred(p) ? p : undefined;
  }, timeoutMs);
}

export function claimWhere(
  ns: string,
  name: string,
  what: string,
  pred: (c: PoolClaim) => boolean,
  timeoutMs = 30_000,
): Promise<PoolClaim> {
  return eventually(`claim ${name}: ${what}`, async () => {
    const c = await getClaim(ns, name);
    return pred(c) ? c : undefined;
  }, timeoutMs);
}

export const condition = (obj: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }, type: string) =>
  obj.status?.conditions?.find((c) => c.type === type);
