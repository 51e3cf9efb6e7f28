// The write fence: a replica that does not hold the Lease sends no write. It sits in the request layer every client
// of the controllers goes through (api-metrics.ts), so no pass, however long it has been running, can write after
// leadership ended. Two things close it, whichever comes first:
// - the leader callback's AbortSignal aborting (the elector stepped down): in-flight writes are aborted with it;
// - the local clock passing the last successful renewal + renewDeadline. This check needs no timer to have run, so
//   a process that was paused (SIGSTOP, a long GC, a frozen VM) past its lease refuses its first write after
//   resuming even if the elector has not yet noticed that it lost the Lease.
// Exempt: the Lease itself (the elector must be able to renew, campaign and release). Events are fenced like any
// other write: an Event from a deposed leader would tell the user about a decision nobody acts on.
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
export function fenceHttpLibrary(inner: HttpLibrary, fence: WriteFence): HttpLibrary {
  return wrapHttpLibrary({
    send(request: RequestContext): Promise<ResponseContext> {
      const method = request.getHttpMethod();
      const url = request.getUrl();
      if (isFencedRequest(method, url)) {
        const term = fence.signal();
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
export function fenceAtSocket(inner: HttpLibrary, fence: WriteFence): HttpLibrary {
  const interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
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
        request.setDispatcher(dispatcher.compose(interceptor));
      }
      return inner.send(request).toPromise();
    },
  });
}
