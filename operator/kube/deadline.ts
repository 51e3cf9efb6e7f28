// A deadline on every request of the controllers. undici waits up to 300 s for response headers, and a request whose
// answer never comes (seen in the chaos suite after an etcd restart: one pool's claims stalled 5 minutes, until the
// replicas were restarted) holds its pass, and with it the pool's key, for all that time. With a deadline the pass
// fails, the key backs off and the next pass plans again from the caches: level-triggered, and every exclusive write
// is guarded, so a write that landed although its answer was lost is seen, not repeated. Watches do not go through
// these clients (they have their own timeouts).
import { wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext, ResponseContext } from '@kubernetes/client-node';

/** The default for the operator's clients: well above a healthy request (milliseconds), below undici's 300 s. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Thrown when a request outlived its deadline. */
export class RequestTimeoutError extends Error {
  constructor(method: string, url: string, ms: number) {
    super(`${method} ${new URL(url).pathname}: no answer within ${ms / 1000} s (request aborted)`);
    this.name = 'RequestTimeoutError';
  }
}

/** Wraps an HttpLibrary so each request is aborted if it has not been answered within ms (its own signal kept). */
export function deadlineHttpLibrary(inner: HttpLibrary, ms: number): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const deadline = AbortSignal.timeout(ms);
      const own = request.getSignal();
      request.setSignal(own === undefined ? deadline : AbortSignal.any([own, deadline]));
      try {
        return await inner.send(request).toPromise();
      } catch (err) {
        if (deadline.aborted && !(own?.aborted ?? false)) throw new RequestTimeoutError(request.getHttpMethod(), request.getUrl(), ms);
        throw err;
      }
    },
  });
}
