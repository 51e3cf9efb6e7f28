// One local cluster for the whole test run. Jest loads global setup with Node's own ESM loader, not through
// ts-jest, so this glue imports the compiled harness from dist/ (`make test` compiles first).
// With WARMPOOL_TEST_EXTERNAL_CLUSTER=1 and KUBECONFIG set (kind, or any real cluster) nothing is started.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(join(root, 'dist', p));

export default async function globalSetup() {
  const { ensureTools } = await dist('e2e/cluster/paths.js');
  const tools = await ensureTools();
  process.env.WARMPOOL_TOOLS_DIR = tools.dir;
  if (process.env.KUBECONFIG && process.env.WARMPOOL_TEST_EXTERNAL_CLUSTER === '1') return;
  const { startCluster } = await dist('e2e/cluster/cluster.js');
  const name = `wp-test-${process.pid}`;
  const cluster = await startCluster({
    name,
    nodes: 3,
    // Room for every file's members at once (the chaos test alone runs 220).
    node: { pods: 250 },
    metrics: true,
    audit: true,
    // For test/throttle.test.ts: a FlowSchema gives its operator's user a tiny share (admins stay exempt).
    priorityAndFairness: true,
    log: (l) => process.stderr.write(`[test-cluster] ${l}\n`),
  });
  mkdirSync(join(root, '.cache'), { recursive: true });
  writeFileSync(
    join(root, '.cache', 'test-cluster.json'),
    JSON.stringify({ name, kubeconfig: cluster.kubeconfig, toolsDir: tools.dir, auditLog: cluster.auditLog ?? null, dir: cluster.dir }),
  );
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.WARMPOOL_TEST_CLUSTER = name;
  process.env.WARMPOOL_TEST_AUDIT_LOG = cluster.auditLog ?? '';
}
