// What the operator reads of a member pod, and the pod cache's trim to it. At 10,000 members (make bench-scale) the
// cached pods were most of the operator's heap, and most of each pod was spec the operator never reads: the
// service-account volume and its mount, tolerations, the defaulted scheduling fields, container and image IDs. Every
// full garbage collection marked all of it, and every change of a pod promoted a new copy of it.
// The type is the contract: code handed a cached pod can read only these fields, so the compiler finds a reader of
// anything the trim drops. Any V1Pod is also a CachedPod, so a pod built or returned by the API fits as well.
import { isRecord } from '../api/conform.js';
import type { V1Container, V1ContainerStateWaiting, V1ContainerStatus, V1ObjectMeta, V1PodCondition } from '@kubernetes/client-node';

/** A container as the utilization figures read it: its name and its requests and limits (the denominators). */
export type CachedContainer = Pick<V1Container, 'name' | 'resources' | 'restartPolicy'>;

/** A container's status as the member's health reads it: restarts, and CrashLoopBackOff while waiting. */
export type CachedContainerStatus = Pick<V1ContainerStatus, 'name' | 'ready' | 'restartCount'> & {
  state?: { waiting?: V1ContainerStateWaiting };
};

export interface CachedPod {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    nodeName?: string;
    containers?: CachedContainer[];
    initContainers?: CachedContainer[];
  };
  status?: {
    phase?: string;
    reason?: string;
    podIP?: string;
    conditions?: V1PodCondition[];
    containerStatuses?: CachedContainerStatus[];
    initContainerStatuses?: CachedContainerStatus[];
  };
}

// The API server validated the pod; the guards only keep one malformed entry from throwing inside the informer.
const records = <T>(list: T[]): T[] => list.filter((item) => isRecord(item));

const containerOf = (c: CachedContainer): CachedContainer => {
  const out: CachedContainer = { name: c.name };
  if (c.resources !== undefined) out.resources = c.resources;
  if (c.restartPolicy !== undefined) out.restartPolicy = c.restartPolicy;
  return out;
};

const statusOf = (c: CachedContainerStatus): CachedContainerStatus => {
  const out: CachedContainerStatus = { name: c.name, ready: c.ready, restartCount: c.restartCount };
  if (c.state?.waiting !== undefined) out.state = { waiting: c.state.waiting };
  return out;
};

/**
 * Trims a pod the informer caches to a CachedPod, in place (the informer's cache holds this very object): spec and
 * status are replaced by new objects with only the fields above, so no object is left in V8's slow dictionary mode
 * by deletes. Metadata is kept whole (the informer already drops managedFields). Idempotent.
 */
export function trimPod(pod: CachedPod): void {
  const spec = pod.spec;
  if (isRecord(spec)) {
    const out: NonNullable<CachedPod['spec']> = {};
    if (spec.nodeName !== undefined) out.nodeName = spec.nodeName;
    if (Array.isArray(spec.containers)) out.containers = records(spec.containers).map(containerOf);
    if (Array.isArray(spec.initContainers)) out.initContainers = records(spec.initContainers).map(containerOf);
    pod.spec = out;
  }
  const status = pod.status;
  if (isRecord(status)) {
    const out: NonNullable<CachedPod['status']> = {};
    if (status.phase !== undefined) out.phase = status.phase;
    if (status.reason !== undefined) out.reason = status.reason;
    if (status.podIP !== undefined) out.podIP = status.podIP;
    if (Array.isArray(status.conditions)) out.conditions = status.conditions;
    if (Array.isArray(status.containerStatuses)) out.containerStatuses = records(status.containerStatuses).map(statusOf);
    if (Array.isArray(status.initContainerStatuses)) out.initContainerStatuses = records(status.initContainerStatuses).map(statusOf);
    pod.status = out;
  }
}
