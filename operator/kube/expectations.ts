// ReplicaSet-style expectations: after a controller creates or deletes objects it records how many creations and
// which deletions it expects to see in its cache, and does not act on that key again until it has seen them, so a
// lagging cache never makes it create or delete twice. A record older than the TTL counts as satisfied, so a lost
// watch event delays a key by at most the TTL instead of wedging it.

export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Expectation {
  creations: number;
  deletions: Set<string>;
  /** When the expectation was last raised; observations do not refresh it. */
  setAtMs: number;
}

export interface PendingExpectations {
  creations: number;
  deletions: readonly string[];
}

export class Expectations {
  private readonly records = new Map<string, Expectation>();

  constructor(private readonly ttlMs: number = EXPECTATIONS_TTL_MS) {}

  /** Expects n more creations for key. */
  expectCreations(key: string, n: number, now: number = Date.now()): void {
    this.raise(key, now).creations += n;
  }

  /** Expects the deletion of each uid (added to any outstanding ones). */
  expectDeletions(key: string, uids: readonly string[], now: number = Date.now()): void {
    const record = this.raise(key, now);
    for (const uid of uids) record.deletions.add(uid);
  }

  /** A creation showed up in the cache. */
  creationObserved(key: string): void {
    const record = this.records.get(key);
    if (record !== undefined && record.creations > 0) record.creations--;
  }

  /** Takes back n creations that will never be observed (the create call failed). */
  lowerCreations(key: string, n: number): void {
    const record = this.records.get(key);
    if (record !== undefined) record.creations = Math.max(0, record.creations - n);
  }

  /** A deletion showed up in the cache (or the delete call found the object already gone). */
  deletionObserved(key: string, uid: string): void {
    this.records.get(key)?.deletions.delete(uid);
  }

  /** True when the key may be acted on: nothing outstanding, or the record is older than the TTL. */
  satisfied(key: string, now: number = Date.now()): boolean {
    const record = this.records.get(key);
    if (record === undefined) return true;
    return isFulfilled(record) || now - record.setAtMs > this.ttlMs;
  }

  /** What is still outstanding, for logs. */
  pending(key: string): PendingExpectations {
    const record = this.records.get(key);
    return { creations: record?.creations ?? 0, deletions: [...(record?.deletions ?? [])] };
  }

  /** Forgets the key (the object it belongs to is gone). */
  clear(key: string): void {
    this.records.delete(key);
  }

  // A record that is fulfilled or expired is replaced rather than added to, so stale counts left by lost events
  // never carry over into the next round.
  private raise(key: string, now: number): Expectation {
    const current = this.records.get(key);
    if (current !== undefined && !isFulfilled(current) && now - current.setAtMs <= this.ttlMs) {
      current.setAtMs = now;
      return current;
    }
    const fresh: Expectation = { creations: 0, deletions: new Set(), setAtMs: now };
    this.records.set(key, fresh);
    return fresh;
  }
}

function isFulfilled(record: Expectation): boolean {
  return record.creations <= 0 && record.deletions.size === 0;
}
