// What utilization scraping costs the operator: one pool of 1,000 members scraped every 15 s, as in issue 12's
// acceptance (under 5% of one core). A child process serves the members' endpoints, each on its own loopback
// address (127.0.x.y) so every scrape opens its own connection as it would to real pod IPs, plus a stand-in API
// server for the PodMetrics list. This process runs only the scraper; its cpu time over the wall time is the cost.
// Run: node dist/operator/metrics/scraper.bench.js [members] [seconds]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { configureLogging } from '../operator/telemetry/logger.js';
import { createMetrics } from '../operator/metrics/registry.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { UtilizationScraper, scrapeClients } from '../operator/utilization/scraper.js';

const MEMBERS = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 60);
const INTERVAL_SECONDS = 15;

const memberIp = (i: number): string => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

// The endpoints: about 200 lines (~10 KB) like a typical instrumented service, counters growing over time.
const SERVERS = `
const http = require('node:http');
const [members] = process.argv.slice(1).map(Number);
const ip = (i) => '127.0.' + (1 + Math.floor(i / 250)) + '.' + (1 + (i % 250));
const filler = [];
for (let i = 0; i < 180; i++) filler.push('# HELP go_filler_' + i + ' Filler.\\n# TYPE go_filler_' + i + ' gauge\\ngo_filler_' + i + '{instance="x"} ' + i);
const start = Date.now();
const body = () => {
  const n = Math.floor((Date.now() - start) / 50);
  return ['# TYPE http_requests_total counter',
    'http_requests_total{code="200",method="GET"} ' + n,
    'http_requests_total{code="500",method="GET"} 1',
    '# TYPE inflight gauge', 'inflight 3', ...filler].join('\\n') + '\\n';
};
(async () => {
  const listen = (server, port, host) => new Promise((res, rej) => { server.once('error', rej); server.listen(port, host, () => res(server.address().port)); });
  let port = 0;
  for (let i = 0; i < members; i++) {
    const server = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', Connection: 'close' }); res.end(body()); });
    port = await listen(server, port, ip(i));
  }
  const list = JSON.stringify({ kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items: Array.from({ length: members }, (_, i) => ({
    metadata: { name: 'm-' + i, namespace: 'bench', labels: { 'warmpool.dev/pool': 'web' } }, timestamp: new Date().toISOString(), window: '15s',
    containers: [{ name: 'app', usage: { cpu: '250m', memory: '256Mi' } }] })) });
  const api = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(list); });
  const apiPort = await listen(api, 0, '127.0.0.1');
  console.log(JSON.stringify({ port, apiPort }));
})();
`;

function memberPods(): V1Pod[] {
  return Array.from({ length: MEMBERS }, (_, i) => ({
    metadata: { name: `m-${i}`, namespace: 'bench', uid: `uid-${i}`, labels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'ready' } },
    spec: { containers: [{ name: 'app', resources: { requests: { cpu: '500m', memory: '1Gi' } } }] },
    status: { podIP: memberIp(i) },
  }));
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-e', SERVERS, String(MEMBERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const { port, apiPort } = JSON.parse(first) as { port: number; apiPort: number };
    configureLogging({ levels: 'warn' });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'bench', server: `http://127.0.0.1:${apiPort}`, skipTLSVerify: true }],
      users: [{ name: 'bench' }],
      contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
      currentContext: 'bench',
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const pods = memberPods();
    let rounds = 0;
    let last: unknown;
    const scraper = new UtilizationScraper({
      metrics,
      clients: scrapeClients(makeInstrumentedClients(kc, () => {})),
      members: () => pods,
      store: {
        get: () => undefined,
        set: (_key, utilization) => {
          rounds++;
          last = utilization;
        },
        delete: () => {},
      },
      wake: () => {},
    });
    const pool = {
      apiVersion: 'warmpool.dev/v1alpha1' as const,
      kind: 'InstancePool' as const,
      metadata: { name: 'web', namespace: 'bench' },
      spec: {
        template: {},
        targetSize: MEMBERS,
        metrics: { port, intervalSeconds: INTERVAL_SECONDS, httpRequestsCounter: 'http_requests_total', inflightGauge: 'inflight' },
      },
    };
    // sync runs a first round at once: it is the warm-up (module loading, JIT), outside the measurement.
    scraper.sync(pool);
    // cpu and memory come from the one PodMetrics round (every 15 s), as in the operator.
    scraper.start();
    await scraper.scrapePool('bench', 'web');
    const roundStart = process.cpuUsage();
    const t0 = performance.now();
    await scraper.scrapePool('bench', 'web');
    const oneRound = process.cpuUsage(roundStart);
    const roundMs = performance.now() - t0;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const rounds0 = rounds;
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    scraper.stop();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const errors = (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('warmpool_member_scrape_errors_total{')).length;
    console.log(`members ${MEMBERS}, interval ${INTERVAL_SECONDS} s, ${rounds - rounds0} rounds in ${(wallMs / 1000).toFixed(1)} s`);
    console.log(`one round: ${((oneRound.user + oneRound.system) / 1000).toFixed(0)} ms cpu, ${roundMs.toFixed(0)} ms wall`);
    console.log(`cpu ${cpuMs.toFixed(0)} ms over ${(wallMs / 1000).toFixed(1)} s = ${((100 * cpuMs) / wallMs).toFixed(2)}% of one core`);
    console.log(`members failing: ${errors}; last utilization ${JSON.stringify(last)}`);
  } finally {
    child.kill();
  }
}

await main();
