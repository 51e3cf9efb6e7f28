// Issue 22, the HPA line, on the local cluster: `kubectl autoscale ipool/<name> --cpu=50%` makes a
// HorizontalPodAutoscaler whose controller (the real one, in kube-controller-manager) reads the pool through its scale
// subresource (spec.targetSize, status.replicas, status.selector) and its members' cpu from metrics-server (fed by
// kwok from the sim.warmpool.dev/cpu annotation). Members using 80% of their cpu request against a 50% target make
// the HPA raise targetSize (to its max of 4 here, so the end state is fixed), and the operator brings the pool there.
import type { InstancePool } from '../operator/api/types.js';
import { installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { poolManifest, poolWhere } from './support/pools.js';

/** metrics-server's first report took 32–60 s when idle and longer under a full parallel test run; the HPA then syncs every 15 s. */
const DEADLINE_MS = 300_000;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

interface Hpa {
  spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas?: number; maxReplicas: number };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: { resource?: { name: string; current: { averageUtilization?: number } } }[];
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('hpa'));
  op = await startOperatorInProcess(ns);
  // The HPA computes utilization against the members' cpu requests: the template must set them.
  await kubectl(
    ['apply', '-f', '-'],
    poolManifest(ns, 'web', {
      targetSize: 2,
      annotations: { 'sim.warmpool.dev/cpu': '400m', 'sim.warmpool.dev/memory': '64Mi' },
      podSpec: { containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: '500m', memory: '128Mi' } } }] },
    }),
  );
  await poolWhere(ns, 'web', 'readyCount 2', (p) => p.status?.readyCount === 2, 60_000);
}, 90_000);

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

async function hpa(): Promise<Hpa> {
  return JSON.parse(await kubectl(['-n', ns, 'get', 'hpa', 'web', '-o', 'json'])) as Hpa;
}

test('kubectl autoscale ipool: the HPA reads member cpu through the scale subresource and raises targetSize; the operator follows', async () => {
  const started = Date.now();
  await kubectl(['-n', ns, 'autoscale', 'ipool/web', '--cpu=50%', '--min=1', '--max=4']);
  const created = await hpa();
  expect(created.spec.scaleTargetRef).toEqual({ apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'web' });

  let scaled: InstancePool;
  try {
    // 80% of the request against a 50% target: ceil(2 × 80 / 50) = 4, the HPA's max.
    scaled = await poolWhere(
      ns,
      'web',
      'targetSize 4 (set by the HPA) with 4 ready members',
      (p) => p.spec.targetSize === 4 && p.status?.readyCount === 4 && p.status.replicas === 4,
      DEADLINE_MS,
    );
  } catch (error) {
    throw new Error(`${String(error)}; HPA status: ${JSON.stringify((await hpa()).status)}`);
  }
  const seen = await hpa();
  const cpu = seen.status?.currentMetrics?.find((m) => m.resource?.name === 'cpu')?.resource?.current.averageUtilization;
  process.stdout.write(
    `[hpa] targetSize 2 -> ${scaled.spec.targetSize} and ${scaled.status?.readyCount} ready ${((Date.now() - started) / 1000).toFixed(1)} s after kubectl autoscale; ` +
      `HPA: cpu ${cpu}% of request, desiredReplicas ${seen.status?.desiredReplicas}, conditions ${JSON.stringify(seen.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`))}\n`,
  );
  // The HPA measured the members' cpu (80% of their request: 400m of 500m), through status.selector.
  expect(cpu).toBeGreaterThanOrEqual(72);
  expect(cpu).toBeLessThanOrEqual(88);
  expect(seen.status?.desiredReplicas).toBe(4);
}, DEADLINE_MS + 60_000);

test('the scale subresource (what the HPA writes through) keeps targetSize within a set maxSize, naming the field', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'capped', { targetSize: 1, spec: { maxSize: 2 } }));
  const refused = await kubectlRaw(['-n', ns, 'scale', 'ipool/capped', '--replicas=3']);
  expect({ code: refused.code === 0 ? 0 : 1, names: refused.stderr.includes('targetSize') }).toEqual({ code: 1, names: true });
  await kubectl(['-n', ns, 'scale', 'ipool/capped', '--replicas=2']);
  expect((await poolWhere(ns, 'capped', 'targetSize 2', (p) => p.spec.targetSize === 2)).spec.maxSize).toBe(2);
}, 60_000);
