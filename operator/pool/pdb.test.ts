import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { InstancePool } from '../api/types.js';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { resolveSpec } from '../api/resolve.js';
import { desiredPdb, PDB_MIN_AVAILABLE, pdbName, planPdb, type PdbAction } from './pdb.js';
import { planPool } from './plan.js';
import { HASH, NOW, member } from './test-fixtures.js';

function pool(meta: Partial<InstancePool['metadata']> = {}, evictionProtection?: boolean): InstancePool {
  return {
    apiVersion: API_VERSION,
    kind: POOL_KIND,
    metadata: { name: 'web', namespace: 'ns', uid: 'pool-uid', ...meta },
    spec: {
      template: { spec: { containers: [{ name: 'main', image: 'img' }] } },
      targetSize: 1,
      ...(evictionProtection !== undefined && { evictionProtection }),
    },
  };
}

/** The PDB as the API server would show ours, with what someone changed in it. */
function observed(over: { spec?: V1PodDisruptionBudget['spec']; owner?: string; labels?: Record<string, string> } = {}): V1PodDisruptionBudget {
  const want = desiredPdb(pool());
  return {
    ...want,
    metadata: {
      ...want.metadata,
      uid: 'pdb-uid',
      resourceVersion: '9',
      ...(over.labels && { labels: over.labels }),
      ...(over.owner && { ownerReferences: [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: over.owner, controller: true }] }),
    },
    ...(over.spec && { spec: over.spec }),
  };
}

const summary = (a: PdbAction | undefined): string =>
  a === undefined ? 'nothing' : a.kind === 'delete-pdb' ? `delete ${a.name} ${a.uid} ${a.resourceVersion}` : `${a.kind} ${a.pdb.metadata?.name ?? ''}`;

describe('planPdb', () => {
  it.each<{ name: string; pool: InstancePool; protect: boolean; observed: V1PodDisruptionBudget | undefined; want: string }>([
    { name: 'protection on and no PDB: create it', pool: pool(), protect: true, observed: undefined, want: 'create-pdb warmpool-web' },
    { name: 'protection on and ours as wanted: nothing', pool: pool(), protect: true, observed: observed(), want: 'nothing' },
    {
      name: 'ours with minAvailable lowered by hand: put back',
      pool: pool(),
      protect: true,
      observed: observed({ spec: { minAvailable: 1, selector: { matchLabels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'claimed' } } } }),
      want: 'update-pdb warmpool-web',
    },
    {
      name: 'ours selecting every member (state dropped): put back',
      pool: pool(),
      protect: true,
      observed: observed({ spec: { minAvailable: PDB_MIN_AVAILABLE, selector: { matchLabels: { 'warmpool.dev/pool': 'web' } } } }),
      want: 'update-pdb warmpool-web',
    },
    {
      name: 'ours as an older operator made it (maxUnavailable 0): put back',
      pool: pool(),
      protect: true,
      observed: observed({ spec: { maxUnavailable: 0, selector: { matchLabels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'claimed' } } } }),
      want: 'update-pdb warmpool-web',
    },
    { name: 'someone else\'s PDB of that name is never touched', pool: pool(), protect: true, observed: observed({ owner: 'other-uid', spec: { maxUnavailable: 5 } }), want: 'nothing' },
    { name: 'protection off: ours goes, guarded', pool: pool({}, false), protect: false, observed: observed(), want: 'delete warmpool-web pdb-uid 9' },
    { name: 'protection off and none: nothing', pool: pool({}, false), protect: false, observed: undefined, want: 'nothing' },
    { name: 'protection off, someone else\'s: not deleted', pool: pool({}, false), protect: false, observed: observed({ owner: 'x' }), want: 'nothing' },
    {
      name: 'pool being deleted: nothing (the garbage collector takes it; claimed members stay protected till then)',
      pool: pool({ deletionTimestamp: new Date(NOW) }),
      protect: true,
      observed: undefined,
      want: 'nothing',
    },
  ])('$name', ({ pool: p, protect, observed: o, want }) => {
    expect(summary(planPdb({ pool: p, protect, observed: o }))).toBe(want);
  });

  it('the PDB selects exactly the claimed members, allows none of them to go, and is owned by the pool', () => {
    expect(desiredPdb(pool())).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: 'warmpool-web',
        namespace: 'ns',
        labels: { 'warmpool.dev/pool': 'web' },
        ownerReferences: [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'pool-uid', controller: true, blockOwnerDeletion: true }],
      },
      spec: { minAvailable: 2_147_483_647, selector: { matchLabels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'claimed' } } },
    });
  });

  it('a put-back keeps labels others added and carries the resourceVersion it saw', () => {
    const a = planPdb({ pool: pool(), protect: true, observed: observed({ labels: { team: 'a' }, spec: { maxUnavailable: 3 } }) });
    expect(a?.kind === 'update-pdb' && a.pdb.metadata).toMatchObject({ resourceVersion: '9', labels: { team: 'a', 'warmpool.dev/pool': 'web' } });
    expect(a?.kind === 'update-pdb' && a.pdb.spec).toEqual(desiredPdb(pool()).spec);
  });

  it.each([
    { name: 'web', want: 'warmpool-web' },
    { name: 'a'.repeat(253), want: `warmpool-${'a'.repeat(244)}` },
    { name: `${'a'.repeat(243)}-b.c`, want: `warmpool-${'a'.repeat(243)}` },
  ])('pdbName($name) is a DNS subdomain of at most 253', ({ name, want }) => {
    expect(pdbName(name)).toBe(want);
  });
});

describe('planPool keeps the PDB', () => {
  const input = (p: InstancePool, pdb: { observed: V1PodDisruptionBudget | undefined } | undefined) => ({
    pool: p,
    spec: resolveSpec(p.spec),
    members: [member('m1', 'ready')],
    now: NOW,
    templateHash: HASH,
    expectationsSatisfied: true,
    failureHistory: [],
    recyclesInWindow: 0,
    random: () => 0.5,
    ...(pdb && { pdb }),
  });
  const kinds = (p: InstancePool, pdb: { observed: V1PodDisruptionBudget | undefined } | undefined): string[] =>
    planPool(input(p, pdb)).actions.map((a) => a.kind);

  it.each<{ name: string; pool: InstancePool; pdb: { observed: V1PodDisruptionBudget | undefined } | undefined; want: string[] }>([
    { name: 'on by default: created with the pool', pool: pool(), pdb: { observed: undefined }, want: ['create-pdb'] },
    { name: 'kept while paused', pool: { ...pool(), spec: { ...pool().spec, paused: true } }, pdb: { observed: undefined }, want: ['create-pdb'] },
    { name: 'kept while draining', pool: { ...pool(), spec: { ...pool().spec, drain: true } }, pdb: { observed: undefined }, want: ['delete', 'create-pdb'] },
    { name: 'turned off: deleted', pool: pool({}, false), pdb: { observed: observed() }, want: ['delete-pdb'] },
    { name: 'no PDB cache in the shell: left alone', pool: pool(), pdb: undefined, want: [] },
  ])('$name', ({ pool: p, pdb, want }) => {
    expect(kinds(p, pdb)).toEqual(want);
  });
});
