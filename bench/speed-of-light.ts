// The speed-of-light allocator of `make bench-peers`: the least a claim needs from the cluster, to measure what the
// cluster itself allows. Per PoolClaim it makes one guarded patch of a ready member pod (resourceVersion
// precondition) and one write of the claim's status, as soon as the claim's watch event arrives: no planning, no
// work queue, no refill, no Events. Run as its own process under its own identity (bench/peers.ts starts it), so
// its CPU, memory and writes are counted the way the operators' are:
//   node dist/bench/speed-of-light.js <namespace>     (KUBECONFIG names the identity)
// It watches PoolClaims of that namespace (the operator is not running meanwhile) and pods labelled
// bench.warmpool.dev/light-pool=<pool>, where the pool is the claim's spec.poolName.
import { fileURLToPath } from 'node:url';
import { KubeConfig, makeInformer, type KubernetesListObject, type V1Pod } from '@kubernetes/client-node';
import type { PoolClaim } from '../operator/api/types.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { customClient, podClient } from '../operator/kube/patch.js';
import { clampDelayMs } from '../operator/kube/timers.js';

export const LABEL_LIGHT_POOL = 'bench.warmpool.dev/light-pool';
export const LABEL_LIGHT_CLAIM = 'bench.warmpool.dev/claim';

const isReady = (p: V1Pod): boolean =>
  p.metadata?.deletionTimestamp === undefined &&
  p.metadata?.labels?.[LABEL_LIGHT_CLAIM] === undefined &&
  (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const errorCode = (e: unknown): number | undefined => (e as { code?: number }).code;

async function main(namespace: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const { core, custom } = makeInstrumentedClients(kc, () => undefined, { userAgent: 'warmpool-bench-light' });
  const pods = podClient(core);
  const claims = customClient<PoolClaim>(custom, { group: 'warmpool.dev', version: 'v1alpha1', plural: 'poolclaims' });

  // Free members by pool: name -> the pod as last seen (its resourceVersion is the patch's precondition).
  const free = new Map<string, Map<string, V1Pod>>();
  const taken = new Set<string>();
  const inFlight = new Set<string>();
  const waiting = new Map<string, PoolClaim>();

  const podInformer = makeInformer<V1Pod>(
    kc,
    `/api/v1/namespaces/${namespace}/pods`,
    () => core.listNamespacedPod({ namespace, labelSelector: LABEL_LIGHT_POOL }),
    LABEL_LIGHT_POOL,
  );
  const seePod = (p: V1Pod): void => {
    const pool = p.metadata?.labels?.[LABEL_LIGHT_POOL] ?? '';
    const name = p.metadata?.name ?? '';
    let members = free.get(pool);
    if (members === undefined) free.set(pool, (members = new Map<string, V1Pod>()));
    if (isReady(p) && !taken.has(name)) members.set(name, p);
    else members.delete(name);
    if (isReady(p)) for (const c of waiting.values()) if (c.spec.poolName === pool) void bind(c);
  };
  podInformer.on('add', seePod);
  podInformer.on('update', seePod);
  podInformer.on('delete', (p) => free.get(p.metadata?.labels?.[LABEL_LIGHT_POOL] ?? '')?.delete(p.metadata?.name ?? ''));

  async function bind(claim: PoolClaim): Promise<void> {
    const name = claim.metadata.name ?? '';
    if (inFlight.has(name) || claim.status?.phase === 'Bound') return;
    inFlight.add(name);
    waiting.delete(name);
    try {
      for (;;) {
        const members = free.get(claim.spec.poolName);
        const pod = members?.values().next().value;
        if (members === undefined || pod === undefined) {
          waiting.set(name, claim); // bound when a member turns ready (seePod)
          return;
        }
        const podName = pod.metadata?.name ?? '';
        members.delete(podName);
        taken.add(podName);
        try {
          const bound = await pods.mergePatch(
            { namespace, name: podName },
            { metadata: { labels: { [LABEL_LIGHT_CLAIM]: name } } },
            pod.metadata?.resourceVersion,
          );
          await claims.mergePatchStatus(
            { namespace, name },
            {
              phase: 'Bound',
              member: { name: podName, uid: bound.metadata?.uid ?? '', podIP: bound.status?.podIP, nodeName: bound.spec?.nodeName },
              boundAt: new Date().toISOString(),
            },
          );
          return;
        } catch (e) {
          taken.delete(podName);
          // 409: the pod changed since we saw it; the informer brings the new version. Anything else: try again
          // shortly (the benchmark reports a claim that never binds as a timeout).
          if (errorCode(e) !== 409) {
            console.error(`speed-of-light: binding ${name} to ${podName}: ${String(e)}`);
            await new Promise((r) => setTimeout(r, clampDelayMs(200)));
          }
        }
      }
    } finally {
      inFlight.delete(name);
    }
  }

  const claimInformer = makeInformer<PoolClaim>(
    kc,
    `/apis/warmpool.dev/v1alpha1/namespaces/${namespace}/poolclaims`,
    () => custom.listNamespacedCustomObject({ group: 'warmpool.dev', version: 'v1alpha1', namespace, plural: 'poolclaims' }) as Promise<KubernetesListObject<PoolClaim>>,
  );
  claimInformer.on('add', (c) => void bind(c));
  claimInformer.on('update', (c) => void bind(c));
  for (const inf of [podInformer, claimInformer]) {
    inf.on('error', (e: unknown) => {
      console.error(`speed-of-light: watch error ${String(e)}; restarting`);
      setTimeout(() => void inf.start(), clampDelayMs(500));
    });
  }
  await podInformer.start();
  await claimInformer.start();
  console.error('speed-of-light: watching');
  const stop = (): void => {
    void podInformer.stop();
    void claimInformer.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const namespace = process.argv[2];
  if (namespace === undefined || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    console.error('usage: node dist/bench/speed-of-light.js <namespace>');
    process.exit(2);
  }
  await main(namespace);
}
