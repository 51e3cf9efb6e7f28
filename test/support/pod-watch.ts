// Pod creations and counts as the API server sees them, for tests whose claim is "the operator made at most N pods":
// Events are de-duplicated by the recorder and cannot count creates, and kubectl polls can miss a pod created and
// deleted between two looks. A watch from a list's resourceVersion sees every creation after it.
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { kubeconfig } from './kube.js';

function client(): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

export interface PodWatch {
  /** Pods created since the watch started. */
  created(): number;
  /** Most pods that existed at once since the watch started (terminating ones included). */
  most(): number;
  /** Pods that exist now (terminating ones included). */
  current(): number;
  stop(): void;
}

/** Watches the pods matching labelSelector in ns, from now on. */
export async function watchPods(ns: string, labelSelector: string): Promise<PodWatch> {
  const { kc, core } = client();
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector });
  const live = new Set(list.items.map((p) => p.metadata?.uid ?? ''));
  let created = 0;
  let most = live.size;
  let failed: unknown;
  const abort = await new Watch(kc).watch(
    `/api/v1/namespaces/${ns}/pods`,
    { labelSelector, resourceVersion: list.metadata?.resourceVersion },
    (type: string, pod: V1Pod) => {
      const uid = pod.metadata?.uid ?? '';
      if (type === 'ADDED' && !live.has(uid)) {
        created++;
        live.add(uid);
        most = Math.max(most, live.size);
      } else if (type === 'DELETED') {
        live.delete(uid);
      }
    },
    (err: unknown) => {
      if (err) failed = err;
    },
  );
  const check = (): void => {
    if (failed) throw new Error(`pod watch failed: ${failed instanceof Error ? failed.message : JSON.stringify(failed)}`);
  };
  return {
    created: () => (check(), created),
    most: () => (check(), most),
    current: () => (check(), live.size),
    stop: () => abort.abort(),
  };
}

/** How many pods match labelSelector in ns (terminating ones included). */
export async function countPods(ns: string, labelSelector: string): Promise<number> {
  // One full list: remainingItemCount would be cheaper, but the API server leaves it out when a selector is given.
  return (await client().core.listNamespacedPod({ namespace: ns, labelSelector })).items.length;
}
