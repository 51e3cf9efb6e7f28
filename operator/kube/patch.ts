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
