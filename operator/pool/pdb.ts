// Eviction protection (issue 20): one PodDisruptionBudget per pool, owned by the pool (the garbage collector removes
// it with the pool), selecting the pool's claimed members with a minAvailable no count reaches. The Eviction API (kubectl drain, the
// cluster autoscaler, node upgrades) then answers 429 for a claimed member, while warming and ready members, which
// the selector leaves out, stay evictable. Pure: the pool planner decides with planPdb, the shell carries it out.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { InstancePool } from '../api/types.js';
import { LABEL_POOL, LABEL_STATE } from '../api/types.js';
import { poolOwnerReference } from '../member/member-pod.js';

/**
 * The PDB's minAvailable: above any number of pods, so the disruption controller's desiredHealthy always exceeds
 * the healthy ones and disruptionsAllowed stays 0. An integer minAvailable is counted from the selected pods alone;
 * maxUnavailable (0 before) and percentages make the controller look up each pod's controller and its scale, which a
 * PoolClaim does not have: it failed safe (SyncFailed) with a Warning Event on nearly every claim (make bench-peers
 * audit: 24 Event patches by the disruption controller for 50 claims).
 */
export const PDB_MIN_AVAILABLE = 2_147_483_647;

/** Longest object name the API server takes (a DNS subdomain). */
const NAME_MAX = 253;
const PREFIX = 'warmpool-';

/**
 * The PDB's name: `warmpool-<pool>`. A pool name is a DNS subdomain, so this one is too, and the prefix keeps it
 * apart from a PDB the user named after the pool; a name too long is cut (a pool name long enough for that cannot
 * label its members anyway: label values stop at 63).
 */
export function pdbName(poolName: string): string {
  return `${PREFIX}${poolName}`.slice(0, NAME_MAX).replace(/[-.]+$/, '');
}

/** Exactly the pool's claimed members: the bind labels a member claimed in the patch that binds it. */
export function pdbSelector(poolName: string): Record<string, string> {
  return { [LABEL_POOL]: poolName, [LABEL_STATE]: 'claimed' };
}

/** The PDB the pool wants. */
export function desiredPdb(pool: InstancePool): V1PodDisruptionBudget {
  const name = pool.metadata.name ?? '';
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: pdbName(name),
      namespace: pool.metadata.namespace,
      // The operator's PDB informer lists by this label.
      labels: { [LABEL_POOL]: name },
      ownerReferences: [poolOwnerReference(pool)],
    },
    spec: { minAvailable: PDB_MIN_AVAILABLE, selector: { matchLabels: pdbSelector(name) } },
  };
}

/** Create the PDB (409 AlreadyExists: the informer shows it soon, the next pass decides). */
export interface CreatePdbAction {
  kind: 'create-pdb';
  pdb: V1PodDisruptionBudget;
}

/**
 * Put the PDB back as the pool wants it: a replace (a merge patch would keep selector keys someone added), carrying
 * the observed resourceVersion, so a PDB changed meanwhile answers 409 and the pool is planned again.
 */
export interface UpdatePdbAction {
  kind: 'update-pdb';
  pdb: V1PodDisruptionBudget;
}

/** Protection turned off: delete our PDB with preconditions on uid and resourceVersion. */
export interface DeletePdbAction {
  kind: 'delete-pdb';
  name: string;
  uid: string;
  resourceVersion: string;
}

export type PdbAction = CreatePdbAction | UpdatePdbAction | DeletePdbAction;

function controlledBy(pdb: V1PodDisruptionBudget, pool: InstancePool): boolean {
  const uid = pool.metadata.uid;
  return (pdb.metadata?.ownerReferences ?? []).some((o) => o.controller === true && uid !== undefined && o.uid === uid);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a?.[k] === b[k]);
}

/** The PDB selects and allows exactly what the pool wants. */
function current(observed: V1PodDisruptionBudget, want: V1PodDisruptionBudget): boolean {
  const spec = observed.spec;
  const selector = spec?.selector;
  const name = want.metadata?.labels?.[LABEL_POOL] ?? '';
  return (
    spec?.minAvailable === PDB_MIN_AVAILABLE &&
    spec.maxUnavailable === undefined &&
    (selector?.matchExpressions ?? []).length === 0 &&
    sameLabels(selector?.matchLabels, pdbSelector(name)) &&
    observed.metadata?.labels?.[LABEL_POOL] === name
  );
}

export interface PdbFacts {
  pool: InstancePool;
  /** spec.evictionProtection, resolved (default true). */
  protect: boolean;
  /** The PDB named pdbName(pool) as the cache shows it; undefined when there is none. */
  observed: V1PodDisruptionBudget | undefined;
}

/**
 * What to do about the pool's PDB. Nothing while the pool is being deleted (the garbage collector takes the PDB
 * with the pool, and its claimed members stay protected until then), nothing about a PDB of that name the pool does
 * not control (someone else's: never overwritten or deleted).
 */
export function planPdb(f: PdbFacts): PdbAction | undefined {
  const { pool, observed } = f;
  if (pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null) return undefined;
  const want = desiredPdb(pool);
  if (observed === undefined) return f.protect ? { kind: 'create-pdb', pdb: want } : undefined;
  if (!controlledBy(observed, pool)) return undefined;
  const meta = observed.metadata ?? {};
  if (!f.protect) {
    return { kind: 'delete-pdb', name: meta.name ?? '', uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' };
  }
  if (current(observed, want)) return undefined;
  // Labels and annotations others added stay; spec and owner are ours.
  const labels = { ...meta.labels, ...want.metadata?.labels };
  return { kind: 'update-pdb', pdb: { ...want, metadata: { ...meta, ...want.metadata, labels, managedFields: undefined } } };
}
