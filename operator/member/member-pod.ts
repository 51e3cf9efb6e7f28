// The member pod a pool creates: its template plus the operator's labels and annotations and a controller
// reference to the pool, so the garbage collector removes members with their pool even when we are down.
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import {
  ANN_WARMING_STARTED,
  API_VERSION,
  CLAIM_KIND,
  isReservedKey,
  LABEL_POOL,
  LABEL_STATE,
  LABEL_TEMPLATE_HASH,
  POOL_KIND,
  type InstancePool,
  type PoolClaim,
} from '../api/types.js';

export function memberPod(pool: InstancePool, templateHash: string, now: Date): V1Pod {
  const meta = pool.spec.template.metadata ?? {};
  const name = pool.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      // generateName keeps creates idempotent-free of naming races; expectations guard against duplicates.
      generateName: `${name}-`,
      namespace: pool.metadata.namespace,
      labels: { ...userKeys(meta.labels), [LABEL_POOL]: name, [LABEL_STATE]: 'warming', [LABEL_TEMPLATE_HASH]: templateHash },
      annotations: { ...userKeys(meta.annotations), [ANN_WARMING_STARTED]: now.toISOString() },
      ownerReferences: [poolOwnerReference(pool)],
    },
    spec: pool.spec.template.spec,
  };
}

/**
 * The template's keys without the operator's own (warmpool.dev/...): the schema refuses them, but a pool stored under
 * an older CRD may still carry one, and a template label warmpool.dev/claim or annotation warmpool.dev/claim-uid on a
 * member would make it look claimed or get it deleted at birth.
 */
function userKeys(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([key]) => !isReservedKey(key)));
}

function controllerReference(kind: string, owner: InstancePool | PoolClaim): V1OwnerReference {
  return { apiVersion: API_VERSION, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true };
}

/**
 * The controller reference of an unclaimed member to its pool (a claimed member's controller is its claim). It does
 * not block the pool's deletion: the pool's finalizer already holds the pool until no member is left. A blocking
 * reference cost a read on every claim: the bind removes it, and the garbage collector answers each removed blocking
 * reference with a GET of the owner (make bench-scale: 100 GETs of instancepools in 100 claims to 100 pools).
 */
export function poolOwnerReference(pool: InstancePool): V1OwnerReference {
  return { ...controllerReference(POOL_KIND, pool), blockOwnerDeletion: false };
}

/** The controller reference of a claimed member to its claim; it does not block the claim's deletion. */
export function claimOwnerReference(claim: PoolClaim): V1OwnerReference {
  return { ...controllerReference(CLAIM_KIND, claim), blockOwnerDeletion: false };
}
