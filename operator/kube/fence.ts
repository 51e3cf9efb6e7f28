// The write fence: a replica that does not hold the Lease sends no write. It sits in the request layer every client
// of the controllers goes through (api-metrics.ts), so no pass, however long it has been running, can write after
// leadership ended. Two things close it, whichever comes first:
// - the leader callback's AbortSignal aborting (the elector stepped down): in-flight writes are aborted with it;
// - the local clock passing the last successful renewal + renewDeadline. This check needs no timer to have run, so
//   a process that was paused (SIGSTOP, a long GC, a frozen VM) past its lease refuses its first write after
//   resuming even if the elector has not yet noticed that it lost the Lease.
// With shards there is one such fence per shard (ShardFences): a pool's writes need its shard's.
// Exempt: the Lease itself (the elector must be able to renew, campaign and release). Events are fenced like any
// other write: an Event from a deposed leader would tell the user about a decision nobody acts on.
import { AsyncLocalStorage } from 'node:async_hooks';
import { wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';

/** Thrown instead of sending a write while the fence is closed; the request never left the process. */
export class FencedError extends Error {
  constructor(method: string, url: string) {
    super(`not leading: ${method} ${new URL(url).pathname} refused before sending (write fence closed)`);
    this.name = 'FencedError';
  }
}

export interface WriteFenceOptions {
  now?: () => number;
}

export class WriteFence {
  private readonly now: () => number;
  private validUntilMs = Number.NEGATIVE_INFINITY;
  private term: AbortSignal | undefined;

  constructor(opts: WriteFenceOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** A fence that is always open: for an operator running without leader election. */
  static unfenced(): WriteFence {
    const fence = new WriteFence();
    fence.validUntilMs = Number.POSITIVE_INFINITY;
    fence.term = new AbortController().signal;
    return fence;
  }

  /** Leadership began: writes may go out until signal aborts (or the validity lapses). */
  lead(signal: AbortSignal): void {
    this.term = signal;
  }

  /** The Lease was renewed (or acquired): this replica may write until untilMs, local clock. Never shortens. */
  extend(untilMs: number): void {
    this.validUntilMs = Math.max(this.validUntilMs, untilMs);
  }

  /** Whether a write may go out now. */
  isOpen(): boolean {
    return this.term !== undefined && !this.term.aborted && this.now() < this.validUntilMs;
  }

  /** The signal a write carries, so stepping down aborts it in flight; undefined while closed. */
  signal(): AbortSignal | undefined {
    return this.isOpen() ? this.term : undefined;
  }
}

/**
 * With shards (--shards), one fence per shard: a write goes out only while this replica holds the shard of the pool
 * whose pass sends it. The pass runs inside run(shard, ...); the request layers find its fence through the async
 * context (AsyncLocalStorage follows awaits, timers and fire-and-forget promises started by the pass). A write sent
 * from outside any shard's pass meets a closed fence.
 */
export class ShardFences {
  private readonly fences: WriteFence[];
  private readonly scope = new AsyncLocalStorage<number>();
  private readonly closed = new WriteFence();

  constructor(shards: number, opts: WriteFenceOptions = {}) {
    this.fences = Array.from({ length: shards }, () => new WriteFence(opts));
  }

  /** Shard i's fence, for its elector to open (lead, extend). */
  shard(i: number): WriteFence {
    return this.fences[i] ?? this.closed;
  }

  /** Runs fn with shard i's fence applying to every write it sends, directly or from work it starts. */
  run<T>(shard: number, fn: () => T): T {
    return this.scope.run(shard, fn);
  }

  /** The fence that applies to a write sent from the current async context. */
  current(): WriteFence {
    const i = this.scope.getStore();
    return i === undefined ? this.closed : this.shard(i);
  }
}

/** Which fence applies to a request: one for the whole process, or the shard's of the pass sending it. */
export type FenceSource = WriteFence | ShardFences;

/**
 * Fixes each request's fence when the client is called (the outermost layer), so a layer that queues requests and
 * sends them later (the token bucket) cannot lose the pass's async context on the way.
 */
export class PinnedFences {
  private readonly pinned = new WeakMap<RequestContext, WriteFence>();

  constructor(private readonly source: FenceSource) {}

  /** The outermost layer: records the fence for every fenced request. */
  pin(inner: HttpLibrary): HttpLibrary {
    return wrapHttpLibrary({
      send: (request: RequestContext): Promise<ResponseContext> => {
        if (isFencedRequest(request.getHttpMethod(), request.getUrl())) this.pinned.set(request, this.resolve());
        return inner.send(request).toPromise();
      },
    });
  }

  /** The fence of a request: as pinned, else as the current context says. */
  of(request: RequestContext): WriteFence {
    return this.pinned.get(request) ?? this.resolve();
  }

  private resolve(): WriteFence {
    return this.source instanceof WriteFence ? this.source : this.source.current();
  }
}

type FenceOf = WriteFence | ((request: RequestContext) => WriteFence);
const fenceOf = (f: FenceOf, request: RequestContext): WriteFence => (f instanceof WriteFence ? f : f(request));

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The Lease API: coordination.k8s.io leases, which the elector writes whether leading or not. */
export function isLeaseRequest(url: string): boolean {
  try {
    return /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases(\/|$)/.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/** Whether the fence applies to a request: every write except the Lease's own. */
export function isFencedRequest(method: string, url: string): boolean {
  return WRITES.has(method.toUpperCase()) && !isLeaseRequest(url);
}

/** Wraps an HttpLibrary so fenced requests are refused while the fence is closed and aborted when it closes. */
export function fenceHttpLibrary(inner: HttpLibrary, fence: FenceOf): HttpLibrary {
  return wrapHttpLibrary({
    send(request: RequestContext): Promise<ResponseContext> {
      const method = request.getHttpMethod();
      const url = request.getUrl();
      if (isFencedRequest(method, url)) {
        const term = fenceOf(fence, request).signal();
        if (term === undefined) return Promise.reject(new FencedError(method, url));
        const own = request.getSignal();
        request.setSignal(own === undefined ? term : AbortSignal.any([own, term]));
      }
      return inner.send(request).toPromise();
    },
  });
}

/**
 * The same check once more at the last moment: undici calls a request's onRequestStart right before it writes the
 * request to its socket, after any wait for a connection. A process paused (SIGSTOP) between the check above and
 * that write would otherwise send a write after resuming (seen in test/leader-fence.test.ts: one pod create
 * accepted from the resumed replica). Wrap the library that talks to the network directly, under connection reuse.
 */
export function fenceAtSocket(inner: HttpLibrary, fenceFor: FenceOf): HttpLibrary {
  const interceptorFor = (fence: WriteFence): Dispatcher.DispatcherComposeInterceptor => (dispatch) => (opts, handler) =>
    dispatch(
      opts,
      new Proxy(handler, {
        get(target, prop) {
          if (prop === 'onRequestStart') {
            return (controller: Dispatcher.DispatchController, context: unknown) => {
              if (!fence.isOpen()) {
                controller.abort(new FencedError(String(opts.method), `${String(opts.origin)}${opts.path}`));
                return;
              }
              target.onRequestStart?.(controller, context);
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    );
  return wrapHttpLibrary({
    send(request: RequestContext): Promise<ResponseContext> {
      const dispatcher = request.getDispatcher();
      if (dispatcher !== undefined && isFencedRequest(request.getHttpMethod(), request.getUrl())) {
        request.setDispatcher(dispatcher.compose(interceptorFor(fenceOf(fenceFor, request))));
      }
      return inner.send(request).toPromise();
    },
  });
}
