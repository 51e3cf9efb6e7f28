// The local cluster, driven as a person would drive it: kubectl and helm only. Proves the control plane, kwok's
// simulated pod lifecycle (the sim.warmpool.dev/* annotations) and metrics-server behave as the operator needs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cluster/paths.js';
import { bin, eventually, helm, kubeconfig, kubectl, kubectlRaw, useNamespace } from '../test/support/kube.js';

const fixtures = join(repoRoot(), 'e2e', 'fixtures');
let ns = '';
let cleanup: () => Promise<void> = async () => undefined;

interface PodLike {
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { restartCount: number; state?: { waiting?: { reason?: string } } }[];
  };
}

function pod(name: string, annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, annotations, ...extra },
    spec: { containers: [{ name: 'main', image: 'example.invalid/app:1' }], terminationGracePeriodSeconds: 5 },
  });
}

async function getPod(name: string): Promise<PodLike> {
  return JSON.parse(await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'json'])) as PodLike;
}

const cond = (p: PodLike, type: string): string | undefined => p.status?.conditions?.find((c) => c.type === type)?.status;

beforeAll(async () => {
  ({ ns, cleanup } = await useNamespace('cluster'));
  // PodMetrics take about a minute to appear: start the pod first so the check at the end rarely waits.
  await kubectl(['apply', '-f', '-'], pod('usage', { 'sim.warmpool.dev/cpu': '250m', 'sim.warmpool.dev/memory': '256Mi' }));
});

afterAll(async () => {
  await cleanup();
});

test('kubectl version reports a v1.37 server', async () => {
  const v = JSON.parse(await kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
  expect(v.serverVersion.gitVersion).toMatch(/^v1\.37\./);
});

test('nodes are fake kwok nodes with loopback pod CIDRs', async () => {
  const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
    items: { spec: { podCIDR: string }; status: { conditions: { type: string; status: string }[] } }[];
  };
  expect(nodes.items.length).toBeGreaterThanOrEqual(1);
  for (const n of nodes.items) {
    expect(n.spec.podCIDR).toMatch(/^127\.\d+\.\d+\.0\/24$/);
    expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  }
});

test('a CRD and a custom resource: printer columns, scale subresource, server-side apply', async () => {
  await kubectl(['apply', '--server-side', '-f', join(fixtures, 'widget-crd.yaml')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.test.warmpool.dev']);
  const widget = (size: number): string =>
    JSON.stringify({ apiVersion: 'test.warmpool.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size, color: 'red' } });
  await kubectl(['apply', '--server-side', '--field-manager=e2e', '-f', '-'], widget(2));
  const table = await kubectl(['-n', ns, 'get', 'widgets']);
  expect(table).toMatch(/NAME\s+SIZE\s+COLOR\s+AGE/);
  expect(table).toMatch(/w1\s+2\s+red/);
  await kubectl(['-n', ns, 'scale', 'widget/w1', '--replicas=5']);
  expect(await kubectl(['-n', ns, 'get', 'wdg', 'w1', '-o', 'jsonpath={.spec.size}'])).toBe('5');
  // Server-side apply by another manager that changes the same field conflicts, as it should.
  const conflict = await kubectlRaw(['apply', '--server-side', '--field-manager=other', '-f', '-'], widget(3));
  expect(conflict.code).not.toBe(0);
  expect(conflict.stderr).toMatch(/conflict/i);
});

test('a resource that breaks its schema is rejected with 422 naming the field, and nothing is stored', async () => {
  const bad = JSON.stringify({
    apiVersion: 'test.warmpool.dev/v1',
    kind: 'Widget',
    metadata: { name: 'bad', namespace: ns },
    spec: { size: 1000, color: 'purple' },
  });
  const res = await kubectlRaw(['create', '-f', '-', '-v=6'], bad);
  expect(res.code).not.toBe(0);
  expect(res.stderr).toMatch(/422/);
  expect(res.stderr).toMatch(/spec\.size/);
  expect(res.stderr).toMatch(/spec\.color/);
  const get = await kubectlRaw(['-n', ns, 'get', 'widget', 'bad']);
  expect(get.stderr).toMatch(/NotFound/);
});

test('kubectl wait for Ready on a pod with sim.warmpool.dev/ready-after', async () => {
  await kubectl(['apply', '-f', '-'], pod('ready-1s', { 'sim.warmpool.dev/ready-after': '1s' }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', '--timeout=30s', 'pod/ready-1s']);
  const p = await getPod('ready-1s');
  expect(p.status?.phase).toBe('Running');
  expect(p.status?.podIP).toMatch(/^127\./);
});

test('a crashing pod fails, a never-ready pod runs unready, a crash-looping pod backs off', async () => {
  await kubectl(['apply', '-f', '-'], pod('crash', { 'sim.warmpool.dev/fail': 'crash', 'sim.warmpool.dev/fail-after': '500ms' }));
  await kubectl(['apply', '-f', '-'], pod('never', { 'sim.warmpool.dev/fail': 'never-ready' }));
  await kubectl(['apply', '-f', '-'], pod('loop', { 'sim.warmpool.dev/fail': 'crashloop', 'sim.warmpool.dev/fail-after': '500ms' }));
  await kubectl(['-n', ns, 'wait', '--for=jsonpath={.status.phase}=Failed', '--timeout=30s', 'pod/crash']);
  await eventually('crash-looping pod', async () => {
    const p = await getPod('loop');
    const cs = p.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && cs.restartCount >= 1 && cond(p, 'Ready') === 'False'
      ? p
      : undefined;
  });
  const never = await getPod('never');
  expect(never.status?.phase).toBe('Running');
  expect(cond(never, 'Ready')).toBe('False');
});

test('a pod that fits no node stays Pending with reason Unschedulable', async () => {
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'too-big', namespace: ns },
      spec: { containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: '1000' } } }] },
    }),
  );
  const p = await eventually('Unschedulable condition', async () => {
    const got = await getPod('too-big');
    return got.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ? got : undefined;
  });
  expect(p.status?.phase).toBe('Pending');
});

test('deletion is held by a finalizer and completes once it is removed; terminate-after grace lingers', async () => {
  await kubectl(['apply', '-f', '-'], pod('held', {}, { finalizers: ['test.warmpool.dev/hold'] }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', '--timeout=30s', 'pod/held']);
  await kubectl(['-n', ns, 'delete', 'pod', 'held', '--wait=false']);
  const held = JSON.parse(await kubectl(['-n', ns, 'get', 'pod', 'held', '-o', 'json'])) as { metadata: { deletionTimestamp?: string } };
  expect(held.metadata.deletionTimestamp).toBeDefined();
  await kubectl(['-n', ns, 'patch', 'pod', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', 'pod/held']);

  await kubectl(['apply', '-f', '-'], pod('graceful', { 'sim.warmpool.dev/terminate-after': 'grace' }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', '--timeout=30s', 'pod/graceful']);
  await kubectl(['-n', ns, 'delete', 'pod', 'graceful', '--wait=false', '--grace-period=2']);
  // Still there right after the delete: it lingers for its grace period, then goes.
  expect((await kubectlRaw(['-n', ns, 'get', 'pod', 'graceful'])).code).toBe(0);
  await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', 'pod/graceful']);
});

test('garbage collection removes a pod whose owner is deleted', async () => {
  await kubectl(['-n', ns, 'create', 'configmap', 'owner']);
  const uid = await kubectl(['-n', ns, 'get', 'configmap', 'owner', '-o', 'jsonpath={.metadata.uid}']);
  await kubectl(
    ['apply', '-f', '-'],
    pod('owned', {}, { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] }),
  );
  await kubectl(['-n', ns, 'delete', 'configmap', 'owner']);
  await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=60s', 'pod/owned']);
});

test('kubectl get -w streams changes', async () => {
  const child = spawn(bin('kubectl'), ['-n', ns, 'get', 'pods', '-w', '--output-watch-events', '-l', 'watch=me'], {
    env: { ...process.env, KUBECONFIG: kubeconfig() },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await eventually('watch started', async () => ((await kubectlRaw(['-n', ns, 'get', 'pods'])).code === 0 ? true : undefined));
    await kubectl(['apply', '-f', '-'], pod('watched', { 'sim.warmpool.dev/ready-after': '200ms' }, { labels: { watch: 'me' } }));
    await eventually('ADDED and MODIFIED events', async () => (/ADDED\s+watched/.test(out) && /MODIFIED\s+watched\s+1\/1\s+Running/.test(out) ? true : undefined));
  } finally {
    child.kill();
  }
});

test.each(['helm', 'helm3'] as const)('%s install --wait and uninstall a small chart', async (which) => {
  const release = `hello-${which}`;
  await helm(which, ['install', release, join(fixtures, 'charts', 'hello'), '-n', ns, '--wait', '--timeout', '90s']);
  const ready = await kubectl(['-n', ns, 'get', 'deploy', `${release}-hello`, '-o', 'jsonpath={.status.readyReplicas}']);
  expect(ready).toBe('2');
  await helm(which, ['uninstall', release, '-n', ns, '--wait']);
  expect((await kubectlRaw(['-n', ns, 'get', 'configmap', `${release}-hello`])).code).not.toBe(0);
});

test('PodMetrics report the simulated usage of a pod', async () => {
  const usage = await eventually(
    'PodMetrics of the usage pod',
    async () => {
      const res = await kubectlRaw(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods/usage`]);
      if (res.code !== 0) return undefined;
      return JSON.parse(res.stdout) as { containers: { usage: { cpu: string; memory: string } }[] };
    },
    270_000,
    2_000,
  );
  const c = usage.containers[0];
  expect(c?.usage.memory).toBe('256Mi');
  // metrics-server reports cpu as a rate in nanocores; 250m is 250000000n (allow rounding).
  const cpu = c?.usage.cpu ?? '';
  const nanos = cpu.endsWith('n') ? Number(cpu.slice(0, -1)) : cpu.endsWith('m') ? Number(cpu.slice(0, -1)) * 1e6 : Number(cpu) * 1e9;
  expect(nanos / 1e6).toBeGreaterThan(200);
  expect(nanos / 1e6).toBeLessThan(300);
}, 300_000);
