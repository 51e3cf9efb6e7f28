import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { desiredPdb, PDB_MIN_AVAILABLE, PDB_NAME, pdbKey, pdbKeyNamespace, planNamespacePdb, type PdbPool } from './pdb.js';

const pool = (name: string, protect = true): PdbPool => ({ name, uid: `${name}-uid`, protect });

/** The namespace's PDB as the API server would show ours, with what someone changed in it. */
function observed(over: { spec?: V1PodDisruptionBudget['spec']; labels?: Record<string, string>; unprotected?: string[] } = {}): V1PodDisruptionBudget {
  const want = desiredPdb('ns', over.unprotected ?? []);
  return {
    ...want,
    metadata: { ...want.metadata, uid: 'pdb-uid', resourceVersion: '9', ...(over.labels && { labels: over.labels }) },
    ...(over.spec && { spec: over.spec }),
  };
}

/** A per-pool PDB an older operator made: `warmpool-<pool>`, controlled by the pool. */
function legacy(poolName: string, ownerUid = `${poolName}-uid`): V1PodDisruptionBudget {
  return {
    metadata: {
      name: `warmpool-${poolName}`,
      namespace: 'ns',
      uid: `legacy-${poolName}`,
      resourceVersion: '3',
      labels: { 'warmpool.dev/pool': poolName },
      ownerReferences: [{ apiVersion: API_VERSION, kind: POOL_KIND, name: poolName, uid: ownerUid, controller: true }],
    },
    spec: { maxUnavailable: 0, selector: { matchLabels: { 'warmpool.dev/pool': poolName, 'warmpool.dev/state': 'claimed' } } },
  };
}

const summary = (pools: PdbPool[], seen: V1PodDisruptionBudget[]): string[] => {
  const plan = planNamespacePdb({ namespace: 'ns', pools, observed: seen });
  return [
    ...plan.actions.map((a) =>
      a.kind === 'delete-pdb'
        ? `delete ${a.name} ${a.uid} ${a.resourceVersion}`
        : `${a.kind} ${a.pdb.metadata?.name ?? ''} ${JSON.stringify(a.pdb.spec?.selector?.matchExpressions?.find((e) => e.operator === 'NotIn')?.values ?? [])}`,
    ),
    ...(plan.conflict ? ['conflict'] : []),
  ];
};

describe('planNamespacePdb', () => {
  it.each<{ name: string; pools: PdbPool[]; seen: V1PodDisruptionBudget[]; want: string[] }>([
    { name: 'a protected pool and no PDB: create it', pools: [pool('web')], seen: [], want: ['create-pdb warmpool-claimed-members []'] },
    { name: 'ours as wanted: nothing', pools: [pool('web'), pool('api')], seen: [observed()], want: [] },
    { name: 'no pool: nothing', pools: [], seen: [], want: [] },
    { name: 'the last pool gone: ours goes, guarded', pools: [], seen: [observed()], want: ['delete warmpool-claimed-members pdb-uid 9'] },
    { name: 'every pool turned protection off: ours goes', pools: [pool('web', false)], seen: [observed()], want: ['delete warmpool-claimed-members pdb-uid 9'] },
    {
      name: 'a pool turned protection off: its members are left out, sorted',
      pools: [pool('web'), pool('zeta', false), pool('api', false)],
      seen: [observed()],
      want: ['update-pdb warmpool-claimed-members ["api","zeta"]'],
    },
    {
      name: 'it turned protection on again: back to every pool',
      pools: [pool('web'), pool('api')],
      seen: [observed({ unprotected: ['api'] })],
      want: ['update-pdb warmpool-claimed-members []'],
    },
    {
      name: 'a pool name that is no label value is never put in the selector (no member can carry it)',
      pools: [pool('web'), pool(`${'a'.repeat(64)}`, false)],
      seen: [],
      want: ['create-pdb warmpool-claimed-members []'],
    },
    {
      name: 'minAvailable lowered by hand: put back',
      pools: [pool('web')],
      seen: [observed({ spec: { minAvailable: 1, selector: observed().spec?.selector } })],
      want: ['update-pdb warmpool-claimed-members []'],
    },
    {
      name: 'selecting every member (state dropped): put back',
      pools: [pool('web')],
      seen: [observed({ spec: { minAvailable: PDB_MIN_AVAILABLE, selector: { matchExpressions: observed().spec?.selector?.matchExpressions } } })],
      want: ['update-pdb warmpool-claimed-members []'],
    },
    {
      name: 'a term added to the selector: put back',
      pools: [pool('web')],
      seen: [observed({ spec: { minAvailable: PDB_MIN_AVAILABLE, selector: { ...observed().spec?.selector, matchExpressions: [{ key: 'x', operator: 'Exists' }] } } })],
      want: ['update-pdb warmpool-claimed-members []'],
    },
    {
      name: 'someone else\'s PDB of that name is never touched, and said',
      pools: [pool('web')],
      seen: [observed({ labels: { team: 'a' } })],
      want: ['conflict'],
    },
    {
      name: 'an older operator\'s per-pool PDB goes once ours is in place',
      pools: [pool('web')],
      seen: [observed(), legacy('web')],
      want: ['delete warmpool-web legacy-web 3'],
    },
    {
      name: 'and not before: ours is created first, the old one still refuses evictions meanwhile',
      pools: [pool('web')],
      seen: [legacy('web')],
      want: ['create-pdb warmpool-claimed-members []'],
    },
    {
      name: 'an older per-pool PDB of a pool that turned protection off goes at once',
      pools: [pool('web', false)],
      seen: [legacy('web')],
      want: ['delete warmpool-web legacy-web 3'],
    },
    {
      name: 'a PDB named like an old one but controlled by nothing of ours is left alone',
      pools: [pool('web')],
      seen: [observed(), legacy('web', 'someone-else')],
      want: [],
    },
  ])('$name', ({ pools, seen, want }) => {
    expect(summary(pools, seen)).toEqual(want);
  });

  it('the PDB selects exactly the claimed members of the pools that keep protection, and allows none of them to go', () => {
    expect(desiredPdb('ns', ['api'])).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: PDB_NAME, namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'warmpool', 'warmpool.dev/pool': '' } },
      spec: {
        minAvailable: 2_147_483_647,
        selector: {
          matchLabels: { 'warmpool.dev/state': 'claimed' },
          // Exists: NotIn alone would also select pods without the label.
          matchExpressions: [
            { key: 'warmpool.dev/pool', operator: 'Exists' },
            { key: 'warmpool.dev/pool', operator: 'NotIn', values: ['api'] },
          ],
        },
      },
    });
  });

  it('a put-back keeps labels others added and carries the resourceVersion it saw', () => {
    const labels = { team: 'a', 'app.kubernetes.io/managed-by': 'warmpool', 'warmpool.dev/pool': '' };
    const { actions } = planNamespacePdb({ namespace: 'ns', pools: [pool('web')], observed: [observed({ labels, spec: { maxUnavailable: 3 } })] });
    const [a] = actions;
    expect(a?.kind === 'update-pdb' && a.pdb.metadata).toMatchObject({ resourceVersion: '9', uid: 'pdb-uid', labels });
    expect(a?.kind === 'update-pdb' && a.pdb.spec).toEqual(desiredPdb('ns', []).spec);
  });

  it('the queue key of a namespace\'s PDB is no pool\'s key, and gives its namespace back', () => {
    expect(pdbKey('team-a')).toBe('team-a/~pdb');
    expect(pdbKeyNamespace(pdbKey('team-a'))).toBe('team-a');
    expect(pdbKeyNamespace('team-a/web')).toBeUndefined();
    expect(pdbKeyNamespace('team-a/pdb')).toBeUndefined();
  });
});
