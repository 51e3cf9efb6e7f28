// Connection reuse for the generated clients. client-node 2.0 builds a new undici Agent for every request (in
// KubeConfig.applySecurityAuthentication, uncached), so each request opens a fresh TCP connection and does a full TLS
// handshake with client-certificate auth. make bench-cluster: a GET takes 4.1 ms that way and 1.2 ms over a shared
// connection, 300 GETs at once 601 ms and 120 ms; make bench: the abandoned agents and TLS sessions had kept the
// operator at 385-394 MiB (203 MiB with reuse). Here every request goes out through one keep-alive Agent per TLS
// identity, as client-go shares a transport.
import { statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { AgentOptions, RequestOptions } from 'node:https';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import type { KubeConfig, SecurityAuthentication } from '@kubernetes/client-node';
import { Agent } from 'undici';

/** What the per-request agent's TLS setup depends on; the agent is rebuilt when this changes (a rotated cert file). */
export function tlsIdentity(kc: KubeConfig, mtime: (path: string) => number = fileMtime): string {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const file = (path: string | undefined): string => (path === undefined || path === '' ? '' : `${path}@${mtime(path)}`);
  return JSON.stringify([
    cluster?.server,
    cluster?.caData,
    file(cluster?.caFile),
    cluster?.skipTLSVerify,
    cluster?.tlsServerName,
    cluster?.proxyUrl,
    user?.name,
    user?.certData,
    file(user?.certFile),
    user?.keyData,
    file(user?.keyFile),
  ]);
}

function fileMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * An HTTP/1.1-only agent with the kubeconfig's TLS identity (undefined for a proxy or SOCKS setup: the client's own
 * agent is kept then). undici speaks HTTP/2 to the API server by default, and an HTTP/2 request's frames reach the
 * socket one event-loop turn after the write fence's last-moment check (fence.ts fenceAtSocket): a process paused in
 * that turn sent a checked write after it resumed, past its Lease (test/leader-fence.test.ts). Over HTTP/1.1 a
 * request with a buffered body (http-library.ts) is written in the same tick as the check.
 */
/**
 * Connections the HTTP/1.1 agent opens to the API server at most; requests beyond them wait in the agent. HTTP/1.1
 * carries one request at a time per connection, so without a bound every concurrent request opened its own TLS
 * connection: make bench-scale, a 1,000-claim burst while the API server stalled took the operator from 131 to 236
 * MiB resident (100 pools) and to 375 MiB (1,000 pools) with 800 sockets open, about 135 KiB each. 64 are enough:
 * with the client's token bucket (200 requests/s, burst 400) and a few milliseconds per request, more are rarely in flight.
 */
export const MAX_API_CONNECTIONS = 64;

/**
 * How long an idle connection is kept for the next request (undici's default is 4 s). A burst after a few quiet
 * seconds otherwise opened its connections anew: a TLS handshake each, on the claim path. client-go keeps idle
 * connections 90 s; this stays below that, so the API server is not the side that closes them first.
 */
export const IDLE_CONNECTION_MS = 30_000;

export async function http1Agent(kc: KubeConfig): Promise<Agent | undefined> {
  const https: RequestOptions = {};
  await kc.applyToHTTPSOptions(https);
  const agentOptions: AgentOptions = { ca: https.ca, cert: https.cert, key: https.key, pfx: https.pfx, passphrase: https.passphrase };
  if (https.rejectUnauthorized !== undefined) agentOptions.rejectUnauthorized = https.rejectUnauthorized;
  if (https.servername !== undefined) agentOptions.servername = https.servername;
  const opts = kc.createDispatcherOptions(kc.getCurrentCluster(), agentOptions);
  if (opts.type !== 'agent') return undefined;
  // One TLS context for every connection: given only ca, cert and key, each connect parsed them into a new one
  // (make bench-peers profile: most of the CPU of opening a connection, 0.7 s of the operator's 15 s in one run).
  const secureContext = createSecureContext({ ca: https.ca, cert: https.cert, key: https.key, pfx: https.pfx, passphrase: https.passphrase });
  return new Agent({
    connect: { ...opts.connect, secureContext },
    allowH2: false,
    connections: MAX_API_CONNECTIONS,
    keepAliveTimeout: IDLE_CONNECTION_MS,
    keepAliveMaxTimeout: IDLE_CONNECTION_MS,
  });
}

export interface SharedAuthOptions {
  /** Build the shared agent as HTTP/1.1 only (http1Agent) instead of keeping the client's. Default false. */
  http1?: boolean;
  /** The TLS identity of the next request; default tlsIdentity(kc). */
  identity?: () => string;
  /** How long credentials and the identity are kept before they are worked out again. Default 1 s. */
  recheckMs?: number;
  /** Authenticates a request the way the generated clients do; default the KubeConfig's own. Tests pass a fake. */
  authenticate?: (ctx: RequestContext) => Promise<void>;
  now?: () => number;
}

interface Credentials {
  key: string;
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
  at: number;
}

/**
 * The generated clients' authentication, worked out at most every recheckMs instead of on every request: client-node
 * reads the CA, certificate and key files and builds a new undici Agent for each request (KubeConfig
 * applySecurityAuthentication): about 130 ms of the operator's 1.5 s of CPU in 100 serial claims at 10,000 members
 * (make bench-scale, --cpu-prof). Every request gets the headers the last check produced (a bearer token,
 * impersonation) and one shared agent per TLS identity, as client-go shares a transport; when the identity changes (a
 * rotated certificate file), the old agent is closed after its requests finish. A rotated token is picked up within
 * recheckMs.
 */
export function sharedAuthentication(kc: KubeConfig, opts: SharedAuthOptions = {}): SecurityAuthentication {
  const identity = opts.identity ?? (() => tlsIdentity(kc));
  const recheckMs = opts.recheckMs ?? 1_000;
  const now = opts.now ?? Date.now;
  const authenticate = opts.authenticate ?? ((ctx: RequestContext) => kc.applySecurityAuthentication(ctx));
  const server = kc.getCurrentCluster()?.server ?? 'https://localhost';
  let current: Credentials | undefined;
  let refreshing: Promise<Credentials> | undefined;
  const refresh = async (): Promise<Credentials> => {
    const scratch = new RequestContext(server, HttpMethod.GET);
    await authenticate(scratch);
    const headers = { ...scratch.getHeaders() };
    const key = identity();
    const previous = current;
    if (previous !== undefined && previous.key === key) return { key, headers, dispatcher: previous.dispatcher, at: now() };
    const own = scratch.getDispatcher();
    const dispatcher = own !== undefined && opts.http1 === true ? ((await http1Agent(kc)) ?? own) : own;
    if (previous?.dispatcher !== undefined && previous.dispatcher !== dispatcher) void previous.dispatcher.close().catch(() => undefined);
    return { key, headers, dispatcher, at: now() };
  };
  return {
    getName: () => 'kubeconfig authentication, shared',
    async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
      let c = current;
      if (c === undefined || now() - c.at >= recheckMs) {
        refreshing ??= refresh().finally(() => {
          refreshing = undefined;
        });
        c = await refreshing;
        current = c;
      }
      for (const [name, value] of Object.entries(c.headers)) ctx.setHeaderParam(name, value);
      if (c.dispatcher !== undefined) ctx.setDispatcher(c.dispatcher);
    },
  };
}
