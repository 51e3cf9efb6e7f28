// The refill yields to claims. A claim is three writes in a row (the client's create, the member patch, the claim
// status); a replacement is a create that sets off the scheduler's bind and the kubelet's status writes, all on the
// same API server and etcd. On a busy control plane those land inside the next claim's window and set its tail, so
// while claims are arriving and binding, a pool's replacement creates wait until they pause, for a bounded time.
// The claims that count are those of the pool's namespace, not only the pool's own: the control plane is shared, and
// a stream spread over a team's pools (each pool quiet again at once) met its own refills among its next claims (make
// bench-scale, 100 claims each to another of 100 pools of 2: p99 135 ms; 50-69 ms once the namespace's counted).
// Not wider than the namespace, so one team's claims never hold another team's refill; and only a pool with a claim
// of its own within the bound yields at all, so a scale-up or a failed member's replacement is never held.
// They never wait once the pool has no ready member left: from there a claim queues for the refill.
import { clampDelayMs } from '../kube/timers.js';

/** A pool's claims have paused when none arrived or bound for this long. */
export const CLAIM_QUIET_MS = 250;
/**
 * Default bound on how long one pool's replacement creates wait for its claims to pause (`--refill-yield-seconds`):
 * longer than a burst of a few hundred claims lasts. At 2 s a 300-claim burst (about 3 s) had its whole refill
 * created in its last second, and bound 57 claims/s against 107 with the refill held to the end (make bench-peers,
 * same machine, minutes apart; the speed-of-light allocator 113 and 144).
 */
export const DEFAULT_REFILL_YIELD_MS = 5_000;
/** The flag's ceiling: past this a pool under steady claims would run down for no gain. */
export const MAX_REFILL_YIELD_MS = 30_000;

/**
 * The bound for one pool. A pool sized by the Objective autoscaler never yields: its size is the smallest that keeps
 * the chance a claim waits under its objective given that a replacement starts at once (the Poisson model of
 * autoscale/poisson.ts), and a replacement held back for up to the bound would break that promise (measured: 2.2% of
 * the samples empty against an objective of 1% with a 2 s warm-up, test/autoscale).
 */
export function refillYieldBoundMs(autoscalingMode: string | undefined, operatorBoundMs: number): number {
  return autoscalingMode === 'Objective' ? 0 : operatorBoundMs;
}

export interface RefillYieldInput {
  now: number;
  /** When a claim of the pool last arrived or bound (epoch ms); undefined if none has since the operator started. */
  lastClaimAt: number | undefined;
  /** When a claim of any pool of its namespace last arrived or bound; undefined: only the pool's own count. */
  namespaceClaimAt?: number | undefined;
  /** When the creates now wanted were first held back; undefined if they were not. */
  deferredSince: number | undefined;
  /** Members ready and unclaimed, as the pass sees them. */
  readyMembers: number;
  /** The bound; 0 turns yielding off. */
  maxMs: number;
  /** How long without a claim counts as a pause (CLAIM_QUIET_MS; tests lengthen it). */
  quietMs?: number;
}

/**
 * wait: plan again after afterMs (the pause, if no claim comes meanwhile, or the bound); boundMs is how long until the
 * bound ends the wait whatever the claims do (a caller woken at the pause needs no earlier pass).
 */
export type RefillYield = { kind: 'create' } | { kind: 'wait'; afterMs: number; boundMs: number };

/** Pure: create the deficit now, or plan the pool again after afterMs (when the claims will have paused, or the bound). */
export function refillYield({
  now,
  lastClaimAt,
  namespaceClaimAt,
  deferredSince,
  readyMembers,
  maxMs,
  quietMs = CLAIM_QUIET_MS,
}: RefillYieldInput): RefillYield {
  if (maxMs <= 0 || lastClaimAt === undefined || readyMembers <= 0) return { kind: 'create' };
  // A clock that stepped back behind the start of the wait ends it: otherwise the wait could outlast its bound.
  if (deferredSince !== undefined && deferredSince > now) return { kind: 'create' };
  // A pool whose own last claim is older than the bound has a deficit its claims did not make: nothing to yield to.
  if (deferredSince === undefined && now - lastClaimAt >= maxMs) return { kind: 'create' };
  // Behind the last claim, it reads as a claim just now: the window, never more.
  const latest = namespaceClaimAt === undefined ? lastClaimAt : Math.max(lastClaimAt, namespaceClaimAt);
  const sinceClaim = Math.max(0, now - latest);
  if (sinceClaim >= quietMs) return { kind: 'create' };
  const left = maxMs - (deferredSince === undefined ? 0 : now - deferredSince);
  if (left <= 0) return { kind: 'create' };
  return { kind: 'wait', afterMs: Math.max(1, Math.min(quietMs - sinceClaim, left)), boundMs: Math.max(1, left) };
}

/** Namespaces remembered before those whose claims have paused are dropped (a CI run's namespaces, say). */
export const NAMESPACE_CLAIMS_PRUNE_AT = 256;

/**
 * When a claim of any pool of each namespace last arrived or bound (only the last quiet window matters), and the
 * pools whose refill waits for the namespace's claims to pause: those are woken (`wake`) once the pause comes, so a
 * waiting pool is planned again then, or at its bound, not every quiet window while a stream lasts (a burst across
 * 1,000 pools had each of them planned four times a second).
 */
export class NamespaceClaims {
  private readonly at = new Map<string, number>();
  private readonly waiting = new Map<string, Set<string>>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly quietMs: number = CLAIM_QUIET_MS,
    private readonly wake: (keys: readonly string[]) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  record(namespace: string, atMs: number): void {
    if (this.at.size >= NAMESPACE_CLAIMS_PRUNE_AT && !this.at.has(namespace)) {
      for (const [ns, last] of this.at) if (atMs - last >= this.quietMs && !this.waiting.has(ns)) this.at.delete(ns);
    }
    this.at.set(namespace, Math.max(this.at.get(namespace) ?? atMs, atMs));
  }

  lastAt(namespace: string): number | undefined {
    return this.at.get(namespace);
  }

  /** The pool with this key waits for the namespace's claims to pause: wake it when they do. */
  waitFor(namespace: string, key: string): void {
    let keys = this.waiting.get(namespace);
    if (!keys) this.waiting.set(namespace, (keys = new Set()));
    keys.add(key);
    if (!this.timers.has(namespace)) this.arm(namespace);
  }

  /** Drops every timer; nothing is woken afterwards. */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
  }

  get size(): number {
    return this.at.size;
  }

  // One timer per namespace with waiting pools, due when its claims will have paused if none comes meanwhile; a claim
  // that came re-arms it then, so a stream costs a timer per quiet window, not one per claim.
  private arm(namespace: string): void {
    const due = (this.at.get(namespace) ?? this.now()) + this.quietMs;
    const timer = setTimeout(() => {
      this.timers.delete(namespace);
      if (this.now() < (this.at.get(namespace) ?? 0) + this.quietMs) {
        this.arm(namespace);
        return;
      }
      const keys = this.waiting.get(namespace);
      this.waiting.delete(namespace);
      if (keys && keys.size > 0) this.wake([...keys]);
    }, clampDelayMs(Math.max(1, due - this.now())));
    timer.unref?.();
    this.timers.set(namespace, timer);
  }
}
