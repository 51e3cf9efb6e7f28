// The shell of a namespace's eviction protection (pdb.ts decides): observes the namespace's pools and PDBs from the
// caches, plans with planNamespacePdb, carries it out. Runs on the pool work queue under pdbKey(namespace), so it is
// sharded and fenced like a pool.
import type { PolicyV1Api, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { InstancePool } from '../api/types.js';
import type { EventRecorder } from '../kube/events.js';
import { CONFLICT_REPLAN_MS, errorMessage, isNotFound, statusCode } from '../kube/errors.js';
import type { Cache } from '../kube/informer-set.js';
import type { ReconcileResult } from '../kube/workers.js';
import type { WorkQueue } from '../kube/workqueue.js';
import { PDB_NAME, pdbKey, planNamespacePdb, type PdbAction } from './pdb.js';


/** The pools told of a failure, at most: each would otherwise get an Event of its own for one namespace's problem. */
export const EVENT_POOLS_MAX = 10;

export interface NamespacePdbsDeps {
  policy: PolicyV1Api;
  pools: Cache<InstancePool>;
  /** The operator's PDBs: the namespaces' own, and the per-pool ones older operators made. */
  pdbs: Cache<V1PodDisruptionBudget>;
  queue: Pick<WorkQueue, 'add'>;
  events: Pick<EventRecorder, 'record'>;
}

const protects = (p: InstancePool): boolean => p.spec?.evictionProtection !== false;

export class NamespacePdbs {
  /** The conflict last reported per namespace: said once, again only when it changes. */
  private readonly conflicts = new Map<string, string>();

  constructor(private readonly d: NamespacePdbsDeps) {}

  /** A pool added, deleted or with its protection switched, or a PDB of ours added, deleted or changed: plan its namespace. */
  register(): void {
    const { pools, pdbs, queue } = this.d;
    const enqueue = (o: { metadata?: { namespace?: string } }): void => {
      if (o.metadata?.namespace) queue.add(pdbKey(o.metadata.namespace));
    };
    pools.onAdd(enqueue);
    pools.onDelete(enqueue);
    pools.onUpdate((p, old) => {
      if (old === undefined || protects(p) !== protects(old)) enqueue(p);
    });
    pdbs.onAdd(enqueue);
    // Not the disruption controller's status writes (one per claimed member it counts): only what changes the plan.
    pdbs.onUpdate((b, old) => {
      const m = b.metadata;
      const o = old?.metadata;
      if (o === undefined || m?.generation !== o.generation || m?.uid !== o.uid || JSON.stringify(m?.labels) !== JSON.stringify(o.labels)) enqueue(b);
    });
    pdbs.onDelete(enqueue);
  }

  /** The keys of every namespace with a pool: what a replica that starts leading plans once. */
  keys(): string[] {
    return [...new Set(this.d.pools.list().map((p) => p.metadata.namespace ?? ''))].filter((ns) => ns !== '').map(pdbKey);
  }

  async reconcile(namespace: string): Promise<ReconcileResult> {
    const pools = this.d.pools.list(namespace);
    const plan = planNamespacePdb({
      namespace,
      pools: pools.map((p) => ({ name: p.metadata.name ?? '', uid: p.metadata.uid ?? '', protect: protects(p) })),
      observed: this.d.pdbs.list(namespace),
    });
    const told = pools.filter(protects).slice(0, EVENT_POOLS_MAX);
    if (plan.conflict === undefined) this.conflicts.delete(namespace);
    else if (this.conflicts.get(namespace) !== plan.conflict) {
      this.conflicts.set(namespace, plan.conflict);
      for (const p of told) this.d.events.record(p, 'Warning', 'DisruptionBudgetConflict', `${plan.conflict}: claimed members are not protected from eviction until it is removed`);
    }
    const failures: unknown[] = [];
    let conflict = false;
    for (const a of plan.actions) {
      try {
        await this.carryOut(namespace, a);
      } catch (err) {
        const code = statusCode(err);
        // 409 (it exists already, or changed since the cache saw it): plan again shortly. 404: gone already.
        if (code === 409) conflict = true;
        if (code === 409 || isNotFound(err)) continue;
        const name = a.kind === 'delete-pdb' ? a.name : (a.pdb.metadata?.name ?? PDB_NAME);
        for (const p of told) this.d.events.record(p, 'Warning', 'DisruptionBudgetFailed', `${a.kind} ${name}: ${errorMessage(err)}`);
        // A refusal a retry will not fix (forbidden, invalid) is said in the Event; the next change tries again.
        // Anything else fails the pass, which backs off and plans again.
        if (code === undefined || code >= 500 || code === 429) failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
    // The informer's event may not come: status writes of the disruption controller do not plan (register).
    return conflict ? { requeueAfterMs: CONFLICT_REPLAN_MS } : undefined;
  }

  private async carryOut(namespace: string, a: PdbAction): Promise<void> {
    const { policy } = this.d;
    if (a.kind === 'create-pdb') await policy.createNamespacedPodDisruptionBudget({ namespace, body: a.pdb });
    else if (a.kind === 'update-pdb') await policy.replaceNamespacedPodDisruptionBudget({ namespace, name: a.pdb.metadata?.name ?? '', body: a.pdb });
    else await policy.deleteNamespacedPodDisruptionBudget({ namespace, name: a.name, body: { preconditions: { uid: a.uid, resourceVersion: a.resourceVersion } } });
  }
}
