// make bench (pools): what pools cost at rest and how fast one fills.
//   100 pools of 10 members at rest: API writes by the operator over one minute (audit log) and its resident memory;
//   time to fill a pool of 100 members from empty (pods Ready 1 s after creation).
import { performance } from 'node:perf_hooks';
import type { InstancePool } from '../operator/api/types.js';
import { auditWrites, benchEnv, benchPool, OPERATOR_USER, sleep, type BenchEnv } from './env.js';

const NS = 'bench-pools';
const G = { group: 'warmpool.dev', version: 'v1alpha1', namespace: NS, plural: 'instancepools' };

async function readyPools(env: BenchEnv, want: number): Promise<number> {
  const list = (await env.custom.listNamespacedCustomObject(G)) as { items: InstancePool[] };
  return list.items.filter((p) => (p.status?.readyCount ?? 0) >= want && p.status?.observedGeneration === p.metadata.generation).length;
}

export async function poolBenchmarks(): Promise<void> {
  const env = await benchEnv(`wp-bench-pools-${process.pid}`, 6, 250);
  try {
    await env.core.createNamespace({ body: { metadata: { name: NS } } });
    console.log('pool benchmark (2 cores; operator as its own process; pods Ready 1 s after creation)');

    let t0 = performance.now();
    await env.custom.createNamespacedCustomObject({ ...G, body: benchPool(NS, 'fill-100', 100) });
    while ((await readyPools(env, 100)) < 1) await sleep(100);
    console.log(`  a pool of 100 filled from empty (created -> readyCount 100): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    await env.cluster.kubectl(['-n', NS, 'delete', 'instancepool', 'fill-100', '--timeout=120s']);

    t0 = performance.now();
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => env.custom.createNamespacedCustomObject({ ...G, body: benchPool(NS, `p-${i + j}`, 10) })),
      );
    }
    while ((await readyPools(env, 10)) < 100) await sleep(500);
    console.log(`  100 pools of 10 members ready: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(10_000); // let the last status writes land
    const from = Date.now();
    await sleep(60_000);
    const writes = auditWrites(env.cluster, OPERATOR_USER, from);
    console.log(`  at rest for 60 s: ${writes.length} API writes by the operator` + (writes.length ? ` (${[...new Set(writes.map((w) => `${w.verb} ${w.resource}`))].join(', ')})` : ''));
    console.log(`  operator resident memory with 100 pools and 1,000 members: ${env.operatorRssMiB().toFixed(0)} MiB`);
  } finally {
    await env.stop();
  }
}
