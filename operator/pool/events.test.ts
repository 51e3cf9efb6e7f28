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
  it.each<{ name: string; now: InstancePool; old: InstancePool | undefined; lastWritten: InstancePoolStatus | undefined; want: boolean }>([
    { name: 'a new pool', now: pool(), old: undefined, lastWritten: undefined, want: true },
    {
      name: 'our own status write coming back',
      now: pool({}, written),
      old: pool({}, { readyCount: 2, warmingCount: 1 }),
      lastWritten: written,
      want: false,
    },
    {
      name: 'a status nobody we know wrote (repair it)',
      now: pool({}, { readyCount: 9 }),
      old: pool({}, written),
      lastWritten: written,
      want: true,
    },
    {
      name: 'a status change before we ever wrote one',
      now: pool({}, { readyCount: 9 }),
      old: pool({}, {}),
      lastWritten: undefined,
      want: true,
    },
    {
      name: 'fields other writers own (pendingClaims, utilization)',
      now: pool({}, { ...written, pendingClaims: 2 }),
      old: pool({}, written),
      lastWritten: written,
      want: false,
    },
    {
      name: 'a spec change (scale, pause, drain, template)',
      now: pool({ generation: 2 }, written),
      old: pool({}, written),
      lastWritten: written,
      want: true,
    },
    {
      name: 'deletion starts',
      now: pool({ deletionTimestamp: new Date() }, written),
      old: pool({}, written),
      lastWritten: written,
      want: true,
    },
    {
      name: 'a finalizer goes',
      now: pool({ finalizers: [] }, written),
      old: pool({ finalizers: ['warmpool.dev/pool'] }, written),
      lastWritten: written,
      want: true,
    },
    { name: 'a label changes', now: pool({ labels: { team: 'a' } }, written), old: pool({}, written), lastWritten: written, want: true },
  ])('$name', ({ now, old, lastWritten, want }) => {
    // Our last status write, recorded as the controller records it: the update is its echo when it shows it.
    const own = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => 0 });
    if (lastWritten) own.record('n/p', statusWritten('pu', lastWritten));
    expect(poolChangeMatters(now, old, own.isEcho('n/p', now))).toBe(want);
  });
});
