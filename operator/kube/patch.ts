// Patch helpers that send the right content type. The generated patch methods default to JSON Patch
// (application/json-patch+json, the first type they list); every helper here sends a JSON merge patch instead, where
// an object is merged field by field and null deletes a field.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, CustomObjectsApi, V1Pod } from '@kubernetes/client-node';

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

/** Merge-patches the status subresource of a custom object: the body is `{ status: statusPatch }`. */
export function mergePatchCustomStatus(
  custom: CustomObjectsApi,
  group: string,
  version: string,
  plural: string,
  namespace: string,
  name: string,
  statusPatch: MergePatch,
  resourceVersion?: string,
): Promise<unknown> {
  const body = withResourceVersion({ status: statusPatch }, resourceVersion);
  return custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace, name, body }, mergePatch);
}

/** Merge-patches a custom object itself (metadata such as finalizers, labels, annotations; not its status). */
export function mergePatchCustom(
  custom: CustomObjectsApi,
  group: string,
  version: string,
  plural: string,
  namespace: string,
  name: string,
  patch: MergePatch,
  resourceVersion?: string,
): Promise<unknown> {
  const body = withResourceVersion(patch, resourceVersion);
  return custom.patchNamespacedCustomObject({ group, version, plural, namespace, name, body }, mergePatch);
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
