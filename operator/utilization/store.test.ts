import type { PoolUtilization } from '../api/types.js';
import { UtilizationStore } from './store.js';

const u = (httpRps: number): PoolUtilization => ({ combinedRps: httpRps, httpRps, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: '2026-12-06T00:00:00Z' });

describe('UtilizationStore.statusFor: what a pool status write carries', () => {
  test.each<{ name: string; measured?: PoolUtilization; shown?: PoolUtilization; want?: PoolUtilization }>([
    { name: 'nothing measured: what the pool shows stays', shown: u(5), want: u(5) },
    { name: 'nothing measured, nothing shown: none', want: undefined },
    { name: 'first measurement: it', measured: u(5), want: u(5) },
    { name: 'a measurement within the noise: what is shown, so no write', measured: u(5.01), shown: u(5), want: u(5) },
    { name: 'a real move: the measurement', measured: u(9), shown: u(5), want: u(9) },
  ])('$name', ({ measured, shown, want }) => {
    const store = new UtilizationStore();
    if (measured) store.set('ns/web', measured);
    expect(store.statusFor('ns/web', shown)).toEqual(want);
    expect(store.statusFor('ns/other', shown)).toEqual(shown);
  });
});
