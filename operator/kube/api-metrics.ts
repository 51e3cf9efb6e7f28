// Counting API requests by verb and HTTP code. The generated clients send every request through the HttpLibrary of
// their Configuration, which sees the request and its response together (middleware sees them in two separate
// calls with nothing to pair them, and a per-call options object can replace the middleware list). So the clients
// here are built as KubeConfig.makeApiClient builds them, with that library wrapped.
// Watches do not go through these clients: client-node's Watch opens its own fetch.
import {
  CoordinationV1Api,
  PolicyV1Api,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  RequestContext,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import type { HttpLibrary, KubeConfig, ResponseContext } from '@kubernetes/client-node';
import { sharedAuthentication } from './connections.js';
import { deadlineHttpLibrary } from './deadline.js';
import { bufferedHttpLibrary } from './http-library.js';
import { PinnedFences, fenceAtSocket, fenceHttpLibrary, type FenceSource } from './fence.js';
import { throttleHttpLibrary, type ThrottleOptions } from './throttle.js';

export interface ApiClients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  /** PodDisruptionBudgets: the namespaces' eviction protection (pool/pdb.ts). */
  policy: PolicyV1Api;
  /**
   * A GET of an API server path through the same layers as the clients (token bucket, fence, counting, the shared
   * connection), for what the generated clients cannot do: send a path exactly as encoded (a pod proxy path) and
   * leave the body unread, so the caller can read it with a cap or cancel it.
   */
  rawGet: (path: string, options?: RawGetOptions) => Promise<ResponseContext>;
}

export interface RawGetOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** Called once per request: the Kubernetes verb and the HTTP status, 0 when no response came (network, timeout). */
export type OnApiRequest = (verb: string, code: number) => void;

/**
 * The Kubernetes verb of a request, from its method and URL, as the audit log names it: GET is get on a named
 * object and list on a collection (watch with ?watch=true), DELETE on a collection is deletecollection.
 */
export function apiVerb(method: string, url: string): string {
  const m = method.toUpperCase();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return m.toLowerCase();
  }
  const segments = parsed.pathname.split('/').filter((s) => s !== '');
  // /api/v1/... or /apis/<group>/<version>/...
  let rest = segments[0] === 'api' ? segments.slice(2) : segments[0] === 'apis' ? segments.slice(3) : undefined;
  if (rest !== undefined && rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  // A non-resource path (/version, /healthz) is a single thing, like a named object.
  const named = rest === undefined || rest.length >= 2;
  switch (m) {
    case 'GET':
      if (parsed.searchParams.get('watch') === 'true' || parsed.searchParams.get('watch') === '1') return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return m.toLowerCase();
  }
}

/** Wraps an HttpLibrary so every request is reported with its verb and status code. */
export function instrumentHttpLibrary(inner: HttpLibrary, onRequest: OnApiRequest): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const verb = apiVerb(request.getHttpMethod(), request.getUrl());
      let response: ResponseContext;
      try {
        response = await inner.send(request).toPromise();
      } catch (err) {
        report(onRequest, verb, 0);
        throw err;
      }
      report(onRequest, verb, response.httpStatusCode);
      return response;
    },
  });
}

// A metrics callback must never turn a good response into a failure.
function report(onRequest: OnApiRequest, verb: string, code: number): void {
  try {
    onRequest(verb, code);
  } catch {
    // ignored on purpose
  }
}

export interface ClientOptions {
  /** Sent as User-Agent, so the operator's requests stand out in audit logs. Default 'warmpool'. */
  userAgent?: string;
  /** The HTTP library under the instrumentation; tests pass a fake. Default: client-node's fetch library. */
  httpApi?: HttpLibrary;
  /** Writes refused unless this replica leads (leader election) or holds the pass's shard; default: none. */
  fence?: FenceSource;
  /** Token bucket and Retry-After; default: none (tests, tools). */
  throttle?: ThrottleOptions;
  /** Abort a request not answered within this many ms (kube/deadline.ts); default: none. */
  requestTimeoutMs?: number;
}

// Outermost first: wait for a token, then (after the wait, which may have outlived the leadership) the fence, then the
// request's deadline, then count what is actually sent (each retry of a 429 included). The shared connection is the
// authentication's (connections.ts sharedAuthentication).
function layered(onRequest: OnApiRequest, opts: ClientOptions): HttpLibrary {
  let network = opts.httpApi ?? bufferedHttpLibrary();
  const fences = opts.fence === undefined ? undefined : new PinnedFences(opts.fence);
  const fenceOf = fences === undefined ? undefined : (r: RequestContext) => fences.of(r);
  if (fenceOf !== undefined) network = fenceAtSocket(network, fenceOf);
  let lib = instrumentHttpLibrary(network, onRequest);
  // Inside the token bucket: the deadline counts from when the request is sent, not from when it waited for a token.
  if (opts.requestTimeoutMs !== undefined) lib = deadlineHttpLibrary(lib, opts.requestTimeoutMs);
  if (fenceOf !== undefined) lib = fenceHttpLibrary(lib, fenceOf);
  if (opts.throttle !== undefined) lib = throttleHttpLibrary(lib, opts.throttle);
  // Outermost: each write's fence is fixed in the caller's context, before any layer queues it.
  if (fences !== undefined) lib = fences.pin(lib);
  return lib;
}

/** The clients the controllers use, each request reported to onRequest. */
export function makeInstrumentedClients(kc: KubeConfig, onRequest: OnApiRequest, opts: ClientOptions = {}): ApiClients {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const httpApi = layered(onRequest, opts);
  // HTTP/1.1 when writes are fenced (see connections.ts http1Agent); tools and tests keep the client's agent.
  const auth = sharedAuthentication(kc, { http1: opts.fence !== undefined });
  const userAgent = opts.userAgent ?? 'warmpool';
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    httpApi,
    middleware: [setHeaderMiddleware('User-Agent', userAgent)],
  });
  const server = cluster.server.replace(/\/+$/, '');
  return {
    core: new CoreV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
    policy: new PolicyV1Api(configuration),
    rawGet: async (path, { signal, headers = {} } = {}) => {
      const request = new RequestContext(server + path, HttpMethod.GET);
      request.setHeaderParam('User-Agent', userAgent);
      for (const [name, value] of Object.entries(headers)) request.setHeaderParam(name, value);
      if (signal !== undefined) request.setSignal(signal);
      // As the generated clients authenticate: the shared credentials and connection.
      await auth.applySecurityAuthentication(request);
      return httpApi.send(request).toPromise();
    },
  };
}
