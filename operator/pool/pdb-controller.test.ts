import type { KubernetesObject, PolicyV1Api, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { InstancePool } from '../api/types.js';
import type { Cache } from '../kube/informer-set.js';
import { CONFLICT_REPLAN_MS } from '../kube/errors.js';
import { EVENT_POOLS_MAX, NamespacePdbs } from './pdb-controller.js';
import { desiredPdb, pdbKey } from './pdb.js';
import { pool } from './test-fixtures.js';

/** A cache of fixed contents, listed by namespace, whose handlers the test calls. */
class ListCache<T extends KubernetesObject> implements Cache<T> {
  readonly handlers: { add: ((o: T) => void)[]; update: ((o: T, old: T | undefined) => void)[]; del: ((o: T) => void)[] } = { add: [], update: [], del: [] };
  constructor(public items: T[]) {}
  get(name: string, namespace?: string): T | undefined {
    return this.items.find((o) => o.metadata?.name === name && o.metadata.namespace === namespace);
  }
  list(namespace?: string): readonly T[] {
    return this.items.filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
  onAdd(fn: (o: T) => void): void {
    this.handlers.add.push(fn);
  }
  onUpdate(fn: (o: T, old: T | undefined) => void): void {
    this.handlers.update.push(fn);
  }
  onDelete(fn: (o: T) => void): void {
    this.handlers.del.push(fn);
  }
}

const inNs = (name: string, protect = true): InstancePool => pool(protect ? {} : { evictionProtection: false }, { name, namespace: 'ns', uid: `${name}-uid` });

function setup(pools: InstancePool[], pdbs: V1PodDisruptionBudget[] = [], fail?: { code: number }) {
  const calls: string[] = [];
  const answer = async (what: string): Promise<void> => {
    calls.push(what);
    if (fail) throw Object.assign(new Error(`HTTP ${fail.code}`), { code: fail.code });
  };
  const policy = {
    createNamespacedPodDisruptionBudget: (r: { namespace: string; body: V1PodDisruptionBudget }) => answer(`create ${r.namespace}/${r.body.metadata?.name ?? ''}`),
    replaceNamespacedPodDisruptionBudget: (r: { namespace: string; name: string }) => answer(`replace ${r.namespace}/${r.name}`),
    deleteNamespacedPodDisruptionBudget: (r: { namespace: string; name: string }) => answer(`delete ${r.namespace}/${r.name}`),
  } as unknown as PolicyV1Api;
  const events: string[] = [];
  const queued: string[] = [];
  const poolCache = new ListCache(pools);
  const pdbCache = new ListCache(pdbs);
  const c = new NamespacePdbs({
    policy,
    pools: poolCache,
    pdbs: pdbCache,
    queue: { add: (k: string) => void queued.push(k) },
    events: { record: (o: KubernetesObject, type: string, reason: string) => void events.push(`${o.metadata?.name ?? ''} ${type} ${reason}`) },
  });
  c.register();
  return { c, calls, events, queued, poolCache, pdbCache };
}

describe('NamespacePdbs', () => {
  it('creates the namespace PDB for a protected pool', async () => {
    const { c, calls } = setup([inNs('web')]);
    await c.reconcile('ns');
    expect(calls).toEqual(['create ns/warmpool-claimed-members']);
  });

  it('a PDB of its name that is not ours: nothing written, a Warning on the protected pools once, again after it changes', async () => {
    const foreign = { ...desiredPdb('ns', []), metadata: { name: 'warmpool-claimed-members', namespace: 'ns', labels: { team: 'a' } } };
    const { c, calls, events } = setup([inNs('web'), inNs('open', false)], [foreign]);
    await c.reconcile('ns');
    await c.reconcile('ns');
    expect(calls).toEqual([]);
    expect(events).toEqual(['web Warning DisruptionBudgetConflict']);
  });

  it('a refusal a retry will not fix (403) is a Warning, bounded to a few pools, and the pass ends', async () => {
    const many = Array.from({ length: 25 }, (_, i) => inNs(`p${i}`));
    const { c, events } = setup(many, [], { code: 403 });
    await expect(c.reconcile('ns')).resolves.toBeUndefined();
    expect(events).toHaveLength(EVENT_POOLS_MAX);
    expect(events[0]).toBe('p0 Warning DisruptionBudgetFailed');
  });

  it('a 409 plans the namespace again shortly, a 404 ends quietly, a 500 fails the pass, which the queue backs off', async () => {
    // A legacy PDB's delete guarded by a resourceVersion the disruption controller's status write has moved on: its
    // update event does not plan the namespace, so the pass asks to be planned again itself.
    const legacy = {
      metadata: {
        name: 'warmpool-web',
        namespace: 'ns',
        uid: 'l',
        resourceVersion: '1',
        labels: { 'warmpool.dev/pool': 'web' },
        ownerReferences: [{ apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'web', uid: 'web-uid', controller: true }],
      },
    };
    const conflicted = setup([inNs('web', false)], [legacy], { code: 409 });
    await expect(conflicted.c.reconcile('ns')).resolves.toEqual({ requeueAfterMs: CONFLICT_REPLAN_MS });
    expect(conflicted.calls).toEqual(['delete ns/warmpool-web']);
    expect(conflicted.events).toEqual([]);
    const gone = setup([inNs('web')], [], { code: 404 });
    await expect(gone.c.reconcile('ns')).resolves.toBeUndefined();
    expect(gone.events).toEqual([]);
    const { c } = setup([inNs('web')], [], { code: 500 });
    await expect(c.reconcile('ns')).rejects.toThrow('HTTP 500');
  });

  it('plans the namespace when a pool comes or goes or switches protection, not on its other changes, and on PDB events', () => {
    const { queued, poolCache, pdbCache } = setup([]);
    const web = inNs('web');
    for (const f of poolCache.handlers.add) f(web);
    for (const f of poolCache.handlers.update) f({ ...web, spec: { ...web.spec, targetSize: 9 } }, web);
    for (const f of poolCache.handlers.update) f(inNs('web', false), web);
    for (const f of poolCache.handlers.del) f(web);
    const b = { ...desiredPdb('other', []), metadata: { ...desiredPdb('other', []).metadata, generation: 1 } };
    for (const f of pdbCache.handlers.update) f(b, undefined);
    // The disruption controller's status write: nothing to plan.
    for (const f of pdbCache.handlers.update) f({ ...b, status: { currentHealthy: 3, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 3 } }, b);
    // The spec edited (generation 2) or a label of ours removed: plan again.
    for (const f of pdbCache.handlers.update) f({ ...b, metadata: { ...b.metadata, generation: 2 } }, b);
    for (const f of pdbCache.handlers.update) f({ ...b, metadata: { ...b.metadata, labels: {} } }, b);
    expect(queued).toEqual([pdbKey('ns'), pdbKey('ns'), pdbKey('ns'), pdbKey('other'), pdbKey('other'), pdbKey('other')]);
  });

  it('keys: one per namespace with a pool', () => {
    const { c } = setup([inNs('a'), inNs('b'), { ...inNs('c'), metadata: { ...inNs('c').metadata, namespace: 'two' } }]);
    expect(c.keys().sort()).toEqual([pdbKey('ns'), pdbKey('two')]);
  });
});
