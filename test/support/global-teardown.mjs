// Always tear the cluster down: kwokctl starts its components detached, so they would outlive the test run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default async function globalTeardown() {
  const name = process.env.WARMPOOL_TEST_CLUSTER;
  if (!name) return;
  const { deleteCluster } = await import(join(root, 'dist', 'e2e', 'cluster', 'cluster.js'));
  await deleteCluster(name);
}
