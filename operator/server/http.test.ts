import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createMetrics } from '../metrics/registry.js';
import { directoryCertificates, type CertificateSource } from './certs.js';
import { selfSignedCertificate, type KeyPair } from './x509.js';
import type { RunningServer } from './http.js';
import { healthzHandler, metricsHandler, parseAddress, readyzHandler, startHttpServer } from './http.js';

describe('parseAddress', () => {
  test.each([
    { name: 'host and port', address: '127.0.0.1:8080', want: { host: '127.0.0.1', port: 8080 } },
    { name: 'no host: every interface', address: ':8081', want: { host: undefined, port: 8081 } },
    { name: 'port 0: any free port', address: '0.0.0.0:0', want: { host: '0.0.0.0', port: 0 } },
    { name: 'a bracketed IPv6 host', address: '[::1]:9443', want: { host: '::1', port: 9443 } },
    { name: 'a host name and the highest port', address: 'localhost:65535', want: { host: 'localhost', port: 65535 } },
  ])('$name', ({ address, want }) => {
    expect(parseAddress(address)).toEqual(want);
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

// A raw request, so what is sent (a GET with a body, headers over the limit) is exactly what the test says.
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (b: Buffer) => (out += b.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer; got ${out}`)));
  });
}

describe('request bounds', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startHttpServer({ address: '127.0.0.1:0', routes: { '/healthz': healthzHandler() } });
  });
  afterAll(async () => {
    await server.close();
  });

  test('a GET with a body is refused with 413 and the connection closed', async () => {
    const sized = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    expect(sized).toMatch(/^HTTP\/1\.1 413 /);
    expect(sized).toMatch(/connection: close/i);
    const chunked = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
  });

  test('headers beyond 16 KiB are refused with 431', async () => {
    const answer = await rawRequest(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });
});

describe('HTTPS', () => {
  let dir = '';
  let server: RunningServer;
  let source: CertificateSource;
  const pairFor = (cn: string): KeyPair =>
    selfSignedCertificate({ commonName: cn, hosts: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
  const first = pairFor('first');
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warmpool-https-'));
    writeFileSync(join(dir, 'tls.crt'), first.cert);
    writeFileSync(join(dir, 'tls.key'), first.key);
    source = await directoryCertificates(dir, { intervalMs: 50 });
    server = await startHttpServer({ address: '127.0.0.1:0', routes: { '/healthz': healthzHandler() }, tls: source });
  });
  afterAll(async () => {
    source.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The subject of the certificate served, after verifying it against `ca`, and the body of GET /healthz. */
  const get = (ca: string): Promise<{ subject: string; body: string }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: server.port, path: '/healthz', ca, agent: false }, (res) => {
        const subject = (res.socket as TLSSocket).getPeerCertificate().subject.CN;
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ subject: String(subject), body }));
      });
      req.on('error', reject);
      req.end();
    });

  test('serves the certificate from the directory; plain HTTP gets no answer', async () => {
    expect(await get(first.cert)).toEqual({ subject: 'first', body: 'ok\n' });
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  test('a renewed pair in the directory is served without a restart; a broken one is not', async () => {
    const second = pairFor('second');
    writeFileSync(join(dir, 'tls.crt'), second.cert);
    writeFileSync(join(dir, 'tls.key'), second.key);
    const served = await waitFor(async () => (await get(second.cert).catch(() => undefined))?.subject === 'second');
    expect(served).toBe(true);
    // A certificate whose key is not beside it: the served pair stays.
    writeFileSync(join(dir, 'tls.crt'), pairFor('third').cert);
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(second.cert)).subject).toBe('second');
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
