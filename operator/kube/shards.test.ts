import {
  MAX_REPLICA_SLOTS,
  MAX_SHARDS,
  heartbeatSlot,
  slotOfLeaseName,
  planShards,
  preferenceOrder,
  replicaLeaseName,
  shardGroupLabel,
  shardLeaseName,
  shardOf,
  shardOfLeaseName,
  validateSharding,
  type ShardSeen,
} from './shards.js';

describe('shardOf', () => {
  test('stable: the same key lands on the same shard in every process and release', () => {
    // Pinned values: a change of hash would move every pool to another shard during a rolling update.
    expect([shardOf('default/web', 6), shardOf('team-a/gpu', 6), shardOf('x/y', 256)]).toEqual([1, 5, 71]);
  });

  test('one shard: everything is shard 0', () => {
    expect(shardOf('anything/at-all', 1)).toBe(0);
  });

  test('spreads 600 keys over 6 shards, none far from 100', () => {
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 600; i++) counts[shardOf(`ns/pool-${i}`, 6)] = (counts[shardOf(`ns/pool-${i}`, 6)] ?? 0) + 1;
    for (const c of counts) expect(c).toBeGreaterThan(60);
  });
});

describe('Lease names', () => {
  test('shard Leases are named by index, and only those parse back', () => {
    expect(shardLeaseName('warmpool', 3)).toBe('warmpool-shard-3');
    expect(shardOfLeaseName('warmpool', 'warmpool-shard-3', 6)).toBe(3);
    expect(shardOfLeaseName('warmpool', 'warmpool-shard-6', 6)).toBeUndefined();
    expect(shardOfLeaseName('warmpool', 'warmpool-shard-03', 6)).toBeUndefined();
    expect(shardOfLeaseName('warmpool', 'other-shard-1', 6)).toBeUndefined();
    expect(shardOfLeaseName('warmpool', replicaLeaseName('warmpool', 1), 6)).toBeUndefined();
  });

  test('heartbeat slots are named by index, and only those parse back', () => {
    expect(replicaLeaseName('warmpool', 2)).toBe('warmpool-replica-2');
    expect(slotOfLeaseName('warmpool', 'warmpool-replica-2')).toBe(2);
    expect(slotOfLeaseName('warmpool', `warmpool-replica-${MAX_REPLICA_SLOTS}`)).toBeUndefined();
    expect(slotOfLeaseName('warmpool', 'warmpool-shard-2')).toBeUndefined();
  });

  test('the group label is the base name, or its hash when that is no valid label value', () => {
    expect(shardGroupLabel('warmpool')).toBe('warmpool');
    expect(shardGroupLabel('a'.repeat(64))).toMatch(/^[0-9a-f]{40}$/);
  });

  test.each([
    { base: 'warmpool', shards: 0, error: /^--shards: / },
    { base: 'warmpool', shards: MAX_SHARDS + 1, error: /^--shards: / },
    { base: 'warmpool', shards: 2.5, error: /^--shards: / },
    { base: 'a'.repeat(241), shards: 2, error: /^--leader-election-id: .* at most 240 characters/ },
  ])('refuses $shards shards of a $base.length-character base, naming the flag', ({ base, shards, error }) => {
    expect(() => validateSharding(base, shards)).toThrow(error);
  });

  test('accepts the longest base that leaves room for the suffixes', () => {
    expect(() => validateSharding('a'.repeat(240), MAX_SHARDS)).not.toThrow();
  });
});

const seen = (states: Record<number, 'self' | 'other' | 'free'>, holder = 'b'): ShardSeen[] =>
  Object.entries(states).map(([i, state]) => ({ shard: Number(i), state, holder: state === 'other' ? holder : undefined }));

describe('planShards', () => {
  const order = preferenceOrder('a', 6);
  test.each<{
    name: string;
    peers: string[];
    states: Record<number, 'self' | 'other' | 'free'>;
    settled?: boolean;
    share: number;
    live: number;
    acquire: number[];
    release: number[];
  }>([
    {
      name: 'alone, nothing held: takes all 6, in its preference order',
      peers: [],
      states: {},
      share: 6,
      live: 1,
      acquire: order,
      release: [],
    },
    {
      name: 'first round: takes nothing yet, so replicas started together see each other first',
      peers: [],
      states: {},
      settled: false,
      share: 6,
      live: 1,
      acquire: [],
      release: [],
    },
    {
      name: 'three live, nothing held: takes its share of 2 only',
      peers: ['b', 'c'],
      states: {},
      share: 2,
      live: 3,
      acquire: order.slice(0, 2),
      release: [],
    },
    {
      name: 'three live, holding its share: nothing to do',
      peers: ['b', 'c'],
      states: { 0: 'self', 1: 'self', 2: 'other', 3: 'other', 4: 'free', 5: 'free' },
      share: 2,
      live: 3,
      acquire: [],
      release: [],
    },
    {
      name: 'holding all 6 when two peers appear: gives back 4, the last in its preference order, last first',
      peers: ['b', 'c'],
      states: { 0: 'self', 1: 'self', 2: 'self', 3: 'self', 4: 'self', 5: 'self' },
      share: 2,
      live: 3,
      acquire: [],
      release: order.slice(2).reverse(),
    },
    {
      name: 'a peer died (heartbeat expired): share grows to 3; takes the free shards it left',
      peers: ['b'],
      states: { 0: 'self', 1: 'self', 2: 'other', 3: 'other', 4: 'free', 5: 'free' },
      share: 3,
      live: 2,
      acquire: order.filter((i) => i === 4 || i === 5).slice(0, 1),
      release: [],
    },
    {
      name: 'a shard holder without a heartbeat still counts as live',
      peers: [],
      states: { 0: 'other', 1: 'other', 2: 'free', 3: 'free', 4: 'free', 5: 'free' },
      share: 3,
      live: 2,
      acquire: order.filter((i) => i >= 2).slice(0, 3),
      release: [],
    },
  ])('$name', ({ peers, states, settled, share, live, acquire, release }) => {
    const plan = planShards({ shards: 6, self: 'a', peers, seen: seen(states), settled: settled ?? true });
    expect(plan).toEqual({ share, live, acquire, release });
  });

  test('more replicas than shards: a replica with no shard takes a free one', () => {
    const plan = planShards({ shards: 2, self: 'a', peers: ['b', 'c'], seen: seen({ 0: 'other', 1: 'free' }), settled: true });
    expect(plan).toEqual({ share: 1, live: 3, acquire: [1], release: [] });
  });

  test('three replicas that each see the same Leases take disjoint shares that cover all 6', () => {
    const ids = ['replica-a', 'replica-b', 'replica-c'];
    const holder = new Map<number, string>();
    // Rounds in turn, each replica writing what it took before the next one lists: as the API serializes them.
    for (let round = 0; round < 4; round++) {
      for (const self of ids) {
        const view = Array.from({ length: 6 }, (_, shard): ShardSeen => {
          const h = holder.get(shard);
          return { shard, state: h === undefined ? 'free' : h === self ? 'self' : 'other', holder: h };
        });
        const plan = planShards({ shards: 6, self, peers: ids.filter((i) => i !== self), seen: view, settled: true });
        for (const i of plan.release) holder.delete(i);
        for (const i of plan.acquire) holder.set(i, self);
      }
    }
    expect(holder.size).toBe(6);
    for (const id of ids) expect([...holder.values()].filter((h) => h === id)).toHaveLength(2);
  });
});

describe('heartbeatSlot', () => {
  test.each<{ name: string; seen: { slot: number; holder: string; live: boolean }[]; slot: number | undefined }>([
    { name: 'no slots yet: the first', seen: [], slot: 0 },
    { name: 'ours: kept, even when a lower one is free', seen: [{ slot: 0, holder: '', live: false }, { slot: 3, holder: 'a', live: false }], slot: 3 },
    {
      name: 'a slot whose holder expired or left is reused (rollouts do not pile up Leases)',
      seen: [{ slot: 0, holder: 'b', live: true }, { slot: 1, holder: 'old-pod', live: false }, { slot: 2, holder: '', live: false }],
      slot: 1,
    },
    { name: 'all live: the lowest unused index', seen: [{ slot: 0, holder: 'b', live: true }, { slot: 2, holder: 'c', live: true }], slot: 1 },
    {
      name: 'every slot live: none',
      seen: Array.from({ length: MAX_REPLICA_SLOTS }, (_, slot) => ({ slot, holder: `r${slot}`, live: true })),
      slot: undefined,
    },
  ])('$name', ({ seen, slot }) => {
    expect(heartbeatSlot('a', seen)).toBe(slot);
  });
});
