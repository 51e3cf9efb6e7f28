// The HTTP/1.1 agent's bound on connections, against a real local server: a burst of requests must queue in the
// agent rather than open a connection each (see MAX_API_CONNECTIONS).
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { http1Agent, IDLE_CONNECTION_MS, MAX_API_CONNECTIONS } from './connections.js';

describe('http1Agent', () => {
  let server: Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    // Answers each request after 50 ms, so a burst's requests are in flight together.
    server = createServer((_req, res) => setTimeout(() => res.end('{}'), 50));
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('opens at most MAX_API_CONNECTIONS connections for a burst of 4x as many requests, and answers all', async () => {
    const kc = new KubeConfig();
    // Plain HTTP needs skipTLSVerify in client-node; the agent's options are the same otherwise.
    kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: 'u' });
    const agent = await http1Agent(kc);
    if (agent === undefined) throw new Error('no agent for a plain kubeconfig');
    try {
      const n = MAX_API_CONNECTIONS * 4;
      const codes = await Promise.all(
        Array.from({ length: n }, async () => {
          const res = await request(`http://127.0.0.1:${port}/api/v1/pods`, { dispatcher: agent });
          await res.body.text();
          return res.statusCode;
        }),
      );
      expect(codes.filter((c) => c === 200)).toHaveLength(n);
      expect(connections).toBeGreaterThan(1);
      expect(connections).toBeLessThanOrEqual(MAX_API_CONNECTIONS);
    } finally {
      await agent.close();
    }
  });

  it("keeps idle connections past undici's 4 s default, so a burst after a pause opens none", async () => {
    expect(IDLE_CONNECTION_MS).toBeGreaterThan(5_000);
    // A bare HTTP/1.1 server that, like the API server (Go), sends no Keep-Alive timeout hint and never closes an
    // idle connection itself: only the agent decides when one goes.
    let opened = 0;
    const raw = createNetServer((socket) => {
      opened++;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
          buffered = buffered.slice(end + 4);
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const rawPort = (raw.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${rawPort}`, skipTLSVerify: true }, { name: 'u' });
    const agent = await http1Agent(kc);
    if (agent === undefined) throw new Error('no agent for a plain kubeconfig');
    const burst = (): Promise<number[]> =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const res = await request(`http://127.0.0.1:${rawPort}/api/v1/pods`, { dispatcher: agent });
          await res.body.text();
          return res.statusCode;
        }),
      );
    try {
      await burst();
      const afterFirst = opened;
      await new Promise((r) => setTimeout(r, 5_000));
      expect(await burst()).toEqual(Array.from({ length: 8 }, () => 200));
      expect(opened).toBe(afterFirst);
    } finally {
      await agent.close();
      await new Promise((r) => raw.close(r));
    }
  }, 15_000);
});
