// Authentication and authorization of /metrics requests, delegated to the API server as controller-runtime's
// filters.WithAuthenticationAndAuthorization (and kube-rbac-proxy) do: the bearer token goes to a TokenReview
// (authentication.k8s.io/v1), the user it names to a SubjectAccessReview (authorization.k8s.io/v1) for the
// non-resource URL and verb `get`. No token or a token the API server does not accept: 401. Not allowed: 403.
// Results are cached briefly (bounded, keyed by a hash of the token, never the token), concurrent identical reviews
// share one call, and reviews in flight are capped, so a scrape every few seconds costs no API calls and a flood of
// random tokens costs a bounded number.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  IsomorphicFetchHttpLibrary,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { instrumentHttpLibrary, type OnApiRequest } from '../kube/api-metrics.js';
import { sharedAuthentication } from '../kube/connections.js';
import { errorMessage } from '../kube/errors.js';
import { timeoutOptions } from '../kube/request-options.js';
import type { RouteHandler } from './http.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type TokenReviewResult = { authenticated: true; user: UserInfo } | { authenticated: false; error?: string };
export interface AccessReviewResult {
  allowed: boolean;
  reason?: string;
}

/** The two API calls; reviewClients gives the real ones. They throw when the API server cannot answer. */
export interface ReviewClients {
  tokenReview(token: string): Promise<TokenReviewResult>;
  subjectAccessReview(user: UserInfo, path: string, verb: string): Promise<AccessReviewResult>;
}

export interface AuthDecision {
  /** 200 when the request may proceed. */
  status: 200 | 401 | 403 | 429 | 503;
  /** For the response body and logs; never holds the token. */
  message: string;
}

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined. The scheme is case-insensitive
 * (RFC 9110 11.1); an empty or oversized token counts as none (a real one is a few KiB at most).
 */
export function bearerToken(header: string | undefined, maxLength = 16_384): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const token = m?.[1];
  return token !== undefined && token.length <= maxLength ? token : undefined;
}

/** A cache whose entries expire, bounded in size: the oldest entry goes first (Map keeps insertion order). */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface AuthorizerOptions {
  clients: ReviewClients;
  /** The non-resource URL and verb asked for in the SubjectAccessReview. Default /metrics, get. */
  path?: string;
  verb?: string;
  /** Cache lifetimes. A valid token and an allowed user are kept 60 s, refusals 10 s (controller-runtime keeps
   * them 1-5 min; shorter here so a revoked binding takes effect within a minute). */
  authenticatedTtlMs?: number;
  unauthenticatedTtlMs?: number;
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  /** Entries per cache. Default 1024. */
  maxEntries?: number;
  /** Reviews in flight at once; beyond it a request is answered 429 and costs no API call. Default 32. */
  maxInFlight?: number;
  now?: () => number;
}

/** Decides whether a request for the metrics may proceed. */
export class MetricsAuthorizer {
  private readonly clients: ReviewClients;
  private readonly path: string;
  private readonly verb: string;
  private readonly ttl: { authn: number; unauthn: number; allow: number; deny: number };
  private readonly tokens: TtlCache<TokenReviewResult>;
  private readonly access: TtlCache<AccessReviewResult>;
  // One review per key at a time: a burst of scrapes with the same token waits on the same call.
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(opts: AuthorizerOptions) {
    const now = opts.now ?? Date.now;
    this.clients = opts.clients;
    this.path = opts.path ?? '/metrics';
    this.verb = opts.verb ?? 'get';
    this.ttl = {
      authn: opts.authenticatedTtlMs ?? 60_000,
      unauthn: opts.unauthenticatedTtlMs ?? 10_000,
      allow: opts.allowedTtlMs ?? 60_000,
      deny: opts.deniedTtlMs ?? 10_000,
    };
    this.tokens = new TtlCache(opts.maxEntries ?? 1024, now);
    this.access = new TtlCache(opts.maxEntries ?? 1024, now);
    this.maxInFlight = opts.maxInFlight ?? 32;
  }

  async check(authorization: string | undefined): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return { status: 401, message: 'Unauthorized: a bearer token is required' };
    const tokenKey = createHash('sha256').update(token).digest('base64url');
    let identity = this.tokens.get(tokenKey);
    if (identity === undefined) {
      const reviewed = await this.review(`t:${tokenKey}`, () => this.clients.tokenReview(token));
      if (!reviewed.ok) return reviewed.decision;
      identity = reviewed.value;
      this.tokens.set(tokenKey, identity, identity.authenticated ? this.ttl.authn : this.ttl.unauthn);
    }
    if (!identity.authenticated) return { status: 401, message: 'Unauthorized: the token was not accepted' };

    const user = identity.user;
    const userKey = createHash('sha256')
      .update(JSON.stringify([user.username, user.uid ?? '', [...(user.groups ?? [])].sort(), sortedExtra(user.extra)]))
      .digest('base64url');
    let access = this.access.get(userKey);
    if (access === undefined) {
      const reviewed = await this.review(`a:${userKey}`, () => this.clients.subjectAccessReview(user, this.path, this.verb));
      if (!reviewed.ok) return reviewed.decision;
      access = reviewed.value;
      this.access.set(userKey, access, access.allowed ? this.ttl.allow : this.ttl.deny);
    }
    if (!access.allowed) {
      return { status: 403, message: `Forbidden: user ${JSON.stringify(user.username)} may not ${this.verb} ${this.path}` };
    }
    return { status: 200, message: 'ok' };
  }

  private async review<T>(key: string, call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; decision: AuthDecision }> {
    let shared = this.pending.get(key) as Promise<T> | undefined;
    if (shared === undefined) {
      if (this.inFlight >= this.maxInFlight) return { ok: false, decision: { status: 429, message: 'Too many requests under review' } };
      this.inFlight++;
      shared = call().finally(() => {
        this.inFlight--;
        this.pending.delete(key);
      });
      this.pending.set(key, shared);
    }
    try {
      return { ok: true, value: await shared };
    } catch (err) {
      // Not cached: the API server may answer the next scrape.
      return { ok: false, decision: { status: 503, message: `authorization unavailable: ${errorMessage(err)}` } };
    }
  }
}

function sortedExtra(extra: Record<string, string[]> | undefined): [string, string[]][] {
  return Object.entries(extra ?? {})
    .map(([k, v]): [string, string[]] => [k, [...v].sort()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `handler`, behind the authorizer: refused requests get the decision's status and message, and a challenge on 401. */
export function withAuthorization(authorizer: MetricsAuthorizer, handler: RouteHandler, onRefused?: (d: AuthDecision, r: IncomingMessage) => void): RouteHandler {
  return async (request, response) => {
    const decision = await authorizer.check(request.headers.authorization);
    if (decision.status === 200) return handler(request, response);
    onRefused?.(decision, request);
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
    if (decision.status === 401) headers['WWW-Authenticate'] = 'Bearer';
    if (decision.status === 429 || decision.status === 503) headers['Retry-After'] = '1';
    response.writeHead(decision.status, headers);
    response.end(`${decision.message}\n`);
  };
}

/** The real review calls, each bounded by `timeoutMs` and counted through onRequest like the operator's other calls. */
export function reviewClients(kc: KubeConfig, onRequest: OnApiRequest, timeoutMs = 10_000): ReviewClients {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: sharedAuthentication(kc) },
    httpApi: instrumentHttpLibrary(new IsomorphicFetchHttpLibrary(), onRequest),
    middleware: [setHeaderMiddleware('User-Agent', 'warmpool')],
  });
  const authn = new AuthenticationV1Api(configuration);
  const authz = new AuthorizationV1Api(configuration);
  return {
    async tokenReview(token) {
      const review = await authn.createTokenReview(
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } },
        timeoutOptions(timeoutMs),
      );
      const s = review.status;
      if (s?.authenticated === true && s.user?.username) {
        return {
          authenticated: true,
          user: { username: s.user.username, uid: s.user.uid, groups: s.user.groups, extra: s.user.extra },
        };
      }
      return { authenticated: false, error: s?.error };
    },
    async subjectAccessReview(user, path, verb) {
      const review = await authz.createSubjectAccessReview(
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              uid: user.uid,
              groups: user.groups,
              extra: user.extra,
              nonResourceAttributes: { path, verb },
            },
          },
        },
        timeoutOptions(timeoutMs),
      );
      return { allowed: review.status?.allowed === true, reason: review.status?.reason };
    },
  };
}
