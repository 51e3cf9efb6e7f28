import type { InstancePool, InstancePoolStatus } from '../api/types.js';
import { OwnWrites } from '../kube/own-writes.js';
import { poolChangeMatters } from './controller.js';
import { OWN_STATUS_TTL_MS, statusWritten } from './own-status.js';

const pool = (over: Partial<InstancePool['metadata']> = {}, status: InstancePoolStatus = {}): InstancePool => ({
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'p', namespace: 'n', uid: 'pu', generation: 1, ...over },
  spec: { targetSize: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
  status,
});

describe('which pool updates wake the pool planner', () => {
  const written: InstancePoolStatus = { readyCount: 3, warmingCount: 0 };
  it.each<[string, InstancePool, InstancePool | undefined, InstancePoolStatus | undefined, boolean]>([
    ['a new pool', pool(), undefined, undefined, true],
    ['our own status write coming back', pool({}, written), pool({}, { readyCount: 2, warmingCount: 1 }), written, false],
    ['a status nobody we know wrote (repair it)', pool({}, { readyCount: 9 }), pool({}, written), written, true],
    ['a status change before we ever wrote one', pool({}, { readyCount: 9 }), pool({}, {}), undefined, true],
    ['fields other writers own (pendingClaims, utilization)', pool({}, { ...written, pendingClaims: 2 }), pool({}, written), written, false],
    ['a spec change (scale, pause, drain, template)', pool({ generation: 2 }, written), pool({}, written), written, true],
    ['deletion starts', pool({ deletionTimestamp: new Date() }, written), pool({}, written), written, true],
    ['a finalizer goes', pool({ finalizers: [] }, written), pool({ finalizers: ['warmpool.dev/pool'] }, written), written, true],
    ['a label changes', pool({ labels: { team: 'a' } }, written), pool({}, written), written, true],
  ])('%s', (_n, now, old, lastWritten, want) => {
    // Our last status write, recorded as the controller records it: the update is its echo when it shows it.
    const own = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => 0 });
    if (lastWritten) own.record('n/p', statusWritten('pu', lastWritten));
    expect(poolChangeMatters(now, old, own.isEcho('n/p', now))).toBe(want);
  });
});
