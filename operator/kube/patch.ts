// Typed clients (pods, custom resources by ResourceType) and patch helpers that send the right content type. The generated patch methods default to JSON Patch
// (application/json-patch+json, the first type they list); every helper here sends a JSON merge patch instead, where
// an object is merged field by field and null deletes a field.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import type { ObjectKey } from './key.js';

/** A JSON merge patch body. */
export type MergePatch = object;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Puts resourceVersion into the patch's metadata: the apiserver then applies the patch only to that version and
 * answers 409 Conflict otherwise, which makes the patch a compare-and-swap.
 */
export function withResourceVersion(patch: MergePatch, resourceVersion: string | undefined): MergePatch {
  if (resourceVersion === undefined) return patch;
  const metadata = (patch as { metadata?: unknown }).metadata;
  const base = typeof metadata === 'object' && metadata !== null ? metadata : {};
  return { ...patch, metadata: { ...base, resourceVersion } };
}

/** Merge-patches a pod; with resourceVersion the patch fails with 409 if the pod has changed since. */
export function mergePatchPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  patch: MergePatch,
  resourceVersion?: string,
): Promise<V1Pod> {
  return core.patchNamespacedPod({ namespace, name, body: withResourceVersion(patch, resourceVersion) }, mergePatch);
}

/** Where a custom resource lives in the API: what the generated CustomObjectsApi wants spelled out at every call. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

/** A typed client of one namespaced custom resource: call sites name the object, never the group or plural. */
export interface CustomClient<T> {
  get(key: ObjectKey): Promise<T>;
  /** Merge-patches the object itself (metadata such as finalizers, labels, annotations; not its status). */
  mergePatch(key: ObjectKey, patch: MergePatch, resourceVersion?: string): Promise<T>;
  /** Merge-patches the status subresource: the body sent is `{ status: statusPatch }`. */
  mergePatchStatus(key: ObjectKey, statusPatch: MergePatch, resourceVersion?: string): Promise<T>;
  /**
   * Sets spec.replicas of the scale subresource (autoscaling/v1 Scale), as the HPA does; with resourceVersion the
   * patch fails with 409 if the object changed since.
   */
  mergePatchScale(key: ObjectKey, replicas: number, resourceVersion?: string): Promise<unknown>;
  /** JSON-patches the object itself: its `test` operations guard exactly the fields they name (422 otherwise). */
  jsonPatch(key: ObjectKey, ops: readonly JsonPatchOp[]): Promise<T>;
}

export function customClient<T>(custom: CustomObjectsApi, type: ResourceType): CustomClient<T> {
  return {
    get: async (key) => (await custom.getNamespacedCustomObject({ ...type, ...key })) as T,
    mergePatch: async (key, patch, resourceVersion) =>
      (await custom.patchNamespacedCustomObject(
        { ...type, ...key, body: withResourceVersion(patch, resourceVersion) },
        mergePatch,
      )) as T,
    mergePatchStatus: async (key, statusPatch, resourceVersion) =>
      (await custom.patchNamespacedCustomObjectStatus(
        { ...type, ...key, body: withResourceVersion({ status: statusPatch }, resourceVersion) },
        mergePatch,
      )) as T,
    mergePatchScale: (key, replicas, resourceVersion) =>
      custom.patchNamespacedCustomObjectScale({ ...type, ...key, body: withResourceVersion({ spec: { replicas } }, resourceVersion) }, mergePatch),
    jsonPatch: async (key, ops) => (await custom.patchNamespacedCustomObject({ ...type, ...key, body: ops }, jsonPatch)) as T,
  };
}

/** One operation of a JSON Patch (RFC 6902). */
export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** Escapes a key for a JSON Pointer path (RFC 6901): warmpool.dev/state -> warmpool.dev~1state. */
export const pointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * JSON-patches a pod. Its `test` operations are checked by the apiserver against the pod as it is when the patch
 * applies, so they are a precondition on exactly the fields that matter, unlike resourceVersion, which any status
 * update (a kubelet's, kwok's) moves. A failed test answers 422.
 */
export function jsonPatchPod(core: CoreV1Api, namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<V1Pod> {
  return core.patchNamespacedPod({ namespace, name, body: ops }, jsonPatch);
}

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * Removes one finalizer, guarded by the whole list as it was read: a finalizer someone added or removed since fails
 * the test (422) instead of being overwritten, and a status write in between does not matter.
 */
export function removeFinalizerOps(finalizers: readonly string[], finalizer: string): JsonPatchOp[] {
  return [
    { op: 'test', path: '/metadata/finalizers', value: finalizers },
    { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== finalizer) },
  ];
}

/** A typed client of member pods: read, merge- or JSON-patch, delete with preconditions. */
export interface PodClient {
  get(key: ObjectKey): Promise<V1Pod>;
  create(namespace: string, pod: V1Pod): Promise<V1Pod>;
  mergePatch(key: ObjectKey, patch: MergePatch, resourceVersion?: string): Promise<V1Pod>;
  jsonPatch(key: ObjectKey, ops: readonly JsonPatchOp[]): Promise<V1Pod>;
  /** Deletes only the pod with this uid at this resourceVersion (409 otherwise). */
  delete(key: ObjectKey, preconditions: { uid: string; resourceVersion: string }): Promise<unknown>;
}

export function podClient(core: CoreV1Api): PodClient {
  return {
    get: (key) => core.readNamespacedPod(key),
    create: (namespace, body) => core.createNamespacedPod({ namespace, body }),
    mergePatch: (key, patch, resourceVersion) => mergePatchPod(core, key.namespace, key.name, patch, resourceVersion),
    jsonPatch: (key, ops) => jsonPatchPod(core, key.namespace, key.name, ops),
    delete: (key, preconditions) => core.deleteNamespacedPod({ ...key, body: { preconditions } }),
  };
}
