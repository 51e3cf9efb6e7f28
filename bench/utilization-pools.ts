// What cpu and memory utilization for every pool costs the operator (issue 23): N pools without spec.metrics, M
// members each, measured by the PodMetrics round alone. A child process serves a stand-in API server on loopback
// whose PodMetrics list holds every member (as metrics-server's would, with the pod labels); this process runs only
// the scraper, through the operator's own API clients. It prints the requests per interval (one list for all pools,
// where a list per pool would be N) and the cpu the rounds cost.
// Run: node dist/bench/utilization-pools.js [pools=200] [members per pool=1] [seconds=60] [interval seconds=15]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool } from '../operator/api/types.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { createMetrics } from '../operator/metrics/registry.js';
import { configureLogging } from '../operator/telemetry/logger.js';
import { UtilizationScraper, scrapeClients } from '../operator/utilization/scraper.js';

const POOLS = Number(process.argv[2] ?? 200);
const MEMBERS = Number(process.argv[3] ?? 1);
const SECONDS = Number(process.argv[4] ?? 60);
const INTERVAL_SECONDS = Number(process.argv[5] ?? 15);

const API = `
const http = require('node:http');
const [pools, members] = process.argv.slice(1).map(Number);
const items = [];
for (let p = 0; p < pools; p++) for (let m = 0; m < members; m++) items.push({
  metadata: { name: 'p' + p + '-' + m, namespace: 'bench', labels: { 'warmpool.dev/pool': 'p' + p, 'warmpool.dev/state': 'ready', app: 'p' + p } },
  timestamp: new Date().toISOString(), window: '15s',
  containers: [{ name: 'app', usage: { cpu: (100 + ((p * 7 + m) % 300)) + 'm', memory: '256Mi' } }] });
const list = JSON.stringify({ kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
const server = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(list); });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, bytes: list.length })));
`;

function pool(p: number): InstancePool {
  return { apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', metadata: { name: `p${p}`, namespace: 'bench' }, spec: { template: {}, targetSize: MEMBERS } };
}

function members(p: number): V1Pod[] {
  return Array.from({ length: MEMBERS }, (_, m) => ({
    metadata: { name: `p${p}-${m}`, namespace: 'bench', uid: `uid-${p}-${m}`, labels: { 'warmpool.dev/pool': `p${p}`, 'warmpool.dev/state': 'ready' } },
    spec: { containers: [{ name: 'app', resources: { requests: { cpu: '500m', memory: '1Gi' } } }] },
    status: { podIP: '127.0.0.1' },
  }));
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-e', API, String(POOLS), String(MEMBERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const { port, bytes } = JSON.parse(first) as { port: number; bytes: number };
    configureLogging({ levels: 'warn' });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'bench', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'bench' }],
      contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
      currentContext: 'bench',
    });
    const clients = scrapeClients(makeInstrumentedClients(kc, () => {}));
    let lists = 0;
    const podsByPool = new Map(Array.from({ length: POOLS }, (_, p) => [`p${p}`, members(p)]));
    let stored = 0;
    let wakes = 0;
    const scraper = new UtilizationScraper({
      metrics: createMetrics({ defaultMetrics: false }),
      clients: {
        ...clients,
        listPodMetrics: (namespace, selector) => {
          lists++;
          return clients.listPodMetrics(namespace, selector);
        },
      },
      members: (_ns, name) => podsByPool.get(name) ?? [],
      podMetricsIntervalMs: INTERVAL_SECONDS * 1000,
      store: { get: () => undefined, set: () => void stored++, delete: () => {} },
      wake: () => void wakes++,
    });
    for (let p = 0; p < POOLS; p++) scraper.sync(pool(p));
    // A first round outside the measurement: module loading and JIT warm-up.
    await scraper.refreshUsage();
    const roundStart = process.cpuUsage();
    const t0 = performance.now();
    await scraper.refreshUsage();
    const oneRound = process.cpuUsage(roundStart);
    const roundMs = performance.now() - t0;
    const lists0 = lists;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    scraper.start();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    scraper.stop();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const rounds = lists - lists0;
    const intervals = wallMs / (INTERVAL_SECONDS * 1000);
    console.log(`pools ${POOLS} of ${MEMBERS} member(s) without spec.metrics, PodMetrics every ${INTERVAL_SECONDS} s, list body ${(bytes / 1024).toFixed(0)} KiB`);
    console.log(`requests: ${rounds} PodMetrics lists in ${(wallMs / 1000).toFixed(1)} s = ${(rounds / intervals).toFixed(2)} per interval (a list per pool: ${POOLS} per interval)`);
    console.log(`one round (list, group, ${POOLS} pools composed): ${((oneRound.user + oneRound.system) / 1000).toFixed(1)} ms cpu, ${roundMs.toFixed(1)} ms wall`);
    console.log(`cpu ${cpuMs.toFixed(0)} ms over ${(wallMs / 1000).toFixed(1)} s = ${((100 * cpuMs) / wallMs).toFixed(3)}% of one core; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
    // No pool status here shows the figures, so every round wakes every pool: in the operator the status does.
    console.log(`pools measured: ${stored} store writes, ${wakes} wakes`);
  } finally {
    child.kill();
  }
}

await main();
