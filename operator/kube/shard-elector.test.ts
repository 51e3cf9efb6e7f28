import { jest } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { fakeKubeConfig } from './fake-http.js';
import { ShardElector, type ShardLeaseClient, type ShardLoss } from './shard-elector.js';
import { LABEL_LEASE_ROLE, shardLeaseName } from './shards.js';

// The apiserver's side of a namespace's Leases: optimistic concurrency on resourceVersion, a label selector of one
// key=value, JSON on the wire.
class FakeLeases {
  readonly stored = new Map<string, V1Lease>();
  private rv = 0;

  /** The API as one replica reaches it; dead(): that replica's requests fail (its process is gone or cut off). */
  client(isDead: () => boolean = () => false): ShardLeaseClient {
    const check = (): void => {
      if (isDead()) throw status(503, 'ServiceUnavailable');
    };
    return {
      listNamespacedLease: async ({ labelSelector }) => {
        check();
        const [k, v] = (labelSelector ?? '').split('=');
        const items = [...this.stored.values()].filter((l) => k === undefined || l.metadata?.labels?.[k] === v);
        return wire({ items } as unknown as V1Lease) as never;
      },
      createNamespacedLease: async ({ body }) => {
        check();
        const name = body.metadata?.name ?? '';
        if (this.stored.has(name)) throw status(409, 'AlreadyExists');
        return this.store(name, body);
      },
      replaceNamespacedLease: async ({ name, body }) => {
        check();
        const prev = this.stored.get(name);
        if (prev === undefined) throw status(404, 'NotFound');
        if (body.metadata?.resourceVersion !== prev.metadata?.resourceVersion) throw status(409, 'Conflict');
        return this.store(name, body);
      },
    };
  }

  holders(shards: number): (string | undefined)[] {
    return Array.from({ length: shards }, (_, i) => this.stored.get(shardLeaseName('op', i))?.spec?.holderIdentity || undefined);
  }

  private store(name: string, body: V1Lease): V1Lease {
    const stored = wire(body);
    stored.metadata = { ...stored.metadata, name, namespace: 'ns', resourceVersion: String(++this.rv) };
    this.stored.set(name, stored);
    return wire(stored);
  }
}

const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const status = (code: number, reason: string): ApiException<string> =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, code }), {});

interface Replica {
  elector: ShardElector;
  log: string[];
  errors: unknown[];
  dead: boolean;
}

function replica(server: FakeLeases, identity: string, onLost?: (shard: number, reason: ShardLoss) => Promise<void>): Replica {
  const r: Replica = { log: [], errors: [], dead: false, elector: undefined as unknown as ShardElector };
  r.elector = new ShardElector({
    kc: fakeKubeConfig(),
    coordination: server.client(() => r.dead),
    namespace: 'ns',
    name: 'op',
    identity,
    shards: 6,
    onGained: (shard) => r.log.push(`gained:${shard}`),
    onLost: async (shard, reason) => {
      r.log.push(`lost:${shard}:${reason}`);
      await onLost?.(shard, reason);
    },
    onRenewed: () => undefined,
    onError: (err) => r.errors.push(err),
  });
  void r.elector.run();
  return r;
}

const countBy = (holders: (string | undefined)[]): Record<string, number> =>
  holders.reduce<Record<string, number>>((acc, h) => ({ ...acc, [h ?? 'nobody']: (acc[h ?? 'nobody'] ?? 0) + 1 }), {});

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('ShardElector', () => {
  test('three replicas started together settle on 2 shards each, each shard held by exactly the replica that thinks so', async () => {
    const server = new FakeLeases();
    const rs = ['a', 'b', 'c'].map((id) => replica(server, id));
    await jest.advanceTimersByTimeAsync(20_000);
    expect(countBy(server.holders(6))).toEqual({ a: 2, b: 2, c: 2 });
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      expect(rs[i]?.elector.heldShards()).toEqual(server.holders(6).flatMap((h, s) => (h === id ? [s] : [])));
    }
    // Heartbeats: one Lease per replica, besides the 6 shard Leases.
    expect([...server.stored.values()].filter((l) => l.metadata?.labels?.[LABEL_LEASE_ROLE] === 'replica')).toHaveLength(3);
    await Promise.all(rs.map((r) => r.elector.stop()));
    for (const r of rs) expect(r.errors).toEqual([]);
  });

  test('a replica that dies loses its shards to the others within the lease duration (plus a retry)', async () => {
    const server = new FakeLeases();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => replica(server, id)) as [Replica, Replica, Replica];
    await jest.advanceTimersByTimeAsync(20_000);
    const lost = a.elector.heldShards();
    expect(lost).toHaveLength(2);
    a.dead = true;
    // Still a's, seen by the others as unchanged for less than 15 s.
    await jest.advanceTimersByTimeAsync(12_000);
    expect(lost.map((i) => server.holders(6)[i])).toEqual(['a', 'a']);
    // a's own shards ended once renewals had failed for renewDeadline (10 s): it no longer acts for them.
    expect(a.elector.heldShards()).toEqual([]);
    expect(a.log.filter((l) => l.endsWith(':unreachable'))).toHaveLength(2);
    // Expired 15 s after a survivor first saw the last renewal; taken at its next round, or the one after if both
    // survivors went for the same shard (one 409).
    await jest.advanceTimersByTimeAsync(15_000 + 4 * 2_400 - 12_000);
    expect(countBy(server.holders(6))).toEqual({ b: 3, c: 3 });
    await Promise.all([b, c].map((r) => r.elector.stop()));
  });

  test('a graceful stop hands the shards over at the next round, and stops their work before releasing', async () => {
    const server = new FakeLeases();
    const order: string[] = [];
    const a = replica(server, 'a', async (shard, reason) => {
      // The Lease is still ours while the work stops. (Shards given back while the two settle are not counted.)
      if (reason === 'stopped') order.push(`stopped:${shard}:${server.holders(6)[shard] ?? 'nobody'}`);
    });
    const b = replica(server, 'b');
    await jest.advanceTimersByTimeAsync(20_000);
    expect(countBy(server.holders(6))).toEqual({ a: 3, b: 3 });
    const had = a.elector.heldShards();
    await a.elector.stop();
    expect(order).toEqual(had.map((s) => `stopped:${s}:a`));
    expect(countBy(server.holders(6))).toEqual({ b: 3, nobody: 3 });
    await jest.advanceTimersByTimeAsync(2_400 * 2);
    expect(countBy(server.holders(6))).toEqual({ b: 6 });
    await b.elector.stop();
  });

  test('a replica that joins later gets its share: the others give back what they hold beyond it', async () => {
    const server = new FakeLeases();
    const a = replica(server, 'a');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(countBy(server.holders(6))).toEqual({ a: 6 });
    const b = replica(server, 'b');
    await jest.advanceTimersByTimeAsync(15_000);
    expect(countBy(server.holders(6))).toEqual({ a: 3, b: 3 });
    expect(a.log.filter((l) => l.endsWith(':released'))).toHaveLength(3);
    await Promise.all([a, b].map((r) => r.elector.stop()));
  });

  test('heartbeat Leases are slots: replicas replaced one by one (a rollout) reuse them, so they do not pile up', async () => {
    const server = new FakeLeases();
    const current = ['a', 'b'].map((id) => replica(server, id));
    await jest.advanceTimersByTimeAsync(10_000);
    for (const next of ['c', 'd', 'e', 'f']) {
      const old = current.shift();
      await old?.elector.stop();
      current.push(replica(server, next));
      await jest.advanceTimersByTimeAsync(10_000);
    }
    expect([...server.stored.keys()].filter((n) => n.startsWith('op-replica-')).sort()).toEqual(['op-replica-0', 'op-replica-1']);
    expect(countBy(server.holders(6))).toEqual({ e: 3, f: 3 });
    await Promise.all(current.map((r) => r.elector.stop()));
  });

  test('another writer taking a held shard ends it at the next round', async () => {
    const server = new FakeLeases();
    const a = replica(server, 'a');
    await jest.advanceTimersByTimeAsync(10_000);
    const name = shardLeaseName('op', 0);
    const lease = server.stored.get(name);
    await server.client().replaceNamespacedLease({ namespace: 'ns', name, body: { ...lease, spec: { ...lease?.spec, holderIdentity: 'intruder' } } });
    await jest.advanceTimersByTimeAsync(2_400);
    expect(a.log).toContain('lost:0:taken');
    expect(a.elector.holds(0)).toBe(false);
    await a.elector.stop();
  });
});
