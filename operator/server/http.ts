// The operator's small HTTP servers: /metrics on --metrics-bind-address, /healthz and /readyz on the probe
// address. node:http (node:https with a certificate source), exact paths, GET and HEAD only, no request bodies,
// bounded headers and time; a failing handler answers 500 instead of ending the process.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { CertificateSource } from './certs.js';

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  /** `host:port`, `:port` (all interfaces) or `[v6]:port`; port 0 picks a free one. */
  address: string;
  /** Handlers by exact path, e.g. { '/metrics': metricsHandler(registry) }. */
  routes: Readonly<Record<string, RouteHandler>>;
  /** Serve HTTPS with this certificate, swapped in whenever the source changes it. */
  tls?: CertificateSource;
}

export interface RunningServer {
  /** The bound port (the chosen one when the address asked for 0). */
  port: number;
  close(): Promise<void>;
}

/** Splits a bind address; throws on anything that is not host:port with a port in 0..65535. */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`invalid bind address ${JSON.stringify(address)}: want host:port`);
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

// What one request may cost: a scrape or a probe is a GET with a few headers, answered in well under a second.
const LIMITS = { maxHeaderSize: 16_384, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, handshakeTimeoutMs: 10_000 };

export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const { host, port } = parseAddress(options.address);
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    void route(options.routes, request, response);
  };
  const common: ServerOptions = {
    maxHeaderSize: LIMITS.maxHeaderSize,
    headersTimeout: LIMITS.headersTimeoutMs,
    requestTimeout: LIMITS.requestTimeoutMs,
  };
  const source = options.tls;
  let server: Server;
  if (source) {
    const https = createHttpsServer({ ...common, ...source.current(), handshakeTimeout: LIMITS.handshakeTimeoutMs }, listener);
    source.onChange((pair) => https.setSecureContext(pair));
    server = https;
  } else {
    server = createServer(common, listener);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

async function route(
  routes: Readonly<Record<string, RouteHandler>>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (!handler) return reply(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return reply(response, 405, 'method not allowed\n');
  }
  // Nothing here reads a body: refuse one rather than let a client stream into the socket until the timeout.
  if (Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined) {
    response.setHeader('Connection', 'close');
    return reply(response, 413, 'request body not allowed\n');
  }
  try {
    await handler(request, response);
  } catch (error) {
    if (!response.headersSent) reply(response, 500, `${error instanceof Error ? error.message : String(error)}\n`);
    else response.destroy();
  }
}

function reply(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  response.end(body);
}

/** The registry in the Prometheus text format. */
export function metricsHandler(registry: Registry): RouteHandler {
  return async (_request, response) => reply(response, 200, await registry.metrics(), registry.contentType);
}

/** Liveness: answering at all means the process and its event loop are alive. */
export function healthzHandler(): RouteHandler {
  return (_request, response) => reply(response, 200, 'ok\n');
}

/**
 * Readiness from a callback: true or an empty list is ready; false or a list of reasons (e.g. an informer that has
 * not synced or has heard nothing for too long) is not, and the first few reasons are the 503's body. Leadership
 * does not enter into it: a replica that is not the leader is still ready, or rolling updates would wait on the
 * election.
 */
export function readyzHandler(ready: () => boolean | readonly string[] | Promise<boolean | readonly string[]>): RouteHandler {
  return async (_request, response) => {
    const answer = await ready();
    if (answer === true || (Array.isArray(answer) && answer.length === 0)) return reply(response, 200, 'ok\n');
    const reasons = Array.isArray(answer) ? answer : [];
    const shown = reasons.slice(0, 3).join('; ') + (reasons.length > 3 ? `; and ${reasons.length - 3} more` : '');
    reply(response, 503, `not ready${shown === '' ? '' : `: ${shown}`}\n`);
  };
}
