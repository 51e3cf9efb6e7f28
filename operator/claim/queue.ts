// The claim queue of one pool: the order pending claims are served in (the pool's claimQueue.strategy) and the
// backpressure that fails claims once too many wait (maxPending, onFull). Pure and deterministic: every tie is
// broken by creation time and then name, so two passes over the same claims give the same queue.
import type { ResolvedClaim } from '../api/resolve.js';
import type { OnFull, PoolClaim, QueueStrategy } from '../api/types.js';
import { toMillis } from '../member/members.js';

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function createdAt(claim: PoolClaim): number {
  // A claim always has a creationTimestamp once stored; without one it counts as the newest.
  return toMillis(claim.metadata.creationTimestamp) ?? Number.POSITIVE_INFINITY;
}

/** Arrival order: creationTimestamp, then name (timestamps have whole seconds, so ties are common). */
export function compareArrival(a: PoolClaim, b: PoolClaim): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareNames(a.metadata.name ?? '', b.metadata.name ?? '');
}

/** Priority order: higher spec.priority first (resolved at the door: unset is 0), then arrival order. */
export function comparePriority(a: ResolvedClaim, b: ResolvedClaim): number {
  const byPriority = b.spec.priority - a.spec.priority;
  return byPriority !== 0 ? byPriority : compareArrival(a, b);
}

/**
 * Round robin over the distinct acquiredBy values (an unset acquiredBy is one acquirer of its own), each sub-queue in
 * arrival order. The rotation starts with the acquirer whose oldest claim is oldest, so it is stable between passes,
 * and an acquirer that floods the queue gets one turn per round like everyone else.
 */
function fairShare<C extends PoolClaim>(claims: readonly C[]): C[] {
  const byAcquirer = new Map<string, C[]>();
  for (const claim of [...claims].sort(compareArrival)) {
    const key = claim.spec.acquiredBy ?? '';
    const queue = byAcquirer.get(key);
    if (queue) queue.push(claim);
    else byAcquirer.set(key, [claim]);
  }
  // Insertion order of the map is the order of each acquirer's oldest claim, as the claims were sorted first.
  const queues = [...byAcquirer.values()];
  const ordered: C[] = [];
  for (let round = 0; ordered.length < claims.length; round++) {
    for (const queue of queues) {
      const claim = queue[round];
      if (claim !== undefined) ordered.push(claim);
    }
  }
  return ordered;
}

/** The order in which the pool serves its pending claims. */
export function orderClaims<C extends ResolvedClaim>(claims: readonly C[], strategy: QueueStrategy): C[] {
  switch (strategy) {
    case 'Priority':
      return [...claims].sort(comparePriority);
    case 'FIFO':
      return [...claims].sort(compareArrival);
    case 'FairShare':
      return fairShare(claims);
  }
}

export interface Backpressure<C extends PoolClaim = PoolClaim> {
  /** The claims that keep waiting, in queue order. */
  ordered: C[];
  /** The claims that fail with reason QueueFull, in arrival order. */
  rejected: C[];
}

/**
 * Applies maxPending to the claims that must wait (in queue order; claims served at once never wait, so they never
 * count). RejectNewest fails the latest arrivals beyond maxPending, so a newcomer never displaces a claim already
 * waiting; RejectOldest fails the longest-waiting ones to make room for the new.
 */
export function applyBackpressure<C extends PoolClaim>(
  waiting: readonly C[],
  maxPending: number | undefined,
  onFull: OnFull,
): Backpressure<C> {
  if (maxPending === undefined || waiting.length <= maxPending) return { ordered: [...waiting], rejected: [] };
  const byArrival = [...waiting].sort(compareArrival);
  const excess = waiting.length - Math.max(0, maxPending);
  const rejected = onFull === 'RejectOldest' ? byArrival.slice(0, excess) : byArrival.slice(byArrival.length - excess);
  const out = new Set(rejected);
  return { ordered: waiting.filter((claim) => !out.has(claim)), rejected };
}
