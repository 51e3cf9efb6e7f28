// Hostile and odd pools (issue 17), against the real API server with the operator as a real process (bin/warmpool,
// so its resident memory is its own): pods that only look like members, and a targetSize far beyond what the
// cluster can hold.
import { readFileSync } from 'node:fs';
import { nodeManifest, podOctetFor } from '../e2e/cluster/nodes.js';
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { countPods, watchPods } from './support/pod-watch.js';
import { condition, getPool, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('hostile'));
  op = await spawnOperator(['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0']);
});

afterAll(async () => {
  await op?.kill('SIGTERM');
  await cleanup();
});

const owned = (p: PodJson): boolean => p.metadata.ownerReferences?.some((o) => o.kind === 'InstancePool') ?? false;

/** A pod anyone with pod create rights can make: the pool's labels, no controller reference. */
function impostor(name: string, pool: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { 'warmpool.dev/pool': pool, ...labels },
      annotations: { 'sim.warmpool.dev/ready-after': '0s' },
    },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
  });
}

interface EventJson {
  reason: string;
  message: string;
  count?: number;
  series?: { count?: number };
}

async function poolEvents(pool: string, reason: string): Promise<EventJson[]> {
  const out = await kubectl(['-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${pool},reason=${reason}`, '-o', 'json']);
  return (JSON.parse(out) as { items: EventJson[] }).items;
}

test('a hand-made Ready pod with a pool\'s labels is never counted or deleted, and is reported once', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'guarded', { targetSize: 2 }));
  await poolWhere(ns, 'guarded', 'readyCount 2', (p) => p.status?.readyCount === 2);
  await kubectl(['apply', '-f', '-'], impostor('fake-ready', 'guarded', { 'warmpool.dev/state': 'ready' }));
  await kubectl(
    ['apply', '-f', '-'],
    impostor('fake-claimed', 'guarded', { 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'someone' }),
  );
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod/fake-ready', 'pod/fake-claimed', '--timeout=30s']);

  // Reported: one Warning Event per pod, naming it.
  const reported = await eventually('an ImpostorPod Event for each', async () => {
    const events = await poolEvents('guarded', 'ImpostorPod');
    const text = events.map((e) => e.message).join('\n');
    return text.includes('fake-ready') && text.includes('fake-claimed') ? events : undefined;
  });
  expect(reported).toHaveLength(2);

  // Not counted: the status says 2 ready and nothing claimed, and keeps saying so.
  const counted = (p: Awaited<ReturnType<typeof getPool>>): boolean =>
    p.status?.readyCount === 2 && (p.status.claimedCount ?? 0) === 0 && p.status.replicas === 2;
  await poolWhere(ns, 'guarded', '2 ready, 0 claimed', counted);

  // Not deleted by scale-down, drain or the pool's deletion; the deletion does not wait for them.
  await kubectl(['-n', ns, 'scale', 'ipool/guarded', '--replicas=0']);
  await eventually('own members gone after scale-down', async () =>
    (await members(ns, 'guarded')).filter(owned).length === 0 ? true : undefined,
  );
  await kubectl(['-n', ns, 'patch', 'ipool', 'guarded', '--type=merge', '-p', '{"spec":{"drain":true}}']);
  await poolWhere(ns, 'guarded', 'Draining and drained', (p) => p.status?.phase === 'Draining' && condition(p, 'Ready')?.status === 'True');
  await kubectl(['-n', ns, 'delete', 'ipool', 'guarded', '--timeout=30s']);

  const left = await members(ns, 'guarded');
  expect(left.map((p) => p.metadata.name).sort()).toEqual(['fake-claimed', 'fake-ready']);
  expect(left.every((p) => p.metadata.deletionTimestamp === undefined)).toBe(true);
  // Once per pod, not every pass: no Event was repeated over all those passes.
  const events = await poolEvents('guarded', 'ImpostorPod');
  expect(events.map((e) => e.series?.count ?? e.count ?? 1)).toEqual([1, 1]);
  await kubectlRaw(['-n', ns, 'delete', 'pod', 'fake-ready', 'fake-claimed', '--wait=false']);
}, 90_000);

/** The operator's resident set now and at its peak (VmHWM), from /proc. */
function operatorMemoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

test('targetSize 100000 on a node with room for 100 pods: at most 150 members after 30 s, the pool says why', async () => {
  // A node of this test alone: tainted, so nothing else lands on it, and the pool selects it, so it lands nowhere else.
  const group = `${ns}-big`;
  const node = nodeManifest(230, podOctetFor(process.env.WARMPOOL_TEST_CLUSTER ?? 'x'), { cpu: '1000', memory: '4000Gi', pods: 100 });
  const meta = node.metadata as { name: string; labels: Record<string, string> };
  meta.name = group;
  meta.labels['warmpool.dev/test-group'] = group;
  (node.spec as Record<string, unknown>).taints = [{ key: 'warmpool.dev/test-group', value: group, effect: 'NoSchedule' }];
  await kubectl(['apply', '-f', '-'], JSON.stringify(node));
  await kubectl(['wait', '--for=condition=Ready', `node/${group}`, '--timeout=60s']);
  const selector = 'warmpool.dev/pool=huge';
  const watch = await watchPods(ns, selector);
  try {
    await kubectl(
      ['apply', '-f', '-'],
      poolManifest(ns, 'huge', {
        targetSize: 100_000,
        spec: { maxSize: 100_000 },
        annotations: { 'sim.warmpool.dev/ready-after': '0s' },
        podSpec: {
          nodeSelector: { 'warmpool.dev/test-group': group },
          tolerations: [{ key: 'warmpool.dev/test-group', operator: 'Equal', value: group, effect: 'NoSchedule' }],
        },
      }),
    );
    const started = Date.now();
    let peak = 0;
    while (Date.now() - started < 30_000) {
      await new Promise((r) => setTimeout(r, 1000));
      if (op?.child.pid !== undefined) peak = Math.max(peak, operatorMemoryMiB(op.child.pid).peak);
    }
    const created = watch.created();
    const now = await countPods(ns, selector);
    const pool = await getPool(ns, 'huge');
    process.stderr.write(
      `[pool-hostile] after 30 s: ${now} member pods (${created} created), operator peak resident ${peak.toFixed(0)} MiB; ` +
        `Stalled ${condition(pool, 'Stalled')?.reason ?? '-'}, Degraded ${condition(pool, 'Degraded')?.reason ?? '-'}\n`,
    );
    expect(now).toBeLessThanOrEqual(150);
    expect(created).toBeLessThanOrEqual(150);
    // All that fits is used (the bound is not bought by starving the pool), the pool says why it stops there, and
    // still nothing more is created.
    const settled = await poolWhere(
      ns,
      'huge',
      'readyCount 100, Stalled MemberLimitExceeded and Degraded Unschedulable',
      (p) =>
        p.status?.readyCount === 100 &&
        condition(p, 'Stalled')?.reason === 'MemberLimitExceeded' &&
        condition(p, 'Degraded')?.reason === 'Unschedulable',
      60_000,
    );
    expect(condition(settled, 'Stalled')?.message).toContain('--max-members-per-pool');
    expect(watch.created()).toBeLessThanOrEqual(150);
    // The chart's limit is 512Mi: the operator stays far below it.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(256);
  } finally {
    watch.stop();
    await kubectlRaw(['-n', ns, 'delete', 'ipool', 'huge', '--timeout=60s']);
    await kubectlRaw(['delete', 'node', group, '--wait=false']);
  }
}, 150_000);
