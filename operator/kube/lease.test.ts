import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig } from './fake-http.js';
import { acquiredSpec, decideLease, leaseBody, microTime, releasedSpec, renewedSpec, type LeaseDecision } from './lease.js';

const NOW = 1_700_000_000_000;

function lease(holder: string | undefined, durationSeconds?: number, transitions = 2): V1Lease {
  return {
    metadata: { name: 'op', namespace: 'ns', resourceVersion: '10' },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: durationSeconds,
      // As read from the API: MicroTime fields arrive as strings.
      renewTime: '2023-11-14T22:13:20.000000Z' as unknown as V1MicroTime,
      acquireTime: '2023-11-14T22:00:00.123456Z' as unknown as V1MicroTime,
      leaseTransitions: transitions,
    },
  };
}

describe('decideLease', () => {
  test.each<{ name: string; observed: V1Lease | undefined; now: number; want: LeaseDecision }>([
    { name: 'no lease: create', observed: undefined, now: NOW, want: { action: 'create' } },
    { name: 'we hold it: renew', observed: lease('me', 15), now: NOW, want: { action: 'renew' } },
    { name: 'we hold it, even if it looks expired: renew', observed: lease('me', 15), now: NOW + 3_600_000, want: { action: 'renew' } },
    { name: 'released (no holder): take over', observed: lease(undefined, 1), now: NOW, want: { action: 'takeover', reason: 'released' } },
    { name: 'released (empty holder): take over', observed: lease('', 1), now: NOW, want: { action: 'takeover', reason: 'released' } },
    {
      name: 'held and fresh: wait',
      observed: lease('peer', 15),
      now: NOW + 14_999,
      want: { action: 'wait', holder: 'peer', expiresAtMs: NOW + 15_000 },
    },
    {
      name: 'held, unchanged for its duration: take over',
      observed: lease('peer', 15),
      now: NOW + 15_000,
      want: { action: 'takeover', reason: 'expired' },
    },
    {
      name: 'the lease states its own duration',
      observed: lease('peer', 60),
      now: NOW + 30_000,
      want: { action: 'wait', holder: 'peer', expiresAtMs: NOW + 60_000 },
    },
    { name: 'without a stated duration ours applies', observed: lease('peer'), now: NOW + 15_000, want: { action: 'takeover', reason: 'expired' } },
  ])('$name', ({ observed, now, want }) => {
    // observedAtMs = NOW: this process first saw this version of the lease at NOW.
    expect(decideLease(observed, 'me', now, 15, NOW)).toEqual(want);
  });

  test('expiry counts from when this process saw the version, not from the holder\'s renewTime', () => {
    // renewTime in the lease is long past, but we only just saw this version: a skewed clock must not win.
    expect(decideLease(lease('peer', 15), 'me', NOW + 1000, 15, NOW).action).toBe('wait');
  });
});

describe('lease specs', () => {
  test('acquiring a new lease starts the transition count at 0', () => {
    const spec = acquiredSpec(undefined, 'me', NOW, 15);
    expect(spec).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: new V1MicroTime(NOW),
      renewTime: new V1MicroTime(NOW),
      leaseTransitions: 0,
    });
    expect(spec.acquireTime).toBeInstanceOf(V1MicroTime);
    expect(spec.renewTime).toBeInstanceOf(V1MicroTime);
  });

  test('taking over counts a transition and resets acquireTime', () => {
    const spec = acquiredSpec(lease('peer', 15, 4).spec, 'me', NOW, 15);
    expect(spec.leaseTransitions).toBe(5);
    expect(spec.holderIdentity).toBe('me');
    expect(spec.acquireTime?.getTime()).toBe(NOW);
  });

  test('renewing keeps acquireTime (converted from the string read back) and the transition count', () => {
    const spec = renewedSpec(lease('me', 15, 4).spec, 'me', NOW, 15);
    expect(spec.leaseTransitions).toBe(4);
    expect(spec.acquireTime).toBeInstanceOf(V1MicroTime);
    expect(spec.acquireTime?.toISOString()).toBe('2023-11-14T22:00:00.123000Z');
    expect(spec.renewTime?.getTime()).toBe(NOW);
  });

  test('releasing clears the holder and shortens the duration', () => {
    const spec = releasedSpec(lease('me', 15, 4).spec, NOW);
    expect(spec.holderIdentity).toBeUndefined();
    expect(spec.leaseDurationSeconds).toBe(1);
    expect(spec.leaseTransitions).toBe(4);
    expect(spec.renewTime).toBeInstanceOf(V1MicroTime);
  });

  test('durations are whole seconds of at least 1', () => {
    expect(acquiredSpec(undefined, 'me', NOW, 0.3).leaseDurationSeconds).toBe(1);
    expect(renewedSpec(undefined, 'me', NOW, 2.5).leaseDurationSeconds).toBe(3);
  });

  test('microTime accepts what the API hands back and rejects garbage', () => {
    expect(microTime('2023-11-14T22:13:20.000000Z')?.getTime()).toBe(NOW);
    expect(microTime(new Date(NOW))).toBeInstanceOf(V1MicroTime);
    expect(microTime(NOW)?.getTime()).toBe(NOW);
    expect(microTime('yesterday')).toBeUndefined();
    expect(microTime(undefined)).toBeUndefined();
  });

  test('leaseBody carries the observed metadata (and so its resourceVersion) on replace', () => {
    const observed = lease('peer', 15);
    const body = leaseBody('ns', 'op', acquiredSpec(observed.spec, 'me', NOW, 15), observed);
    expect(body.metadata).toEqual({ name: 'op', namespace: 'ns', resourceVersion: '10' });
    expect(leaseBody('ns', 'op', acquiredSpec(undefined, 'me', NOW, 15)).metadata).toEqual({ name: 'op', namespace: 'ns' });
  });
});

describe('lease on the wire', () => {
  test('acquireTime and renewTime go out with 6 fractional digits, as the apiserver requires', async () => {
    const http = fakeHttp(() => ({ status: 201, body: {} }));
    const { coordination } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi });
    const body = leaseBody('ns', 'op', acquiredSpec(undefined, 'me', NOW + 123, 15));
    await coordination.createNamespacedLease({ namespace: 'ns', body });
    const sent = JSON.parse(http.requests[0]?.body ?? '{}') as { spec: Record<string, unknown> };
    expect(sent.spec).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2023-11-14T22:13:20.123000Z',
      renewTime: '2023-11-14T22:13:20.123000Z',
      leaseTransitions: 0,
    });
  });
});
