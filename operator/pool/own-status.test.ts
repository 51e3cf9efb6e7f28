import type { InstancePool, InstancePoolStatus } from '../api/types.js';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { OwnWrites } from '../kube/own-writes.js';
import { OWN_STATUS_TTL_MS, statusWritten } from './own-status.js';

const KEY = 'ns/web';
const T0 = Date.parse('2026-11-24T12:00:00Z');

const cachedPool = (status: InstancePoolStatus, uid = 'pool-uid'): InstancePool => ({
  apiVersion: API_VERSION,
  kind: POOL_KIND,
  metadata: { name: 'web', namespace: 'ns', uid, resourceVersion: '5' },
  spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } }, targetSize: 3 },
  status,
});

// What the pass wrote: the fields the pool controller owns.
const written: InstancePoolStatus = { phase: 'Active', readyCount: 3, warmingCount: 0, erroredCount: 2 };
const behind: InstancePoolStatus = { phase: 'Active', readyCount: 2, warmingCount: 1, erroredCount: 2 };

describe('the pool as our status write leaves it (OwnWrites view)', () => {
  test.each<{ name: string; cached: InstancePool; ageMs: number; want: InstancePoolStatus; kept: boolean; echo: boolean }>([
    {
      name: 'cache behind our write: our fields, the other writers\' fields kept',
      cached: cachedPool({ ...behind, pendingClaims: 4 }),
      ageMs: 10,
      want: { ...written, pendingClaims: 4 },
      kept: true,
      echo: false,
    },
    {
      name: 'cache shows our write: the cache, and the record goes',
      cached: cachedPool({ ...written, pendingClaims: 4 }),
      ageMs: 10,
      want: { ...written, pendingClaims: 4 },
      kept: false,
      echo: true,
    },
    {
      name: 'erroredCount never goes back: the larger of the two',
      cached: cachedPool({ ...behind, erroredCount: 5 }),
      ageMs: 10,
      want: { ...written, erroredCount: 5 },
      kept: true,
      echo: false,
    },
    {
      name: 'an owned field our write did not carry is not taken from the cache',
      cached: cachedPool({ ...behind, warmup: { lastSeconds: 2, averageSeconds: 2, samples: 1 } }),
      ageMs: 10,
      want: written,
      kept: true,
      echo: false,
    },
    {
      name: 'another pool of the same name: the cache, and the record goes',
      cached: cachedPool(behind, 'other-uid'),
      ageMs: 10,
      want: behind,
      kept: false,
      echo: false,
    },
    {
      name: 'a write the cache never shows is believed for OWN_STATUS_TTL_MS only',
      cached: cachedPool(behind),
      ageMs: OWN_STATUS_TTL_MS,
      want: behind,
      kept: false,
      echo: false,
    },
  ])('$name', ({ cached, ageMs, want, kept, echo }) => {
    let now = T0;
    const own = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => now });
    own.record(KEY, statusWritten('pool-uid', written));
    now += ageMs;
    expect(own.isEcho(KEY, cached)).toBe(echo);
    const viewed = own.view(KEY, cached, undefined);
    expect(viewed.status).toEqual(want);
    expect(viewed.metadata).toEqual(cached.metadata);
    expect(own.size).toBe(kept ? 1 : 0);
  });
});

test('utilization is ours too: a write carrying it is an echo once the cache shows it, and overlays it until then', () => {
  const utilization = { combinedRps: 1, httpRps: 1, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: '2026-11-24T12:00:00Z' };
  const own = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => T0 });
  own.record(KEY, statusWritten('pool-uid', { ...written, utilization }));
  const before = cachedPool({ ...written, pendingClaims: 1 });
  expect(own.isEcho(KEY, before)).toBe(false);
  expect(own.view(KEY, before, undefined).status).toEqual({ ...written, utilization, pendingClaims: 1 });
  const shown = cachedPool({ ...written, utilization, pendingClaims: 1 });
  expect(own.isEcho(KEY, shown)).toBe(true);
  own.view(KEY, shown, undefined);
  expect(own.size).toBe(0);
});
