// The pool's status as our own last write leaves it, until the pool cache shows that write: the pool controller's
// use of OwnWrites (kube/own-writes.ts), the mechanism the claim controller uses for its binds and claim writes.
// A pass reads the pool through it, so a pass that runs before the cache catches up plans from the status it
// wrote (conditions keep their transition times, erroredCount never goes back) and does not write it again; and
// the echo of the write through the watch is known, so it does not wake the pool (poolChangeMatters).
import type { InstancePool, InstancePoolStatus } from '../api/types.js';
import type { OwnWrite } from '../kube/own-writes.js';
import { ownedStatus, statusEqual, writtenStatus } from './status.js';

/**
 * How long a status write the cache does not show stays overlaid. Long: the record goes as soon as the cache shows
 * the write, which normally takes milliseconds; it stays only while the watch lags or another writer changed the
 * status after us (a pass then still writes ours back, see PoolController.writeStatus).
 */
export const OWN_STATUS_TTL_MS = 5 * 60_000;

/**
 * Our write of `written` (the fields the pool controller writes, writtenStatus: the planner's and utilization) to
 * the pool with this uid. The overlay replaces those fields and keeps the others (pendingClaims, the claim
 * controller's); erroredCount is the larger of the two, as it is cumulative.
 */
export function statusWritten(uid: string, written: InstancePoolStatus): OwnWrite<InstancePool> {
  const echo = (cached: InstancePool): boolean => statusEqual(writtenStatus(cached.status), written);
  return {
    apply: (cached) => {
      const owned = ownedStatus(cached.status);
      const others = Object.fromEntries(Object.entries(cached.status ?? {}).filter(([field]) => !(field in owned)));
      const erroredCount = Math.max(cached.status?.erroredCount ?? 0, written.erroredCount ?? 0);
      return { ...cached, status: { ...others, ...written, erroredCount } };
    },
    // A pool of the same name with another uid is another pool: our write was not to it.
    shown: (cached) => (cached.metadata.uid ?? '') !== uid || echo(cached),
    echo,
  };
}
