// When each claim arrived, for the claim latency metrics (queue, bind, total). Not a write of ours, so not OwnWrites:
// it is what this process saw first, kept from a claim's first sight until it binds or goes away.
import type { PoolClaim } from '../api/types.js';

/**
 * When a claim arrived, in ms, for its latency metrics. creationTimestamp is truncated to the second, so a claim made
 * at 12:00:00.900 and bound 50 ms later would count 950 ms. The first sight of it by this process is precise and
 * never before its creation; it is used when it falls inside the creation second (seen at once, the usual case).
 * Otherwise (a claim that existed before this process started) the truncated time is all there is.
 */
export function claimArrival(createdMs: number | undefined, firstSeenMs: number | undefined): number | undefined {
  if (createdMs === undefined) return firstSeenMs;
  return firstSeenMs !== undefined && firstSeenMs >= createdMs && firstSeenMs < createdMs + 1000 ? firstSeenMs : createdMs;
}

/** First sights of new claims, by uid, until they bind or are deleted. */
export class Arrivals {
  private readonly firstSeen = new Map<string, number>();

  /**
   * A claim came into the cache: one no pass has written yet (no phase) is timed from now. True when it was not
   * known yet (a relist sees it again and times it again, but it is one arrival): the autoscaler counts the pool's
   * claim rate from exactly these, so arrivals are counted once, here.
   */
  seen(claim: PoolClaim, now: number): boolean {
    const uid = claim.metadata.uid;
    if (!uid || claim.status?.phase !== undefined) return false;
    const fresh = !this.firstSeen.has(uid);
    this.firstSeen.set(uid, now);
    return fresh;
  }

  /** The claim bound: when it arrived (claimArrival), and it is forgotten. */
  take(uid: string, createdMs: number | undefined): number | undefined {
    const arrived = claimArrival(createdMs, this.firstSeen.get(uid));
    this.firstSeen.delete(uid);
    return arrived;
  }

  /** The claim was deleted. */
  forget(uid: string): void {
    this.firstSeen.delete(uid);
  }
}
