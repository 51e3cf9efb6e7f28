// A real Prometheus (Debian's package, extracted by hack/prometheus.sh, bound to loopback) scrapes `warmpool operator`
// every second, and a PromQL query for the pool's ready members through the HTTP API returns the pool's size.
import { eventually, installCrds, kubectl, useNamespace } from '../test/support/kube.js';
import { spawnOperator, type OperatorProcess } from '../test/support/operator.js';
import { poolManifest, poolWhere } from '../test/support/pools.js';
import { freePort } from '../test/support/ports.js';
import { query, startPrometheus, type RunningPrometheus } from '../test/support/prometheus.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: OperatorProcess | undefined;
let prometheus: RunningPrometheus | undefined;
let metricsAddress = '';

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('prom'));
  metricsAddress = `127.0.0.1:${await freePort()}`;
  [op, prometheus] = await Promise.all([
    spawnOperator(['--namespaces', ns, '--metrics-bind-address', metricsAddress, '--health-probe-bind-address', '127.0.0.1:0']),
    startPrometheus([metricsAddress], 1),
  ]);
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await op?.kill('SIGTERM');
  await cleanup();
});

test("Prometheus scrapes the operator and a query returns the pool's ready members", async () => {
  const url = prometheus?.url ?? '';
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'scraped', { targetSize: 3 }));
  await poolWhere(ns, 'scraped', 'readyCount 3', (p) => p.status?.readyCount === 3);

  const promql = `warmpool_pool_members{namespace="${ns}",pool="scraped",state="ready"}`;
  const [sample] = await eventually(
    `${promql} == 3`,
    async () => {
      const result = await query(url, promql);
      return result.length === 1 && result[0]?.value === 3 ? result : undefined;
    },
    30_000,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\nprometheus:\n${prometheus?.output().slice(-3000) ?? ''}`);
  });
  expect(sample?.metric).toMatchObject({ job: 'warmpool', instance: metricsAddress, __name__: 'warmpool_pool_members' });

  // The target is healthy, and the operator's own series are there beside the pool's.
  expect(await query(url, `up{job="warmpool",instance="${metricsAddress}"}`)).toEqual([expect.objectContaining({ value: 1 })]);
  expect(await query(url, 'warmpool_leader')).toEqual([expect.objectContaining({ value: 1 })]);
  expect(await query(url, `warmpool_pool_target_size{namespace="${ns}",pool="scraped"}`)).toEqual([expect.objectContaining({ value: 3 })]);
}, 60_000);
