// Client-side throttling, as client-go does it: every request first takes a token from one bucket (QPS, burst), and
// a 429 that carries Retry-After (API Priority and Fairness, or an overloaded server) is retried after that delay
// instead of failing the pass, a bounded number of times, with jitter so a flock of throttled requests does not
// come back in lockstep. A request still throttled after the last retry fails like any API error and the controller's
// own rate-limited requeue takes over: throttling slows the operator, it never Stalls anything.
// Lease requests skip the bucket: a renewal must not queue behind a burst of writes and cost the leadership
// (controller-runtime gives its leader election a client of its own for the same reason).
// Requests waiting for a token are served claim path first (priority.ts): a bind never queues behind the refill.
import { wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { isLeaseRequest } from './fence.js';
import { MAX_REFILL_DEFER_MS, declaredRequestClass, nextClass, requestClass, type RequestClass } from './priority.js';
import { clampDelayMs } from './timers.js';

/**
 * Defaults: client-go's are 5 QPS / burst 10 and controller-runtime's 20 / 30, sized for controllers that write once
 * per object. A claim here costs about four writes (member patch, claim status, pool status, an Event) and a
 * scale-up one create per member, so a burst of 25 claims or a 100-member scale-up fits the burst and a steady
 * 12 claims/s fits the rate; above that requests wait in the bucket instead of piling onto the API server.
 */
export const DEFAULT_KUBE_API_QPS = 200;
export const DEFAULT_KUBE_API_BURST = 400;
/** Bounds for the flags: beyond them a value is a typo, not a tuning. */
export const MAX_KUBE_API_QPS = 10_000;
export const MAX_KUBE_API_BURST = 10_000;

export interface ThrottleOptions {
  qps: number;
  burst: number;
  /** Retries of one request after 429 + Retry-After. Default 5. */
  maxRetries?: number;
  /**
   * Longest Retry-After honoured; a longer one is waited this long. Default 3 s: API Priority and Fairness doubles
   * its Retry-After (up to 32 s) for as long as it keeps dropping a level's requests, and a worker that sleeps that
   * long holds its pass; measured (test/throttle.test.ts), a 10 s ceiling left 28 of 80 claims Pending after 60 s.
   * The token bucket, not this wait, is what bounds the request rate.
   */
  maxRetryAfterMs?: number;
  /** Called when a 429 is retried, with the delay chosen (metrics, logs). */
  onRetry?(delayMs: number): void;
  /** How long refill-class requests may wait behind claim-class ones (priority.ts). Default MAX_REFILL_DEFER_MS. */
  maxRefillDeferMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

// Retries spread over delay * [1, 1 + JITTER).
const JITTER = 0.2;

/**
 * Retry-After in ms: delta-seconds or an HTTP date (RFC 9110), undefined when absent or unreadable. Negative and
 * past values are 0; the caller clamps the top.
 */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  if (v === '' || /^[0-9.+-]/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The wait before retry number `attempt` (0-based) of a 429, or undefined when it must not be retried. */
export function throttleRetryDelayMs(input: {
  status: number;
  retryAfter: string | undefined;
  attempt: number;
  maxRetries: number;
  maxRetryAfterMs: number;
  nowMs: number;
  random: number;
}): number | undefined {
  if (input.status !== 429 || input.attempt >= input.maxRetries) return undefined;
  const after = retryAfterMs(input.retryAfter, input.nowMs);
  if (after === undefined) return undefined;
  // At least a little wait even for Retry-After: 0, so a retry never spins; jitter on top, all within the ceiling.
  const base = Math.min(Math.max(after, 50), input.maxRetryAfterMs);
  return clampDelayMs(Math.min(base * (1 + JITTER * input.random), input.maxRetryAfterMs * (1 + JITTER)));
}

function header(response: ResponseContext, name: string): string | undefined {
  for (const [k, v] of Object.entries(response.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, clampDelayMs(ms)));

interface Waiter {
  since: number;
  go: () => void;
}

/**
 * A token bucket (qps, burst) with a waiting line per request class: a request takes a token at once when there is
 * one and nobody it must let go first is waiting; otherwise it waits, and each token, as it accrues, goes to the
 * class nextClass picks (claims first, a refill request that waited maxRefillDeferMs before them). Same rate as a
 * single bucket; only the order of the waiting changes. The timer that wakes the line is the only timer here.
 */
export class PriorityLimiter {
  private tokens: number;
  private lastMs: number;
  private readonly waiting: Record<RequestClass, Waiter[]> = { claim: [], refill: [] };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly maxRefillDeferMs: number = MAX_REFILL_DEFER_MS,
    private readonly now: () => number = Date.now,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`PriorityLimiter: qps must be > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.tokens = burst;
    this.lastMs = now();
  }

  /** Resolves when the request may go. */
  acquire(cls: RequestClass): Promise<void> {
    return new Promise((go) => {
      this.waiting[cls].push({ since: this.now(), go });
      this.serve();
    });
  }

  /** Requests waiting, by class (tests, metrics). */
  waitingCount(cls: RequestClass): number {
    return this.waiting[cls].length;
  }

  private serve(): void {
    const t = this.now();
    if (t > this.lastMs) this.tokens = Math.min(this.burst, this.tokens + ((t - this.lastMs) * this.qps) / 1000);
    this.lastMs = Math.max(t, this.lastMs);
    while (this.tokens >= 1) {
      const cls = nextClass({
        claimsWaiting: this.waiting.claim.length,
        refillsWaiting: this.waiting.refill.length,
        oldestRefillWaitedMs: t - (this.waiting.refill[0]?.since ?? t),
        maxRefillDeferMs: this.maxRefillDeferMs,
      });
      const w = cls === undefined ? undefined : this.waiting[cls].shift();
      if (w === undefined) break;
      this.tokens -= 1;
      w.go();
    }
    if (this.timer === undefined && this.waiting.claim.length + this.waiting.refill.length > 0) {
      // Wake when the next token exists (at least 1 ms, so a rounding error never spins).
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.serve();
        },
        clampDelayMs(Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.qps))),
      );
    }
  }
}

/** Wraps an HttpLibrary with the token bucket and the Retry-After retries. */
export function throttleHttpLibrary(inner: HttpLibrary, opts: ThrottleOptions): HttpLibrary {
  const now = opts.now ?? Date.now;
  const bucket = new PriorityLimiter(opts.qps, opts.burst, opts.maxRefillDeferMs ?? MAX_REFILL_DEFER_MS, now);
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const maxRetries = opts.maxRetries ?? 5;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 3_000;
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const limited = !isLeaseRequest(request.getUrl());
      const cls = requestClass({ declared: declaredRequestClass(), url: request.getUrl() });
      for (let attempt = 0; ; attempt++) {
        if (limited) await bucket.acquire(cls);
        request.getSignal()?.throwIfAborted();
        const response = await inner.send(request).toPromise();
        const delay = throttleRetryDelayMs({
          status: response.httpStatusCode,
          retryAfter: header(response, 'retry-after'),
          attempt,
          maxRetries,
          maxRetryAfterMs,
          nowMs: now(),
          random: random(),
        });
        if (delay === undefined) return response;
        // Read the refused answer to the end so its connection goes back to the pool.
        await response.body.text().catch(() => undefined);
        try {
          opts.onRetry?.(delay);
        } catch {
          // A metrics callback must not fail the request.
        }
        await sleep(delay);
      }
    },
  });
}
