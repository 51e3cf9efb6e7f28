// Eviction protection (issue 20): one PodDisruptionBudget per namespace, selecting the claimed members of every
// pool there that keeps protection on, with a minAvailable no count reaches. The Eviction API (kubectl drain, the
// cluster autoscaler, node upgrades) then answers 429 for a claimed member, while warming and ready members, which
// the selector leaves out, stay evictable.
// One per namespace, not one per pool: the disruption controller matches every PDB of a namespace against every
// pod event there, so N pools' PDBs cost it N selector matches per event. At 1,000 pools of 10 (make bench-scale)
// kube-controller-manager spent 278 CPU seconds filling the pools and 66 ms per claim afterwards; with one PDB
// per namespace it spends what it spends without any.
// Pure: NamespacePdbs (pdb-controller.ts) observes and carries out, planNamespacePdb decides.
import type { V1LabelSelectorRequirement, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { LABEL_POOL, LABEL_STATE, POOL_KIND } from '../api/types.js';
import { joinKey, splitKey } from '../kube/key.js';

/**
 * The PDB's minAvailable: above any number of pods, so the disruption controller's desiredHealthy always exceeds
 * the healthy ones and disruptionsAllowed stays 0. An integer minAvailable is counted from the selected pods alone;
 * maxUnavailable and percentages make the controller look up each pod's controller and its scale, which a PoolClaim
 * does not have: it failed safe (SyncFailed) with a Warning Event on nearly every claim (make bench-peers audit: 24
 * Event patches by the disruption controller for 50 claims).
 */
export const PDB_MIN_AVAILABLE = 2_147_483_647;

/** The namespace's PDB. */
export const PDB_NAME = 'warmpool-claimed-members';
/** Marks the PDB as the operator's: the one it creates, puts back and deletes. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'warmpool';

/**
 * The pool work queue's key for a namespace's PDB: `namespace/~pdb`. '~' is in no object name, so no pool's key
 * is this one; it is sharded like a pool key (one replica writes the PDB at a time).
 */
const KEY_NAME = '~pdb';
export function pdbKey(namespace: string): string {
  return joinKey(namespace, KEY_NAME);
}
/** The namespace of a pdbKey; undefined for any other key. */
export function pdbKeyNamespace(key: string): string | undefined {
  const { namespace, name } = splitKey(key);
  return name === KEY_NAME ? namespace : undefined;
}

/** A label value (what a member's pool label can hold): pools named otherwise have no members to leave out. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const validLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

/**
 * Claimed members (the bind labels a member claimed in the patch that binds it) of any pool but those listed. A
 * member of a pool since deleted stays protected while claimed, as long as the namespace has a protected pool.
 */
export function pdbSelector(unprotected: readonly string[]): V1PodDisruptionBudget['spec'] {
  const expressions: V1LabelSelectorRequirement[] = [{ key: LABEL_POOL, operator: 'Exists' }];
  if (unprotected.length > 0) expressions.push({ key: LABEL_POOL, operator: 'NotIn', values: [...unprotected] });
  return { minAvailable: PDB_MIN_AVAILABLE, selector: { matchLabels: { [LABEL_STATE]: 'claimed' }, matchExpressions: expressions } };
}

/** The PDB a namespace wants, leaving out the members of these pools. */
export function desiredPdb(namespace: string, unprotected: readonly string[]): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    // No owner: it outlives any one pool; the last protected pool's going deletes it. The pool label, empty here (every
    // pool of the namespace), is what the operator's PDB informer lists by, as it did the per-pool PDBs.
    metadata: { name: PDB_NAME, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POOL]: '' } },
    spec: pdbSelector(unprotected),
  };
}

/** Create the PDB (409 AlreadyExists: the informer shows it soon, the next pass decides). */
export interface CreatePdbAction {
  kind: 'create-pdb';
  pdb: V1PodDisruptionBudget;
}

/**
 * Put the PDB back as the namespace wants it: a replace (a merge patch would keep selector terms someone added),
 * carrying the observed resourceVersion, so a PDB changed meanwhile answers 409 and the namespace is planned again.
 */
export interface UpdatePdbAction {
  kind: 'update-pdb';
  pdb: V1PodDisruptionBudget;
}

/** Delete a PDB of ours with preconditions on uid and resourceVersion. */
export interface DeletePdbAction {
  kind: 'delete-pdb';
  name: string;
  uid: string;
  resourceVersion: string;
}

export type PdbAction = CreatePdbAction | UpdatePdbAction | DeletePdbAction;

/** A pool of the namespace as the cache shows it. */
export interface PdbPool {
  name: string;
  uid: string;
  /** spec.evictionProtection, resolved (default true; a pool being deleted keeps its setting). */
  protect: boolean;
}

export interface NamespacePdbFacts {
  namespace: string;
  pools: readonly PdbPool[];
  /** The namespace's PDBs the operator's cache holds: its own, and the per-pool ones older operators made. */
  observed: readonly V1PodDisruptionBudget[];
}

export interface NamespacePdbPlan {
  actions: PdbAction[];
  /** A PDB of our name that is not ours (never overwritten or deleted): protection is off until it goes. */
  conflict?: string;
}

const ours = (pdb: V1PodDisruptionBudget): boolean =>
  pdb.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY && pdb.metadata.labels[LABEL_POOL] === '';

/** A per-pool PDB (`warmpool-<pool>`, controlled by the pool) an operator before this one made. */
function legacyOf(pdb: V1PodDisruptionBudget, pools: ReadonlyMap<string, string>): boolean {
  const pool = pdb.metadata?.labels?.[LABEL_POOL];
  if (!pool) return false;
  return (pdb.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.kind === POOL_KIND && o.name === pool && pools.get(pool) === o.uid);
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** The PDB selects and allows exactly what the namespace wants. */
function current(observed: V1PodDisruptionBudget, want: V1PodDisruptionBudget): boolean {
  const o = observed.spec;
  const w = want.spec;
  const oe = o?.selector?.matchExpressions ?? [];
  const we = w?.selector?.matchExpressions ?? [];
  const ol = o?.selector?.matchLabels ?? {};
  return (
    o?.minAvailable === PDB_MIN_AVAILABLE &&
    o.maxUnavailable === undefined &&
    Object.keys(ol).length === 1 &&
    ol[LABEL_STATE] === 'claimed' &&
    oe.length === we.length &&
    oe.every((e, i) => e.key === we[i]?.key && e.operator === we[i]?.operator && sameStrings(e.values, we[i]?.values))
  );
}

const deleteOf = (pdb: V1PodDisruptionBudget): DeletePdbAction => ({
  kind: 'delete-pdb',
  name: pdb.metadata?.name ?? '',
  uid: pdb.metadata?.uid ?? '',
  resourceVersion: pdb.metadata?.resourceVersion ?? '',
});

/**
 * What to do about a namespace's PDB: it exists while any pool of the namespace keeps protection on, leaving out
 * the members of those that turned it off, and goes with the last protected pool. A per-pool PDB of an older
 * operator goes once ours is in place (both refuse the eviction meanwhile), or at once when nothing wants protection.
 */
export function planNamespacePdb(f: NamespacePdbFacts): NamespacePdbPlan {
  const want = f.pools.some((p) => p.protect);
  const unprotected = f.pools
    .filter((p) => !p.protect && validLabelValue(p.name))
    .map((p) => p.name)
    .sort();
  const desired = desiredPdb(f.namespace, unprotected);
  const observed = f.observed.find((p) => p.metadata?.name === PDB_NAME);
  const uids = new Map(f.pools.map((p) => [p.name, p.uid]));
  const legacy = f.observed.filter((p) => p.metadata?.name !== PDB_NAME && legacyOf(p, uids));
  const actions: PdbAction[] = [];
  if (observed !== undefined && !ours(observed)) {
    return { actions: want ? [] : legacy.map(deleteOf), conflict: `a PodDisruptionBudget named ${PDB_NAME} that the operator did not make` };
  }
  let inPlace = false;
  if (want && observed === undefined) actions.push({ kind: 'create-pdb', pdb: desired });
  else if (want && observed !== undefined && !current(observed, desired)) {
    // Labels and annotations others added stay; the spec is ours.
    const meta = observed.metadata ?? {};
    const labels = { ...meta.labels, ...desired.metadata?.labels };
    actions.push({ kind: 'update-pdb', pdb: { ...desired, metadata: { ...meta, ...desired.metadata, labels, managedFields: undefined } } });
  } else if (want) inPlace = true;
  else if (observed !== undefined) actions.push(deleteOf(observed));
  if (inPlace || !want) actions.push(...legacy.map(deleteOf));
  return { actions };
}
