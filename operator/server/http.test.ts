import { createMetrics } from '../metrics/registry.js';
import type { RunningServer } from './http.js';
import { healthzHandler, metricsHandler, parseAddress, readyzHandler, startHttpServer } from './http.js';

describe('parseAddress', () => {
  test.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    [':8081', { host: undefined, port: 8081 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:9443', { host: '::1', port: 9443 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('%s', (address, expected) => {
    expect(parseAddress(address)).toEqual(expected);
  });

  test.each(['8080', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '::1:80', 'host:port', '127.0.0.1:123456'])('%j is rejected', (address) => {
    expect(() => parseAddress(address)).toThrow('invalid bind address');
  });
});

describe('readyzHandler with reasons', () => {
  test('an empty list is ready; reasons are the 503 body, the first three of them', async () => {
    let reasons: string[] = [];
    const server = await startHttpServer({ address: '127.0.0.1:0', routes: { '/readyz': readyzHandler(() => reasons) } });
    try {
      const get = async () => {
        const r = await fetch(`http://127.0.0.1:${server.port}/readyz`);
        return { status: r.status, body: await r.text() };
      };
      expect(await get()).toEqual({ status: 200, body: 'ok\n' });
      reasons = ['/api/v1/pods: nothing heard for 61 s (limit 50 s)'];
      expect(await get()).toEqual({ status: 503, body: 'not ready: /api/v1/pods: nothing heard for 61 s (limit 50 s)\n' });
      reasons = ['a', 'b', 'c', 'd', 'e'];
      expect(await get()).toEqual({ status: 503, body: 'not ready: a; b; c; and 2 more\n' });
    } finally {
      await server.close();
    }
  });
});

describe('startHttpServer', () => {
  let server: RunningServer;
  let ready = false;
  const metrics = createMetrics();
  beforeAll(async () => {
    metrics.claims.inc({ namespace: 'ns', pool: 'web', result: 'bound' });
    server = await startHttpServer({
      address: '127.0.0.1:0',
      routes: {
        '/metrics': metricsHandler(metrics.registry),
        '/healthz': healthzHandler(),
        '/readyz': readyzHandler(async () => ready),
        '/boom': () => {
          throw new Error('handler failed');
        },
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${server.port}${path}`, init);

  test('reports the port it bound', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  test('/metrics serves the registry in the Prometheus text format', async () => {
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('warmpool_claims_total{namespace="ns",pool="web",result="bound"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  test('/healthz answers while the process lives; query strings are ignored', async () => {
    const response = await get('/healthz?verbose');
    expect([response.status, await response.text()]).toEqual([200, 'ok\n']);
  });

  test('/readyz follows the readiness callback', async () => {
    ready = false;
    expect((await get('/readyz')).status).toBe(503);
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
  });

  test('unknown paths are 404, other methods 405, failing handlers 500', async () => {
    expect((await get('/nope')).status).toBe(404);
    const post = await get('/metrics', { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await get('/healthz', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    const boom = await get('/boom');
    expect([boom.status, await boom.text()]).toEqual([500, 'handler failed\n']);
  });

  test('a taken port is an error, not a crash', async () => {
    await expect(startHttpServer({ address: `127.0.0.1:${server.port}`, routes: {} })).rejects.toThrow('EADDRINUSE');
  });
});
