// make bench-cluster: what the local cluster itself costs. Prints cluster start time (warm tool cache), API round
// trips from one @kubernetes/client-node client (and GETs over one shared connection, as the operator makes them),
// how fast kwok takes 500 pods from created to Ready, and the resident memory of the cluster's processes at rest.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { componentPids, startCluster } from '../e2e/cluster/cluster.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { ms, summary } from './stats.js';

function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number.parseInt(line.replace(/\D+/g, ' ').trim(), 10) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const name = `wp-bench-${process.pid}`;
  const t0 = performance.now();
  const cluster = await startCluster({ name, nodes: 4, node: { pods: 250 } });
  const startMs = performance.now() - t0;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = 'bench';
    await core.createNamespace({ body: { metadata: { name: ns } } });

    // Round trips: create, get, patch of a ConfigMap, sequential, one client.
    const create: number[] = [];
    const get: number[] = [];
    const patch: number[] = [];
    for (let i = 0; i < 300; i++) {
      const n = `cm-${i}`;
      let t = performance.now();
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: n }, data: { a: '1' } } });
      create.push(performance.now() - t);
      t = performance.now();
      await core.readNamespacedConfigMap({ name: n, namespace: ns });
      get.push(performance.now() - t);
      t = performance.now();
      await core.patchNamespacedConfigMap(
        { name: n, namespace: ns, body: { data: { a: '2' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      patch.push(performance.now() - t);
    }

    // The same GETs through the operator's clients, which share one keep-alive connection
    // (operator/kube/connections.ts), against client-node's own, which connect and handshake per request.
    const shared = makeInstrumentedClients(kc, () => undefined, { userAgent: 'warmpool-bench' }).core;
    const getsWith = async (api: CoreV1Api): Promise<{ serialMs: number; concurrentMs: number }> => {
      let t = performance.now();
      for (let i = 0; i < 300; i++) await api.readNamespacedConfigMap({ name: `cm-${i}`, namespace: ns });
      const serialMs = (performance.now() - t) / 300;
      t = performance.now();
      await Promise.all(Array.from({ length: 300 }, (_, i) => api.readNamespacedConfigMap({ name: `cm-${i}`, namespace: ns })));
      return { serialMs, concurrentMs: performance.now() - t };
    };
    const own = await getsWith(core);
    const reused = await getsWith(shared);

    // 500 pods from created to Ready, timed by a watch opened before the first create.
    const created = new Map<string, number>();
    const readyAt = new Map<string, number>();
    let resolveAll: () => void = () => undefined;
    const allReady = new Promise<void>((r) => (resolveAll = r));
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (_type: string, pod: V1Pod) => {
        const n = pod.metadata?.name ?? '';
        if (readyAt.has(n)) return;
        if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
          readyAt.set(n, performance.now());
          if (readyAt.size === 500) resolveAll();
        }
      },
      () => undefined,
    );
    const tPods = performance.now();
    const queue = Array.from({ length: 500 }, (_, i) => `pod-${i}`);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          created.set(n, performance.now());
          await core.createNamespacedPod({
            namespace: ns,
            body: { metadata: { name: n }, spec: { containers: [{ name: 'main', image: 'example.invalid/x:1' }] } },
          });
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allReady,
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('500 pods not Ready in 300 s')), 300_000))),
    ]).finally(() => clearTimeout(timer));
    const podsMs = performance.now() - tPods;
    (watch as { abort(): void }).abort();
    const perPod = [...readyAt].map(([n, t]) => t - (created.get(n) ?? t));

    // Memory at rest: let the burst settle, then read every component's RSS.
    await new Promise((r) => setTimeout(r, 5000));
    const rss = [...componentPids(cluster.dir)].map(([name, pid]) => ({ name, mib: rssMiB(pid) }));

    const c = summary(create);
    const g = summary(get);
    const p = summary(patch);
    const r = summary(perPod);
    console.log('local cluster benchmark (2 cores; warm tool cache)');
    console.log(`  cluster start (control plane + 4 nodes Ready):   ${(startMs / 1000).toFixed(2)} s`);
    console.log(`  create round trip (n=${c.n}):  p50 ${ms(c.p50)}  p99 ${ms(c.p99)}`);
    console.log(`  get round trip    (n=${g.n}):  p50 ${ms(g.p50)}  p99 ${ms(g.p99)}`);
    console.log(`  patch round trip  (n=${p.n}):  p50 ${ms(p.p50)}  p99 ${ms(p.p99)}`);
    console.log(
      `  GET, client-node's own client (a connection per request): ${own.serialMs.toFixed(1)} ms each in sequence, ` +
        `300 at once in ${own.concurrentMs.toFixed(0)} ms`,
    );
    console.log(
      `  GET, one shared keep-alive connection (the operator's):   ${reused.serialMs.toFixed(1)} ms each in sequence, ` +
        `300 at once in ${reused.concurrentMs.toFixed(0)} ms`,
    );
    console.log(`  500 pods created -> Ready: ${(podsMs / 1000).toFixed(2)} s for all (${(500 / (podsMs / 1000)).toFixed(0)} pods/s); per pod p50 ${ms(r.p50)} p99 ${ms(r.p99)}`);
    console.log(`  resident memory at rest: ${rss.reduce((a, b) => a + b.mib, 0).toFixed(0)} MiB total`);
    for (const x of rss) console.log(`    ${x.name.padEnd(24)} ${x.mib.toFixed(0)} MiB`);
  } finally {
    await cluster.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
