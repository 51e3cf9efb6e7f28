// The pool's status.pendingClaims, which the claim controller owns: for people (kubectl get ipool), not for the claim
// path, so it is written at most every POOL_PENDING_MIN_INTERVAL_MS and never twice with the same value. Not
// OwnWrites: the memory of a write outlives the cache showing it, since it paces the next one.

/** The pool's status.pendingClaims is written at most this often. */
export const POOL_PENDING_MIN_INTERVAL_MS = 2_000;

export interface LastPendingWrite {
  value: number;
  /** Epoch ms. */
  at: number;
}

export type PendingWriteDecision =
  | { kind: 'skip' }
  /** Plan the pool again once the interval is over. */
  | { kind: 'later'; afterMs: number }
  | { kind: 'write' };

export interface PendingWriteInput {
  /** The pool's status.pendingClaims as cached (unset reads 0); undefined when the pool does not exist. */
  cached: number | undefined;
  /** What the planner counted. */
  value: number;
  last: LastPendingWrite | undefined;
  now: number;
}

/** Pure: whether to write the count now, later, or not at all. */
export function decidePendingWrite({ cached, value, last, now }: PendingWriteInput): PendingWriteDecision {
  if (cached === undefined || cached === value || last?.value === value) return { kind: 'skip' };
  if (last && now - last.at < POOL_PENDING_MIN_INTERVAL_MS) return { kind: 'later', afterMs: POOL_PENDING_MIN_INTERVAL_MS - (now - last.at) };
  return { kind: 'write' };
}

/** The last count written to each pool, by pool key. */
export class PoolPendingWrites {
  private readonly last = new Map<string, LastPendingWrite>();

  decide(key: string, cached: number | undefined, value: number, now: number): PendingWriteDecision {
    return decidePendingWrite({ cached, value, last: this.last.get(key), now });
  }

  wrote(key: string, value: number, now: number): void {
    this.last.set(key, { value, at: now });
  }
}
