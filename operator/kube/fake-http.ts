// Test support only (tsconfig.build.json leaves it out of the build).
// A fake HTTP layer for unit tests of code that calls the generated clients: real client objects (real
// serialization, headers and error handling) over a scripted server, so tests see exactly what would go on the wire.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, ResponseContext, wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext } from '@kubernetes/client-node';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The raw body as sent. */
  body: string | undefined;
  /** The request's abort signal, if any middleware set one. */
  signal: AbortSignal | undefined;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
}

export interface FakeHttp {
  httpApi: HttpLibrary;
  requests: RecordedRequest[];
}

/** An HttpLibrary that records each request and answers with respond(request); a throw becomes a network error. */
export function fakeHttp(respond: (req: RecordedRequest) => FakeResponse | Promise<FakeResponse>): FakeHttp {
  const requests: RecordedRequest[] = [];
  const httpApi = wrapHttpLibrary({
    async send(ctx: RequestContext): Promise<ResponseContext> {
      const body = ctx.getBody();
      const req: RecordedRequest = {
        method: ctx.getHttpMethod(),
        url: new URL(ctx.getUrl()),
        headers: { ...ctx.getHeaders() },
        body: typeof body === 'string' ? body : undefined,
        signal: ctx.getSignal(),
      };
      requests.push(req);
      const res = await respond(req);
      const text = res.body === undefined ? '' : JSON.stringify(res.body);
      return new ResponseContext(res.status, { 'content-type': 'application/json' }, {
        text: async () => text,
        binary: async () => Buffer.from(text),
        stream: () => null,
      });
    },
  });
  return { httpApi, requests };
}

/** A KubeConfig pointing at a server nobody listens on, for clients whose HTTP layer is faked. */
export function fakeKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'fake', server: 'https://127.0.0.1:9', skipTLSVerify: false }, { name: 'fake', token: 't' });
  return kc;
}

export interface LoopbackServer {
  /** A KubeConfig for the server. */
  kc: KubeConfig;
  /** Drops open connections (a watch stream would hold close() up) and stops listening. */
  close(): Promise<void>;
}

/**
 * A scripted API server on a loopback port, for what the fake HTTP layer cannot show: the real transport, watch
 * streams, what reaches the socket. Plain HTTP, which client-node allows only with skipTLSVerify.
 */
export async function loopbackServer(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'loopback', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: 'u', token: 't' });
  return {
    kc,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
