// Validation of pools and claims as they arrive from a watch (or anywhere else): the controller re-checks all the CRD
// schema checks, because the installed CRD may be an older version and the object may not come from the API server.
// A valid object comes back as the API server would store it: pruned, and with the schema's defaults.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { FieldError } from './conform.js';
import { conform, isRecord } from './conform.js';
import type { Schema } from './openapi.js';
import { claimSpecSchema, claimStatusSchema, metadataSchema, poolSpecSchema, poolStatusSchema, RESERVED_KEYS_MESSAGE, reservedKeysOf } from './schema.js';
import type { InstancePool, PoolClaim } from './types.js';
import { API_VERSION, CLAIM_KIND, POOL_KIND } from './types.js';

export type { FieldError } from './conform.js';

export type PoolValidation = { ok: true; pool: InstancePool } | { ok: false; errors: FieldError[] };
export type ClaimValidation = { ok: true; claim: PoolClaim } | { ok: false; errors: FieldError[] };

// The API server keeps all of metadata and lets a CRD restrict only the name.
const objectMeta: Schema<V1ObjectMeta> = {
  type: 'object',
  required: ['name'],
  ...(metadataSchema.properties && { properties: metadataSchema.properties }),
  'x-kubernetes-preserve-unknown-fields': true,
};

function rootSchema<T>(kind: string, spec: Schema): Schema<T> {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', enum: [API_VERSION] },
      kind: { type: 'string', enum: [kind] },
      metadata: objectMeta,
      spec,
    },
  };
}

// Status is checked on its own (statusOf), so it is not part of these.
const poolRoot = rootSchema<Omit<InstancePool, 'status'>>(POOL_KIND, poolSpecSchema);
const claimRoot = rootSchema<Omit<PoolClaim, 'status'>>(CLAIM_KIND, claimSpecSchema);

export function validatePool(input: unknown): PoolValidation {
  const pool = conform(input, poolRoot, '');
  if (!pool.ok) return pool;
  const status = statusOf(input, poolStatusSchema);
  return { ok: true, pool: { ...pool.value, ...(status && { status }) } };
}

/** `old`, the claim before this update when there is one, enables the immutability checks (poolName, reclaimPolicy). */
export function validateClaim(input: unknown, old?: PoolClaim): ClaimValidation {
  // Defaulted like the input, so an unset reclaimPolicy compares as the Delete it means.
  const previous = old && conform(old, claimRoot, '');
  const claim = conform(input, claimRoot, '', previous?.ok ? previous.value : undefined);
  if (!claim.ok) return claim;
  const status = statusOf(input, claimStatusSchema);
  return { ok: true, claim: { ...claim.value, ...(status && { status }) } };
}

/**
 * What a later version of a valid object can change besides its spec, checked again: its kind and its metadata (the
 * same uid and generation mean the same spec, see api/resolve.ts). Undefined when they do not hold.
 */
function metadataAgain(input: { apiVersion?: unknown; kind?: unknown; metadata?: unknown }, kind: string): V1ObjectMeta | undefined {
  if (input.apiVersion !== API_VERSION || input.kind !== kind) return undefined;
  const metadata = conform(input.metadata, objectMeta, 'metadata');
  return metadata.ok ? metadata.value : undefined;
}

/** validatePool for a later version of the valid pool `valid`, with the same spec: metadata and status checked again. */
export function revalidatePool(input: InstancePool, valid: InstancePool): PoolValidation {
  const metadata = metadataAgain(input, POOL_KIND);
  if (metadata === undefined) return validatePool(input);
  const status = statusOf(input, poolStatusSchema);
  return { ok: true, pool: { apiVersion: API_VERSION, kind: POOL_KIND, metadata, spec: valid.spec, ...(status && { status }) } };
}

/** Whether a later version of a valid claim, with the same spec, is valid still. */
export function revalidateClaim(input: PoolClaim): boolean {
  return metadataAgain(input, CLAIM_KIND) !== undefined;
}

/**
 * The operator's own keys in the template's labels and annotations, one message per key. The schema refuses them
 * (validatePool too), so only a pool that never went through it (an older CRD) has any; member-pod.ts never copies
 * them onto a member either way.
 */
export function reservedLabelWarnings(pool: InstancePool): string[] {
  const metadata = pool.spec.template.metadata;
  return (['labels', 'annotations'] as const).flatMap((field) =>
    reservedKeysOf(metadata?.[field]).map(
      (key) => `spec.template.metadata.${field}: ${key}: ${RESERVED_KEYS_MESSAGE}`,
    ),
  );
}

// A malformed status is dropped rather than refused: the controller recomputes status from what it observes.
function statusOf<T>(input: unknown, schema: Schema<T>): T | undefined {
  if (!isRecord(input) || input.status === undefined || input.status === null) return undefined;
  const status = conform(input.status, schema, 'status');
  return status.ok ? status.value : undefined;
}
