// A keyed work queue with client-go's workqueue semantics (dirty / processing / re-add), a delaying layer and the
// default controller rate limiter (per-key exponential back-off, max'ed with a global token bucket for retries).
//
// Invariants: a key is in `queue` at most once; a key in `queue` is in `dirty`; a key in `processing` is never in
// `queue` (if it is added meanwhile it is only marked dirty, and done() puts it back), so one key is never worked on
// by two workers at once.
import { backoffDelayMs, TokenBucket } from './rate-limit.js';
import { clampDelayMs } from './timers.js';

/** Metric hooks, named after client-go's workqueue metrics. Every hook is optional. */
export interface WorkQueueHooks {
  /** A key was accepted (not counted when de-duplicated). */
  onAdd?(name: string): void;
  onDepth?(name: string, depth: number): void;
  /** Seconds from a key's first add to a worker picking it up. */
  onLatency?(name: string, seconds: number): void;
  /** Seconds from get() to done() for one key. */
  onWorkDuration?(name: string, seconds: number): void;
  onRetry?(name: string): void;
}

export interface WorkQueueOptions {
  /** Label passed to every hook. */
  name?: string;
  /** First retry delay of a key; doubles per failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-key delay. Default 60 s. */
  maxDelayMs?: number;
  /** Global token bucket over rate-limited re-adds. Defaults 50 qps, burst 300. */
  qps?: number;
  burst?: number;
  hooks?: WorkQueueHooks;
  /**
   * Pacing of one key's passes: after a pass that took d ms, the key's next pass starts no sooner than
   * min(maxMs, factor × d) after it ended. Events keep arriving while a pass runs; for a pass that plans a whole pool
   * (O(members + claims)), one pass per event makes a burst quadratic. Pacing bounds the share of time one key's
   * passes take to 1 / (1 + factor), and each pass then covers every event of the wait. A quick pass is followed by
   * a short pause, so an idle pool reacts at once. Default: no pacing.
   */
  pace?: { factor: number; maxMs: number };
  /** Clock in ms; defaults to Date.now, which jest's modern fake timers also drive. */
  now?: () => number;
}

interface Delayed {
  readyAtMs: number;
  timer: NodeJS.Timeout;
}

/** The longest a pass may hold its key (done's holdMs): a hold defers events, so it stays short. */
export const MAX_HOLD_MS = 10_000;

export class WorkQueue {
  readonly name: string;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly bucket: TokenBucket;
  private readonly hooks: WorkQueueHooks;
  private readonly now: () => number;

  private queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>(); // key -> ms when handed out
  private readonly addedAtMs = new Map<string, number>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly failures = new Map<string, number>();
  /** Earliest start of a key's next pass (pacing), while in the future. */
  private readonly notBefore = new Map<string, number>();
  /** Keys dirty and held back by pacing, with the timer that releases them. */
  private readonly paced = new Map<string, NodeJS.Timeout>();
  private readonly pace: { factor: number; maxMs: number } | undefined;
  private waiters: Array<(key: string | undefined) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? '';
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.bucket = new TokenBucket(opts.qps ?? 50, opts.burst ?? 300);
    this.hooks = opts.hooks ?? {};
    this.now = opts.now ?? (() => Date.now());
    if (opts.pace !== undefined && !(opts.pace.factor >= 0 && opts.pace.maxMs >= 0)) {
      throw new Error(`WorkQueue: pace factor and maxMs must be >= 0 (got ${opts.pace.factor}, ${opts.pace.maxMs})`);
    }
    this.pace = opts.pace;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAtMs.set(key, this.now());
    this.hooks.onAdd?.(this.name);
    // A key being worked on goes back in line when done() is called, never to a second worker.
    if (this.processing.has(key)) return;
    this.enqueueOrPace(key);
  }

  /**
   * Adds the key after ms; when it is already waiting, the earlier of the two times wins. Every controller requeue
   * lands here, so this is where a delay is clamped (timers.ts): a key asked back in 30 days comes back within the
   * hour, and its planner, level-triggered, simply asks again for the time that is left.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    const delayMs = clampDelayMs(ms);
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAtMs = this.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.readyAtMs <= readyAtMs) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAtMs, timer });
  }

  /** Re-adds a key after its back-off: the longer of its own exponential delay and the global bucket's. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.max(backoffDelayMs(failures, this.baseDelayMs, this.maxDelayMs), this.bucket.reserve(this.now()));
    this.hooks.onRetry?.(this.name);
    this.addAfter(key, delay);
  }

  /** Resets the key's back-off (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on; waits for one. undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Marks the key's processing finished; if it was added meanwhile it goes back in line, after its pacing. holdMs:
   * the pass says its key's next pass can wait this long (events meanwhile fold into that one pass), e.g. a pool
   * whose refill yields to its claims.
   */
  done(key: string, holdMs = 0): void {
    const startedMs = this.processing.get(key);
    if (startedMs === undefined) return;
    this.processing.delete(key);
    const nowMs = this.now();
    this.hooks.onWorkDuration?.(this.name, (nowMs - startedMs) / 1000);
    const paceMs = this.pace === undefined ? 0 : Math.min(this.pace.maxMs, this.pace.factor * (nowMs - startedMs));
    const pauseMs = Math.max(paceMs, Number.isFinite(holdMs) ? Math.min(Math.max(0, holdMs), MAX_HOLD_MS) : 0);
    if (pauseMs > 0) this.notBefore.set(key, nowMs + pauseMs);
    else this.notBefore.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueueOrPace(key);
    if (this.processing.size === 0) this.wakeDrainers();
  }

  /** Keys waiting to be handed out (not the delayed ones, nor those being processed). */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys, drops delayed adds and wakes every waiting get() with undefined. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const timer of this.paced.values()) clearTimeout(timer);
    this.paced.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake(undefined);
  }

  /** Shuts the queue down (if not yet) and resolves once no key is being processed. */
  drain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    const nowMs = this.now();
    this.processing.set(key, nowMs);
    const addedAt = this.addedAtMs.get(key);
    this.addedAtMs.delete(key);
    if (addedAt !== undefined) this.hooks.onLatency?.(this.name, (nowMs - addedAt) / 1000);
    this.hooks.onDepth?.(this.name, this.queue.length);
    return key;
  }

  /** Puts a dirty key in line, or holds it until its pacing allows a pass. */
  private enqueueOrPace(key: string): void {
    if (this.paced.has(key)) return;
    const notBefore = this.notBefore.get(key);
    const waitMs = notBefore === undefined ? 0 : notBefore - this.now();
    if (waitMs <= 0) {
      this.notBefore.delete(key);
      this.enqueue(key);
      return;
    }
    const timer = setTimeout(() => {
      this.paced.delete(key);
      this.notBefore.delete(key);
      if (this.dirty.has(key) && !this.processing.has(key) && !this.shuttingDown) this.enqueue(key);
    }, clampDelayMs(waitMs));
    this.paced.set(key, timer);
  }

  private enqueue(key: string): void {
    this.queue.push(key);
    this.hooks.onDepth?.(this.name, this.queue.length);
    // Hand the key straight to a waiting worker, if any.
    const wake = this.waiters.shift();
    if (wake !== undefined) wake(this.take());
  }

  private wakeDrainers(): void {
    const drainers = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of drainers) wake();
  }
}
