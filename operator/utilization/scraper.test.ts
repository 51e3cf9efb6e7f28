import { jest } from '@jest/globals';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import winston from 'winston';
import type { InstancePool, MemberMetricsSpec, PoolUtilization } from '../api/types.js';
import { makeInstrumentedClients, type ClientOptions, type OnApiRequest } from '../kube/api-metrics.js';
import { configureLogging } from '../telemetry/logger.js';
import { createMetrics } from '../metrics/registry.js';
import type { Metrics } from '../metrics/registry.js';
import type { ScrapeClients } from './scraper.js';
import { UnsafeEndpointError, UtilizationScraper, memberEndpointUrl, podProxyPath, scrapeClients } from './scraper.js';
import { UtilizationStore } from './store.js';

describe('URL builders', () => {
  test.each([
    { ip: '10.0.0.7', port: 9090, path: '/metrics', url: 'http://10.0.0.7:9090/metrics' },
    { ip: '10.0.0.7', port: 8080, path: 'stats/prometheus', url: 'http://10.0.0.7:8080/stats/prometheus' },
    { ip: 'fd00::12', port: 9090, path: '/metrics', url: 'http://[fd00::12]:9090/metrics' },
  ])('memberEndpointUrl($ip, $port, $path)', ({ ip, port, path, url }) => {
    expect(memberEndpointUrl(ip, port, path)).toBe(url);
  });

  test.each([
    { namespace: 'team-a', pod: 'web-7xk2p', port: 9090, path: '/metrics', url: '/api/v1/namespaces/team-a/pods/web-7xk2p:9090/proxy/metrics' },
    { namespace: 'ns', pod: 'p', port: 8080, path: 'stats/prom?format=text', url: '/api/v1/namespaces/ns/pods/p:8080/proxy/stats/prom%3Fformat%3Dtext' },
    { namespace: 'ns', pod: 'p', port: 80, path: undefined, url: '/api/v1/namespaces/ns/pods/p:80/proxy/metrics' },
  ])('podProxyPath($namespace, $pod, $port, $path)', ({ namespace, pod, port, path, url }) => {
    expect(podProxyPath(namespace, pod, port, path)).toBe(url);
  });

  // Hostile spec.metrics.path values (an older CRD lets them through): the URL keeps pointing at the member, encoded
  // segment by segment, or the builder refuses. `new URL` is what every HTTP client here parses the URL with, and it
  // resolves `..` and `%2e%2e` segments.
  const server = 'https://127.0.0.1:6443';
  const proxyPrefix = '/api/v1/namespaces/ns/pods/m-0:9100/proxy/';
  test.each([
    { path: '/metrics;x', encoded: '/metrics%3Bx' },
    { path: '/a%2Fb', encoded: '/a%252Fb' },
    { path: '/%2e%2e/%2e%2e/kube-system/pods/x:9100/proxy/metrics', encoded: '/%252e%252e/%252e%252e/kube-system/pods/x%3A9100/proxy/metrics' },
    { path: '/.%2e/x', encoded: '/.%252e/x' },
    { path: '?x', encoded: '/%3Fx' },
    { path: '#x', encoded: '/%23x' },
    { path: '/a\\..\\..\\b', encoded: '/a%5C..%5C..%5Cb' },
    { path: '/a/b c/é', encoded: '/a/b%20c/%C3%A9' },
    { path: '//host.example/x', encoded: '//host.example/x' },
  ])('$path stays under the member: $encoded', ({ path, encoded }) => {
    const proxied = podProxyPath('ns', 'm-0', 9100, path);
    expect(proxied).toBe(`${proxyPrefix.slice(0, -1)}${encoded}`);
    const url = new URL(server + proxied);
    expect(url.pathname.startsWith(proxyPrefix)).toBe(true);
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
    const direct = new URL(memberEndpointUrl('127.64.0.5', 9100, path));
    expect([direct.host, direct.pathname, direct.search, direct.hash]).toEqual(['127.64.0.5:9100', encoded, '', '']);
  });

  test.each([
    '/../../../../kube-system/pods/x:9100/proxy/metrics',
    '/..',
    '/a/./b',
    '/a/..',
    '..',
    '/metrics?/../../x',
    '/metrics/\uD800',
  ])('refuses %s', (path) => {
    expect(() => podProxyPath('ns', 'm-0', 9100, path)).toThrow(UnsafeEndpointError);
    expect(() => memberEndpointUrl('127.64.0.5', 9100, path)).toThrow(UnsafeEndpointError);
  });

  test.each([
    { ip: '127.0.0.1@evil.example', port: 9100 },
    { ip: 'evil.example', port: 9100 },
    { ip: '', port: 9100 },
    { ip: '127.64.0.5', port: 0 },
    { ip: '127.64.0.5', port: 65536 },
    { ip: '127.64.0.5', port: 1.5 },
  ])('refuses pod IP $ip, port $port', ({ ip, port }) => {
    expect(() => memberEndpointUrl(ip, port, '/metrics')).toThrow(UnsafeEndpointError);
  });
});

// Members are served on 127.0.0.x addresses, all loopback, so each member has its own "pod IP" and one port.
interface Member {
  ip: string;
  counter: number;
  inflight: number;
  status: number;
  delayMs: number;
}

interface Fixture {
  port: number;
  members: Map<string, Member>;
  active: number;
  maxActive: number;
  close(): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function startMembers(ips: string[]): Promise<Fixture> {
  const fixture: Fixture = { port: 0, members: new Map(), active: 0, maxActive: 0, close: async () => {} };
  const servers: Server[] = [];
  for (const ip of ips) {
    const member: Member = { ip, counter: 0, inflight: 0, status: 200, delayMs: 0 };
    fixture.members.set(ip, member);
    const server = createServer((request, response) => {
      fixture.active++;
      fixture.maxActive = Math.max(fixture.maxActive, fixture.active);
      // A request the scraper gave up on (its timeout) no longer holds one of its slots: count it done when the
      // client goes, not when this slow handler finally answers.
      let done = false;
      const finish = (): void => {
        if (!done) fixture.active--;
        done = true;
      };
      response.on('close', finish);
      setTimeout(() => {
        finish();
        response.writeHead(member.status, { 'Content-Type': 'text/plain; version=0.0.4' });
        response.end(
          [
            '# TYPE app_http_requests_total counter',
            `app_http_requests_total{code="200"} ${member.counter}`,
            `app_http_requests_total{code="500"} 0`,
            '# TYPE app_inflight gauge',
            `app_inflight ${member.inflight}`,
            request.url === '/metrics' ? '' : 'wrong_path 1',
          ].join('\n'),
        );
      }, member.delayMs);
    });
    fixture.port = await listen(server, fixture.port, ip);
    servers.push(server);
  }
  fixture.close = async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  };
  return fixture;
}

function memberPod(name: string, ip: string, state: string, cpuRequest = '500m'): V1Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': state } },
    spec: { containers: [{ name: 'app', resources: { requests: { cpu: cpuRequest, memory: '1Gi' } } }] },
    status: { podIP: ip },
  };
}

function poolWith(metrics: MemberMetricsSpec): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'web', namespace: 'ns' },
    spec: { template: {}, targetSize: 4, metrics },
  };
}

function podMetricsFor(names: string[], namespace = 'ns', pool = 'web'): unknown {
  return {
    kind: 'PodMetricsList',
    items: names.map((name) => ({
      // metrics-server copies the pod's labels onto its PodMetrics.
      metadata: { name, namespace, labels: { 'warmpool.dev/pool': pool, 'warmpool.dev/state': 'ready' } },
      containers: [{ name: 'app', usage: { cpu: '250m', memory: '256Mi' } }],
    })),
  };
}

interface LogLine {
  level: string;
  message: string;
  controller: string;
  namespace?: string;
  name?: string;
  member?: string;
}

function captureLogs(levels = 'scraper=debug'): LogLine[] {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  configureLogging({ levels, pretty: false, transports: [new winston.transports.Stream({ stream })] });
  return lines;
}

async function seriesValue(metrics: Metrics, series: string): Promise<number | undefined> {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('UtilizationScraper', () => {
  const ips = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'];
  let fixture: Fixture;
  let scraper: UtilizationScraper | undefined;
  beforeEach(async () => {
    fixture = await startMembers(ips);
  });
  afterEach(async () => {
    scraper?.stop();
    await fixture.close();
  });

  function setup(options: { pods: V1Pod[]; podMetrics?: () => Promise<unknown>; concurrency?: number; timeoutMs?: number; maxBodyBytes?: number }) {
    let now = 1_700_000_000_000;
    const metrics = createMetrics({ defaultMetrics: false, perMemberUtilization: true });
    const reports: PoolUtilization[] = [];
    const store = new UtilizationStore();
    const wakes: string[] = [];
    const listCalls: [string | undefined, string][] = [];
    const clients: ScrapeClients = {
      listPodMetrics: async (namespace, selector) => {
        listCalls.push([namespace, selector]);
        return (options.podMetrics ?? (async () => podMetricsFor(options.pods.map((p) => p.metadata?.name ?? ''))))();
      },
      apiGet: async () => Promise.reject(new Error('not used')),
    };
    scraper = new UtilizationScraper({
      metrics,
      clients,
      members: (namespace, pool) => (namespace === 'ns' && pool === 'web' ? options.pods : []),
      store: {
        get: (key) => store.get(key),
        set: (key, utilization) => {
          expect(key).toBe('ns/web');
          reports.push(utilization);
          store.set(key, utilization);
        },
        delete: (key) => store.delete(key),
      },
      wake: (key) => wakes.push(key),
      now: () => now,
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      maxBodyBytes: options.maxBodyBytes,
    });
    const advance = (ms: number) => {
      now += ms;
    };
    return { metrics, reports, store, wakes, listCalls, advance, scraper };
  }

  const spec = (port: number): MemberMetricsSpec => ({
    port,
    intervalSeconds: 3600,
    httpRequestsCounter: 'app_http_requests_total',
    inflightGauge: 'app_inflight',
  });

  test('the acceptance pool: cpu 50%, memory 25%, 20 requests/s per member, over two rounds', async () => {
    const pods = ips.map((ip, i) => memberPod(`m-${i}`, ip, i === 3 ? 'claimed' : 'ready'));
    const { reports, listCalls, advance, scraper, metrics } = setup({ pods });
    scraper.sync(poolWith(spec(fixture.port)));
    for (const member of fixture.members.values()) member.inflight = 1;
    await scraper.refreshUsage();
    await scraper.scrapePool('ns', 'web');
    // First round: no rates yet, but PodMetrics give cpu and memory.
    expect(reports.at(-1)).toMatchObject({ combinedRps: 0, inflight: 4, avgCpuPercent: 50, avgMemoryPercent: 25 });
    advance(15_000);
    for (const member of fixture.members.values()) member.counter += 300;
    await scraper.scrapePool('ns', 'web');
    expect(reports.at(-1)).toEqual({
      combinedRps: 80,
      httpRps: 80,
      tcpRps: 0,
      methodRps: 0,
      inflight: 4,
      avgCpuPercent: 50,
      avgMemoryPercent: 25,
      sampledAt: new Date(1_700_000_015_000).toISOString(),
    });
    // PodMetrics come from the one list of the PodMetrics round (every namespace, every pool: the label exists);
    // the pool's own rounds list nothing.
    expect(listCalls).toEqual([[undefined, 'warmpool.dev/pool']]);
    expect(await seriesValue(metrics, 'warmpool_pool_requests_per_second{namespace="ns",pool="web",protocol="combined"}')).toBe(80);
    expect(await seriesValue(metrics, 'warmpool_pool_cpu_utilization_ratio{namespace="ns",pool="web"}')).toBe(0.5);
    expect(await seriesValue(metrics, 'warmpool_member_requests_per_second{namespace="ns",pool="web",member="m-3",protocol="http"}')).toBe(20);
  });

  test('a failing member is counted and logged once; the rest of the pool still updates', async () => {
    const logs = captureLogs();
    const pods = ips.map((ip, i) => memberPod(`m-${i}`, ip, 'ready'));
    const { reports, advance, scraper, metrics } = setup({ pods });
    const broken = fixture.members.get('127.0.0.14') as Member;
    broken.status = 500;
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.scrapePool('ns', 'web');
    for (let round = 1; round <= 2; round++) {
      advance(10_000);
      for (const member of fixture.members.values()) member.counter += 100;
      await scraper.scrapePool('ns', 'web');
      expect(reports.at(-1)).toMatchObject({ httpRps: 30 });
    }
    expect(await seriesValue(metrics, 'warmpool_member_scrape_errors_total{namespace="ns",pool="web",member="m-3"}')).toBe(3);
    const failures = logs.filter((line) => line.member === 'm-3');
    expect(failures.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'member metrics scrape failed'],
      ['debug', 'member metrics scrape failed again'],
      ['debug', 'member metrics scrape failed again'],
    ]);
    expect(failures[0]).toMatchObject({ controller: 'scraper', namespace: 'ns', name: 'web', error: 'HTTP 500' });
    // Recovery: the next good scrape is logged and gives a rate over the whole gap since its last good sample.
    broken.status = 200;
    advance(10_000);
    await scraper.scrapePool('ns', 'web');
    expect(logs.at(-1)).toMatchObject({ level: 'info', message: 'member metrics endpoint answers again', member: 'm-3' });
  });

  test('a counter reset gives the new value over the interval', async () => {
    const pods = [memberPod('m-0', ips[0] as string, 'ready')];
    const { reports, advance, scraper } = setup({ pods });
    const member = fixture.members.get(ips[0] as string) as Member;
    member.counter = 5000;
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.scrapePool('ns', 'web');
    advance(15_000);
    member.counter = 150;
    await scraper.scrapePool('ns', 'web');
    expect(reports.at(-1)?.httpRps).toBe(10);
  });

  test('warming and terminating members are not scraped; members that leave lose their series', async () => {
    const pods = [
      memberPod('m-0', ips[0] as string, 'ready'),
      memberPod('m-1', ips[1] as string, 'warming'),
      { ...memberPod('m-2', ips[2] as string, 'ready'), metadata: { ...memberPod('m-2', ips[2] as string, 'ready').metadata, deletionTimestamp: new Date() } },
    ];
    const { scraper, metrics, advance } = setup({ pods });
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.scrapePool('ns', 'web');
    advance(1000);
    await scraper.scrapePool('ns', 'web');
    const text = await metrics.registry.metrics();
    expect(text).toContain('member="m-0"');
    expect(text).not.toContain('member="m-1"');
    expect(text).not.toContain('member="m-2"');
    pods.splice(0, 1);
    await scraper.scrapePool('ns', 'web');
    expect(await metrics.registry.metrics()).not.toContain('member="m-0"');
  });

  test('without PodMetrics the rates still come through, and the failure is logged once', async () => {
    const logs = captureLogs();
    const pods = [memberPod('m-0', ips[0] as string, 'ready')];
    const { reports, advance, scraper } = setup({ pods, podMetrics: async () => Promise.reject(new Error('404 metrics.k8s.io')) });
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.refreshUsage();
    await scraper.scrapePool('ns', 'web');
    // The in-flight gauge is a figure from the first scrape on; rates need a second.
    expect(reports).toEqual([
      { combinedRps: 0, httpRps: 0, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: new Date(1_700_000_000_000).toISOString() },
    ]);
    advance(10_000);
    (fixture.members.get(ips[0] as string) as Member).counter = 50;
    await scraper.refreshUsage();
    await scraper.scrapePool('ns', 'web');
    expect(reports.at(-1)).toMatchObject({ httpRps: 5 });
    expect(reports.at(-1)?.avgCpuPercent).toBeUndefined();
    expect(logs.filter((l) => l.message.startsWith('PodMetrics')).map((l) => l.level)).toEqual(['warn', 'debug']);
  });

  test('scrapes at most `concurrency` members at once, and time out after timeoutMs', async () => {
    const pods = ips.map((ip, i) => memberPod(`m-${i}`, ip, 'ready'));
    const { scraper, metrics } = setup({ pods, concurrency: 2, timeoutMs: 150 });
    for (const member of fixture.members.values()) member.delayMs = 40;
    (fixture.members.get('127.0.0.11') as Member).delayMs = 1000;
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.scrapePool('ns', 'web');
    expect(fixture.maxActive).toBe(2);
    expect(await seriesValue(metrics, 'warmpool_member_scrape_errors_total{namespace="ns",pool="web",member="m-0"}')).toBe(1);
  });

  test('a body over the size cap is a scrape error', async () => {
    const pods = [memberPod('m-0', ips[0] as string, 'ready')];
    const { scraper, metrics } = setup({ pods, maxBodyBytes: 16 });
    scraper.sync(poolWith(spec(fixture.port)));
    await scraper.scrapePool('ns', 'web');
    expect(await seriesValue(metrics, 'warmpool_member_scrape_errors_total{namespace="ns",pool="web",member="m-0"}')).toBe(1);
  });

  test('sync starts one timer per pool that runs a round at once; losing spec.metrics stops it and drops the series', async () => {
    const pods = [memberPod('m-0', ips[0] as string, 'ready')];
    const { scraper, metrics, reports } = setup({ pods });
    const pool = poolWith(spec(fixture.port));
    scraper.sync(pool);
    scraper.sync(pool);
    await waitFor(() => reports.length === 1);
    await scraper.refreshUsage();
    expect(reports).toHaveLength(2);
    expect(await metrics.registry.metrics()).toContain('warmpool_pool_cpu_utilization_ratio{namespace="ns",pool="web"} 0.5');
    scraper.sync({ ...pool, spec: { ...pool.spec, metrics: undefined } });
    expect(await metrics.registry.metrics()).not.toContain('pool="web"');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reports).toHaveLength(2);
  });

  test('the figures go to the store; the pool is woken only when they moved from what its status shows', async () => {
    const pods = [memberPod('m-0', ips[0] as string, 'ready')];
    const { scraper, store, wakes, advance } = setup({ pods });
    const member = fixture.members.get(ips[0] as string) as Member;
    const pool = poolWith(spec(fixture.port));
    scraper.sync(pool);
    await scraper.refreshUsage();
    await scraper.scrapePool('ns', 'web');
    const first = store.get('ns/web');
    expect(first).toMatchObject({ httpRps: 0, avgCpuPercent: 50 });
    // Both rounds measured before the pool's status showed anything: each woke it (the queue dedups the key).
    expect(wakes).toEqual(['ns/web', 'ns/web']);
    // The pool's pass wrote it and the cache shows it: a round with the same figures is stored but wakes nobody.
    scraper.sync({ ...pool, status: { utilization: first } });
    advance(10_000);
    await scraper.scrapePool('ns', 'web');
    expect(store.get('ns/web')?.sampledAt).toBe(new Date(1_700_000_010_000).toISOString());
    expect(wakes).toEqual(['ns/web', 'ns/web']);
    // 10 requests/s where the status says 0: beyond max(5 %, 1), the pool is woken.
    advance(10_000);
    member.counter += 100;
    await scraper.scrapePool('ns', 'web');
    expect(store.get('ns/web')?.httpRps).toBe(10);
    expect(wakes).toEqual(['ns/web', 'ns/web', 'ns/web']);
    // Without spec.metrics nothing is measured: the store forgets the pool (its status keeps what it showed).
    scraper.sync({ ...pool, spec: { ...pool.spec, metrics: undefined } });
    expect(store.get('ns/web')).toBeUndefined();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("scrapeClients on the controllers' clients, against a stand-in API server on loopback", () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      requests.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
      if (request.url === '/api/v1/namespaces/ns/pods/m-0:9090/proxy/metrics') {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
        response.end('app_http_requests_total 42\n');
      } else if (request.url?.startsWith('/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods?')) {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(podMetricsFor(['m-0'])));
      } else {
        response.writeHead(503, { 'Content-Type': 'text/plain' });
        response.end('no endpoints available');
      }
    });
    server.on('connection', () => connections++);
    port = await listen(server, 0, '127.0.0.1');
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function clientsFor(token: string, onRequest: OnApiRequest = () => undefined, options: ClientOptions = {}): ScrapeClients {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return scrapeClients(makeInstrumentedClients(kc, onRequest, options));
  }

  test('pod proxy GET and PodMetrics list, authenticated and counted', async () => {
    const counted: [string, number][] = [];
    const clients = clientsFor('secret-token', (verb, code) => counted.push([verb, code]));
    requests.length = 0;
    const text = await clients.apiGet(podProxyPath('ns', 'm-0', 9090, '/metrics'), AbortSignal.timeout(2000), 1024);
    expect(text).toBe('app_http_requests_total 42\n');
    const list = await clients.listPodMetrics('ns', 'warmpool.dev/pool=web');
    expect(list).toMatchObject({ kind: 'PodMetricsList' });
    await expect(clients.apiGet('/api/v1/namespaces/ns/pods/gone:1/proxy/metrics', AbortSignal.timeout(2000), 1024)).rejects.toThrow(
      'HTTP 503',
    );
    expect(requests).toEqual([
      'GET /api/v1/namespaces/ns/pods/m-0:9090/proxy/metrics Bearer secret-token',
      'GET /apis/metrics.k8s.io/v1beta1/namespaces/ns/pods?labelSelector=warmpool.dev%2Fpool%3Dweb Bearer secret-token',
      'GET /api/v1/namespaces/ns/pods/gone:1/proxy/metrics Bearer secret-token',
    ]);
    expect(counted).toEqual([
      ['get', 200],
      ['list', 200],
      ['get', 503],
    ]);
  });
  test('a percent-encoded dot segment reaches the API server encoded, under the member', async () => {
    const clients = clientsFor('t');
    const path = podProxyPath('ns', 'm-0', 9090, '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/kube-system/pods/x:9100/proxy/metrics');
    requests.length = 0;
    await expect(clients.apiGet(path, AbortSignal.timeout(2000), 1024)).rejects.toThrow('HTTP 503');
    expect(requests).toEqual([
      'GET /api/v1/namespaces/ns/pods/m-0:9090/proxy/%252e%252e/%252e%252e/%252e%252e/%252e%252e/kube-system/pods/x%3A9100/proxy/metrics Bearer t',
    ]);
  });

  test("scrapes and PodMetrics lists share the controllers' token bucket and their connection", async () => {
    // A bucket of one token at 20/s: every request after the first waits its turn, 50 ms each, so seven take 300 ms
    // or more (a lower bound only: a slow machine takes longer, never shorter).
    const clients = clientsFor('t', undefined, { throttle: { qps: 20, burst: 1 } });
    const scrape = (): Promise<string> => clients.apiGet(podProxyPath('ns', 'm-0', 9090, '/metrics'), AbortSignal.timeout(5000), 1024);
    connections = 0;
    const started = performance.now();
    await scrape();
    await clients.listPodMetrics('ns', 'warmpool.dev/pool=web');
    for (let i = 0; i < 5; i++) await scrape();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    // Seven requests, one after the other, over the shared keep-alive agent: a request sent right after the previous
    // body was read may find its socket not yet back in the pool and open a second one, never one per request.
    expect(connections).toBeLessThanOrEqual(2);
  });
});

describe('UtilizationScraper timers and unsafe specs', () => {
  let scraper: UtilizationScraper | undefined;
  afterEach(() => {
    scraper?.stop();
    jest.useRealTimers();
  });

  /** A scraper over one ready member whose rounds are counted (each round lists the members once). */
  function counting(apiGet: ScrapeClients['apiGet'] = async () => Promise.reject(new Error('not used'))) {
    let rounds = 0;
    scraper = new UtilizationScraper({
      metrics: createMetrics({ defaultMetrics: false, perMemberUtilization: true }),
      clients: { listPodMetrics: async () => podMetricsFor([]), apiGet },
      members: () => {
        rounds++;
        return [memberPod('m-0', '127.0.0.11', 'ready')];
      },
      store: new UtilizationStore(),
      wake: () => undefined,
    });
    return { scraper, rounds: () => rounds };
  }

  test('a 30-day interval runs one round, then sleeps 30 days: no timer overflow (setTimeout makes > 24.8 days 1 ms)', async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const { scraper, rounds } = counting();
    const day = 86_400_000;
    scraper.sync(poolWith({ port: 9090, intervalSeconds: 30 * 86_400, httpRequestsCounter: 'app_http_requests_total', via: 'APIServerProxy' }));
    await jest.advanceTimersByTimeAsync(1000);
    expect(rounds()).toBe(1);
    // Woken every hour at most, it goes back to sleep until the round is due.
    await jest.advanceTimersByTimeAsync(29 * day);
    expect(rounds()).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(day);
    expect(rounds()).toBe(2);
  });

  test('shortening the interval takes effect without waiting out the old one', async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const { scraper, rounds } = counting();
    const pool = poolWith({ port: 9090, intervalSeconds: 30 * 86_400, via: 'APIServerProxy' });
    scraper.sync(pool);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(rounds()).toBe(1);
    scraper.sync({ ...pool, spec: { ...pool.spec, metrics: { port: 9090, intervalSeconds: 15, via: 'APIServerProxy' } } });
    await jest.advanceTimersByTimeAsync(1000);
    expect(rounds()).toBe(2);
    await jest.advanceTimersByTimeAsync(15_000);
    expect(rounds()).toBe(3);
  });

  test('a path with a dot segment (from an older CRD) is never requested; the pool is logged once', async () => {
    const logs = captureLogs();
    const paths: string[] = [];
    const { scraper } = counting(async (path) => {
      paths.push(path);
      return 'app_http_requests_total 1\n';
    });
    scraper.sync(
      poolWith({
        port: 9100,
        path: '/../../../../kube-system/pods/x:9100/proxy/metrics',
        via: 'APIServerProxy',
        httpRequestsCounter: 'app_http_requests_total',
      }),
    );
    await scraper.scrapePool('ns', 'web');
    await scraper.scrapePool('ns', 'web');
    expect(paths).toEqual([]);
    expect(logs.filter((l) => l.message === 'spec.metrics is unsafe to scrape; not scraping the members')).toHaveLength(1);
    // The same pool with a legal path is scraped again, through the member's proxy only.
    scraper.sync(poolWith({ port: 9100, path: '/metrics;x', via: 'APIServerProxy', httpRequestsCounter: 'app_http_requests_total' }));
    await scraper.scrapePool('ns', 'web');
    expect(paths).toEqual(['/api/v1/namespaces/ns/pods/m-0:9100/proxy/metrics%3Bx']);
  });
});

describe('the PodMetrics round: one list per interval feeds every pool, with or without spec.metrics', () => {
  let scraper: UtilizationScraper | undefined;
  afterEach(() => {
    scraper?.stop();
    jest.useRealTimers();
  });

  const plainPool = (namespace: string, name: string, utilization?: PoolUtilization): InstancePool => ({
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name, namespace },
    spec: { template: {}, targetSize: 2 },
    status: utilization ? { utilization } : undefined,
  });
  const member = (namespace: string, pool: string, name: string, state = 'ready'): V1Pod => ({
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, labels: { 'warmpool.dev/pool': pool, 'warmpool.dev/state': state } },
    spec: { containers: [{ name: 'app', resources: { requests: { cpu: '500m', memory: '1Gi' } } }] },
    status: { podIP: '127.0.0.1' },
  });

  /** `pools` pools of 2 members in each of `namespaces`; every member uses 250m of its 500m and 256Mi of its 1Gi. */
  function fleet(options: { namespaces: string[]; watched?: string[]; pools: number; podMetricsIntervalMs?: number; now?: () => number }) {
    const pods = new Map<string, V1Pod[]>();
    for (const namespace of options.namespaces) {
      for (let p = 0; p < options.pools; p++) pods.set(`${namespace}/p${p}`, [member(namespace, `p${p}`, `p${p}-a`), member(namespace, `p${p}`, `p${p}-b`)]);
    }
    const listCalls: (string | undefined)[] = [];
    const store = new UtilizationStore();
    const wakes: string[] = [];
    const metrics = createMetrics({ defaultMetrics: false, perMemberUtilization: true });
    const itemsOf = (namespace: string | undefined) =>
      [...pods.entries()]
        .filter(([key]) => namespace === undefined || key.startsWith(`${namespace}/`))
        .flatMap(([key, list]) => {
          const [ns = '', pool = ''] = key.split('/');
          return (podMetricsFor(list.map((p) => p.metadata?.name ?? ''), ns, pool) as { items: unknown[] }).items;
        });
    scraper = new UtilizationScraper({
      metrics,
      clients: {
        listPodMetrics: async (namespace, selector) => {
          expect(selector).toBe('warmpool.dev/pool');
          listCalls.push(namespace);
          return { kind: 'PodMetricsList', items: itemsOf(namespace) };
        },
        apiGet: async () => Promise.reject(new Error('not used')),
      },
      members: (namespace, pool) => pods.get(`${namespace}/${pool}`) ?? [],
      namespaces: options.watched,
      podMetricsIntervalMs: options.podMetricsIntervalMs,
      store,
      wake: (key) => wakes.push(key),
      now: options.now ?? (() => 1_700_000_000_000),
    });
    for (const namespace of options.namespaces) for (let p = 0; p < options.pools; p++) scraper.sync(plainPool(namespace, `p${p}`));
    return { scraper, pods, listCalls, store, wakes, metrics };
  }

  test.each([
    { name: 'all namespaces: one cluster-wide list for 200 pools', namespaces: ['a', 'b'], watched: [], pools: 100, lists: [undefined] },
    { name: 'watched namespaces: one list per namespace', namespaces: ['a', 'b'], watched: ['a', 'b'], pools: 3, lists: ['a', 'b'] },
  ])('$name; every pool without spec.metrics gets cpu and memory, and no request figures', async ({ namespaces, watched, pools, lists }) => {
    const { scraper, listCalls, store, wakes } = fleet({ namespaces, watched, pools });
    await scraper.refreshUsage();
    expect(listCalls).toEqual(lists);
    expect(wakes).toHaveLength(namespaces.length * pools);
    for (const namespace of namespaces) {
      for (let p = 0; p < pools; p++) {
        expect(store.get(`${namespace}/p${p}`)).toEqual({ avgCpuPercent: 50, avgMemoryPercent: 25, sampledAt: new Date(1_700_000_000_000).toISOString() });
      }
    }
  });

  test('at rest (the status shows the figures) a round wakes no pool; a member that leaves loses its series', async () => {
    const { scraper, pods, store, wakes, metrics } = fleet({ namespaces: ['a'], pools: 2 });
    await scraper.refreshUsage();
    expect(wakes).toEqual(['a/p0', 'a/p1']);
    // The pools wrote their status; the informer shows it.
    for (const p of ['p0', 'p1']) scraper.sync(plainPool('a', p, store.get(`a/${p}`)));
    await scraper.refreshUsage();
    expect(wakes).toEqual(['a/p0', 'a/p1']);
    expect(await metrics.registry.metrics()).toContain('warmpool_member_cpu_utilization_ratio{namespace="a",pool="p0",member="p0-b"} 0.5');
    pods.set('a/p0', (pods.get('a/p0') ?? []).slice(0, 1));
    await scraper.refreshUsage();
    expect(await metrics.registry.metrics()).not.toContain('member="p0-b"');
    expect(wakes).toEqual(['a/p0', 'a/p1']);
    // Warming members are not measured: with none measured the store forgets the pool (its status keeps what it shows).
    pods.set('a/p1', [member('a', 'p1', 'p1-a', 'warming')]);
    expect(await metrics.registry.metrics()).toContain('warmpool_pool_cpu_utilization_ratio{namespace="a",pool="p1"} 0.5');
    await scraper.refreshUsage();
    expect(store.get('a/p1')).toBeUndefined();
    // ...and its pool series go with it, once.
    expect(await metrics.registry.metrics()).not.toContain('warmpool_pool_cpu_utilization_ratio{namespace="a",pool="p1"}');
    scraper.remove('a', 'p0');
    expect(store.get('a/p0')).toBeUndefined();
    expect(await metrics.registry.metrics()).not.toContain('pool="p0"');
  });

  test('start() lists at once and then once per interval; a pool with a shorter spec.metrics interval shortens it', async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const { scraper, listCalls } = fleet({ namespaces: ['a'], pools: 5, podMetricsIntervalMs: 15_000, now: () => Date.now() });
    scraper.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(listCalls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(15_000);
    expect(listCalls).toHaveLength(2);
    // An endpoint pool at 5 s: PodMetrics keep pace (one list for all pools still), from 5 s after the last round.
    scraper.sync({ ...plainPool('a', 'p0'), spec: { template: {}, targetSize: 2, metrics: { port: 9090, intervalSeconds: 5, via: 'APIServerProxy' } } });
    await jest.advanceTimersByTimeAsync(5_000);
    expect(listCalls).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(listCalls).toHaveLength(5);
  });
});
