import type { ResolvedClaimSpec, ResolvedPoolSpec } from './defaults.js';
import { claimResolver, memberMetadataConflicts, poolResolver, resolveClaim, resolvePool } from './resolve.js';
import type { InstancePool, InstancePoolSpec, PoolClaim, PoolClaimSpec, PoolClaimStatus } from './types.js';

function pool(spec: Partial<InstancePoolSpec>): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'web', namespace: 'ns', uid: 'u' },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'img' }] } }, targetSize: 3, ...spec },
  };
}

describe('resolvePool, the door', () => {
  const cases: {
    name: string;
    spec: Partial<InstancePoolSpec>;
    want: { ok: boolean; target: number; maxSize: number; message?: RegExp };
  }[] = [
    { name: 'a valid pool: defaults applied, target resolved', spec: { targetSize: 3 }, want: { ok: true, target: 3, maxSize: 13 } },
    { name: 'an explicit maxSize stands', spec: { targetSize: 2, minSize: 1, maxSize: 4 }, want: { ok: true, target: 2, maxSize: 4 } },
    {
      name: 'an invalid pool: the verdict names the field, the numbers stay safe',
      spec: { targetSize: -1 },
      want: { ok: false, target: 0, maxSize: 9, message: /spec\.targetSize/ },
    },
  ];
  it.each(cases)('$name', ({ spec, want }) => {
    const v = resolvePool(pool(spec));
    expect(v.ok).toBe(want.ok);
    expect(v.spec).toMatchObject({ target: want.target, maxSize: want.maxSize });
    if (!v.ok) expect(v.message).toMatch(want.message ?? /./);
  });
});

describe('resolvePool, what the claim planner reads', () => {
  const cases: {
    name: string;
    spec: Partial<InstancePoolSpec>;
    want: { ok: boolean; resolved: Partial<ResolvedPoolSpec> };
  }[] = [
    {
      name: 'a valid pool: the queue policy, claim order and drain defaulted',
      spec: {},
      want: { ok: true, resolved: { claimOrder: 'OldestReady', claimQueue: { strategy: 'Priority', onFull: 'RejectNewest' }, drain: false } },
    },
    {
      name: 'a valid pool: what it sets stands',
      spec: { claimOrder: 'PackNodes', claimQueue: { strategy: 'FIFO', maxPending: 2 }, drain: true },
      want: { ok: true, resolved: { claimOrder: 'PackNodes', claimQueue: { strategy: 'FIFO', maxPending: 2, onFull: 'RejectNewest' }, drain: true } },
    },
    {
      name: 'an invalid pool: its stored queue policy with the same defaults, as the claim planner always read it',
      spec: { targetSize: -1, claimQueue: { maxPending: 3 } },
      want: { ok: false, resolved: { claimOrder: 'OldestReady', claimQueue: { strategy: 'Priority', maxPending: 3, onFull: 'RejectNewest' } } },
    },
  ];
  it.each(cases)('$name', ({ spec, want }) => {
    const cached = pool(spec);
    const v = resolvePool(cached);
    expect(v.ok).toBe(want.ok);
    expect(v.resolved.spec).toMatchObject(want.resolved);
    // Metadata and status as cached: the planner compares them with what the caches show.
    expect(v.resolved.metadata).toBe(cached.metadata);
  });
});

function claimOf(spec: unknown, status?: unknown): PoolClaim {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'PoolClaim',
    metadata: { name: 'c', namespace: 'ns', uid: 'u', resourceVersion: '7' },
    spec: spec as PoolClaimSpec,
    ...(status !== undefined && { status: status as PoolClaimStatus }),
  };
}

describe('resolveClaim, the door for claims', () => {
  const cases: {
    name: string;
    spec: unknown;
    status?: unknown;
    want: { ok: boolean; spec: Partial<ResolvedClaimSpec>; message?: RegExp };
  }[] = [
    {
      name: 'a valid claim: reclaimPolicy and priority defaulted, the timeouts stay unset',
      spec: { poolName: 'web' },
      want: { ok: true, spec: { poolName: 'web', reclaimPolicy: 'Delete', priority: 0 } },
    },
    {
      name: 'a valid claim: what it sets stands',
      spec: { poolName: 'web', reclaimPolicy: 'Return', priority: -3, waitTimeoutSeconds: 0, ttlSecondsAfterBound: 60, acquiredBy: 'ci' },
      want: { ok: true, spec: { reclaimPolicy: 'Return', priority: -3, waitTimeoutSeconds: 0, ttlSecondsAfterBound: 60, acquiredBy: 'ci' } },
    },
    {
      name: 'an invalid claim: the message names the field; the stored spec with the same defaults is planned as before',
      spec: { poolName: 'web', waitTimeoutSeconds: -5 },
      want: { ok: false, spec: { waitTimeoutSeconds: -5, reclaimPolicy: 'Delete', priority: 0 }, message: /^spec\.waitTimeoutSeconds: / },
    },
    {
      name: 'an invalid reclaimPolicy stays as stored (anything but Return deletes, as before)',
      spec: { poolName: 'web', reclaimPolicy: 'Keep', priority: 2 },
      want: { ok: false, spec: { reclaimPolicy: 'Keep' as ResolvedClaimSpec['reclaimPolicy'], priority: 2 }, message: /spec\.reclaimPolicy/ },
    },
    {
      name: 'every error is named',
      spec: { poolName: 'web', priority: 2 ** 31, ttlSecondsAfterBound: -1 },
      want: { ok: false, spec: { priority: 2 ** 31, reclaimPolicy: 'Delete' }, message: /spec\.priority: .*; spec\.ttlSecondsAfterBound: / },
    },
    {
      name: 'a spec that is not an object resolves to one that names no pool',
      spec: 'web',
      want: { ok: false, spec: { poolName: '', reclaimPolicy: 'Delete', priority: 0 }, message: /^spec: / },
    },
    {
      name: 'a malformed status does not make the claim invalid, and is kept as cached',
      spec: { poolName: 'web' },
      status: { phase: 'Sleeping' },
      want: { ok: true, spec: { reclaimPolicy: 'Delete' } },
    },
  ];
  it.each(cases)('$name', ({ spec, status, want }) => {
    const cached = claimOf(spec, status);
    const v = resolveClaim(cached);
    expect(v.ok).toBe(want.ok);
    expect(v.claim.spec).toMatchObject(want.spec);
    if (!v.ok) expect(v.message).toMatch(want.message ?? /./);
    expect(v.claim.metadata).toBe(cached.metadata);
    expect(v.claim.status).toBe(cached.status);
  });

});

describe('the remembering doors', () => {
  it('poolResolver validates each cached version once', () => {
    const door = poolResolver();
    const first = pool({});
    const again = door(first);
    expect(door(first)).toBe(again);
    const next = { ...first, metadata: { ...first.metadata, resourceVersion: '8' } };
    expect(door(next)).not.toBe(again);
    expect(door(next).resolved.metadata.resourceVersion).toBe('8');
  });

  it('claimResolver validates each cached version once', () => {
    const door = claimResolver();
    const first = claimOf({ poolName: 'web' });
    const again = door(first);
    expect(door(first)).toBe(again);
    const next = { ...first, metadata: { ...first.metadata, resourceVersion: '8' } };
    expect(door(next)).not.toBe(again);
    expect(door(next).claim.metadata.resourceVersion).toBe('8');
  });
});

describe('the remembering doors: one validation of a spec per generation', () => {
  const versioned = (p: InstancePool, rv: string, generation: number | undefined, status?: InstancePool['status']): InstancePool => ({
    ...p,
    metadata: { ...p.metadata, resourceVersion: rv, ...(generation !== undefined && { generation }) },
    ...(status && { status }),
  });

  it('a status write (same uid and generation): the spec verdict kept, metadata and status from the new version', () => {
    const door = poolResolver();
    const first = door(versioned(pool({ targetSize: 3 }), '1', 1));
    const next = door(versioned(pool({ targetSize: 3 }), '2', 1, { readyCount: 2 }));
    expect(next.ok && first.ok).toBe(true);
    expect(next.pool.spec).toBe(first.pool.spec);
    expect(next.resolved.spec).toBe(first.resolved.spec);
    expect(next.spec).toBe(first.spec);
    expect(next.pool.metadata.resourceVersion).toBe('2');
    expect(next.pool.status).toEqual({ readyCount: 2 });
    expect(next.resolved.metadata.resourceVersion).toBe('2');
    expect(next.resolved.status).toEqual({ readyCount: 2 });
  });

  it('a new generation is validated whole: a spec made invalid is refused', () => {
    const door = poolResolver();
    expect(door(versioned(pool({ targetSize: 3 }), '1', 1)).ok).toBe(true);
    const next = door(versioned(pool({ targetSize: -1 }), '2', 2));
    expect(next.ok).toBe(false);
    expect(next.spec.target).toBe(0);
  });

  it('without a generation (not from the API server) every version is validated whole', () => {
    const door = poolResolver();
    expect(door(versioned(pool({ targetSize: 3 }), '1', undefined)).ok).toBe(true);
    expect(door(versioned(pool({ targetSize: -1 }), '2', undefined)).ok).toBe(false);
  });

  it('another pool of the same name (another uid) is validated whole', () => {
    const door = poolResolver();
    expect(door(versioned(pool({ targetSize: 3 }), '1', 1)).ok).toBe(true);
    const other = versioned(pool({ targetSize: -1 }), '2', 1);
    expect(door({ ...other, metadata: { ...other.metadata, uid: 'u2' } }).ok).toBe(false);
  });

  it('a malformed status is dropped again, as validatePool drops it', () => {
    const door = poolResolver();
    door(versioned(pool({}), '1', 1));
    const next = door(versioned(pool({}), '2', 1, { readyCount: -4 }));
    expect(next.ok).toBe(true);
    expect(next.pool.status).toBeUndefined();
  });

  it('metadata the schema refuses is refused on a later version too', () => {
    const door = poolResolver();
    door(versioned(pool({}), '1', 1));
    const bad = versioned(pool({}), '2', 1);
    expect(door({ ...bad, metadata: { ...bad.metadata, name: 'x'.repeat(300) } }).ok).toBe(false);
  });

  it('claims: the resolved spec kept across a status write, the rest from the new version', () => {
    const door = claimResolver();
    const first = claimOf({ poolName: 'web' });
    const at = (rv: string, generation: number, phase?: PoolClaimStatus['phase']): PoolClaim => ({
      ...first,
      metadata: { ...first.metadata, uid: 'c1', resourceVersion: rv, generation },
      ...(phase && { status: { phase } }),
    });
    const a = door(at('1', 1));
    const b = door(at('2', 1, 'Bound'));
    expect(b.claim.spec).toBe(a.claim.spec);
    expect(b.claim.status?.phase).toBe('Bound');
    expect(b.claim.metadata.resourceVersion).toBe('2');
    const changed = door({ ...at('3', 2), spec: { poolName: 'web', waitTimeoutSeconds: -5 } });
    expect(changed.ok).toBe(false);
  });

  it('remembers at most max specs: the least recently seen is validated whole again', () => {
    const door = poolResolver(2);
    const named = (uid: string, rv: string, targetSize: number): InstancePool => {
      const p = versioned(pool({ targetSize }), rv, 1);
      return { ...p, metadata: { ...p.metadata, uid } };
    };
    door(named('a', '1', 3));
    door(named('b', '1', 3));
    door(named('c', '1', 3));
    // 'a' was forgotten: its (impossible) changed spec at the same generation is seen; 'c' was not.
    expect(door(named('a', '2', -1)).ok).toBe(false);
    expect(door(named('c', '2', -1)).ok).toBe(true);
  });
});

describe('memberMetadataConflicts (issue 21): what the CRD cannot see', () => {
  const templated = pool({
    template: { metadata: { labels: { app: 'web' }, annotations: { note: 'pool' } }, spec: { containers: [{ name: 'main', image: 'img' }] } },
  });
  it.each<{ name: string; spec: Partial<PoolClaimSpec>; want: string[] }>([
    { name: 'no memberMetadata', spec: {}, want: [] },
    { name: 'keys of its own', spec: { memberMetadata: { labels: { team: 'a' }, annotations: { job: '7' } } }, want: [] },
    {
      name: 'a label and an annotation the template sets, each named',
      spec: { memberMetadata: { labels: { app: 'other', team: 'a' }, annotations: { note: 'mine' } } },
      want: [
        'spec.memberMetadata.labels: app: set by the template of pool web',
        'spec.memberMetadata.annotations: note: set by the template of pool web',
      ],
    },
    { name: 'a template label key used as an annotation is no conflict', spec: { memberMetadata: { annotations: { app: 'x' } } }, want: [] },
  ])('$name', ({ spec, want }) => {
    const claim = resolveClaim(claimOf({ poolName: 'web', ...spec })).claim;
    expect(memberMetadataConflicts(claim, resolvePool(templated).resolved)).toEqual(want);
  });
});
