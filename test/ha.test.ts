// Crashes and replicas: the operator as a real process (bin/warmpool operator), killed with SIGKILL at awkward
// moments, and two replicas under leader election, each with its own identity so the audit log tells their writes
// apart.
import { readFileSync } from 'node:fs';
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { claimManifest, listClaims, members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('ha'));
});

// A test that fails half-way must not leave its operators working the namespace for the next one.
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.kill()));
});

afterAll(async () => {
  await cleanup();
});

async function operator(args: string[] = [], kubeconfigPath?: string): Promise<OperatorProcess> {
  const op = await spawnOperator(
    ['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', ...args],
    kubeconfigPath,
  );
  running.push(op);
  return op;
}

const live = (pods: PodJson[]): PodJson[] => pods.filter((p) => !p.metadata.deletionTimestamp);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('killing the operator in the middle of a scale-up and starting it again leaves exactly targetSize members', async () => {
  // The scale-up lasts a few hundred ms at most, shorter than a kubectl round trip: it is watched with an in-process
  // client on one kept-open connection, a few ms per look, so the kill lands while members are still being created.
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  const core: CoreV1Api = makeInstrumentedClients(kc, () => undefined).core;
  const created = async (): Promise<number> =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: 'warmpool.dev/pool=crash' })).items.filter((p) => !p.metadata?.deletionTimestamp).length;
  const op = await operator();
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'crash', { targetSize: 80, annotations: { 'sim.warmpool.dev/ready-after': '2s' } }));
  await eventually('scale-up under way', async () => {
    const n = await created();
    return n >= 3 && n < 80 ? n : undefined;
  }, 30_000, 2);
  await op.kill('SIGKILL');
  const again = await operator();
  await poolWhere(ns, 'crash', 'readyCount 80', (p) => p.status?.readyCount === 80, 60_000);
  // Settled: exactly 80, and it stays 80 (nothing extra was created behind the expectations' back).
  expect(live(await members(ns, 'crash'))).toHaveLength(80);
  await sleep(2000);
  expect(live(await members(ns, 'crash'))).toHaveLength(80);
  await again.kill('SIGTERM');
  await kubectl(['-n', ns, 'delete', 'ipool', 'crash', '--wait=false']);
}, 150_000);

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

function writesBy(user: string, since: number): AuditEvent[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"${user}"`))
    .map((l) => JSON.parse(l) as AuditEvent & { stageTimestamp: string })
    .filter((e) => e.user.username === user && e.objectRef?.namespace === ns && Date.parse(e.stageTimestamp) >= since)
    .filter((e) => e.objectRef?.resource !== 'leases');
}

test('with two replicas only the Lease holder writes; when it is killed the other takes over and converges', async () => {
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  const [kcA, kcB] = await Promise.all([
    cluster.kubeconfigFor('warmpool-a', ['system:masters']),
    cluster.kubeconfigFor('warmpool-b', ['system:masters']),
  ]);
  const flags = ['--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', 'ha-test'];
  const a = await operator([...flags, '--identity', 'replica-a'], kcA);
  const holder = await eventually('a lease holder', async () => {
    const out = await kubectl(['-n', ns, 'get', 'lease', 'ha-test', '-o', 'jsonpath={.spec.holderIdentity}']).catch(() => '');
    return out === 'replica-a' ? out : undefined;
  });
  expect(holder).toBe('replica-a');
  const b = await operator([...flags, '--identity', 'replica-b'], kcB);
  const t0 = Date.now();
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'elected', { targetSize: 4 }));
  await poolWhere(ns, 'elected', 'ready', (p) => p.status?.readyCount === 4);
  await sleep(1000); // let the audit log flush
  expect(writesBy('warmpool-a', t0).length).toBeGreaterThan(0);
  expect(writesBy('warmpool-b', t0)).toEqual([]);

  await a.kill('SIGKILL');
  const killedAt = Date.now();
  const victim = live(await members(ns, 'elected'))[0];
  await kubectl(['-n', ns, 'delete', 'pod', victim?.metadata.name ?? '', '--wait=false']);
  await eventually('replica-b holds the lease', async () => {
    const out = await kubectl(['-n', ns, 'get', 'lease', 'ha-test', '-o', 'jsonpath={.spec.holderIdentity}']);
    return out === 'replica-b' ? true : undefined;
  }, 40_000, 200);
  const tookOverIn = (Date.now() - killedAt) / 1000;
  // Lease duration is 15 s; a new candidate waits one full duration after it last saw the lease change.
  expect(tookOverIn).toBeLessThan(15 + 2 + 5);
  await eventually('pool converged under replica-b', async () => {
    const pods = live(await members(ns, 'elected'));
    return pods.length === 4 && !pods.some((p) => p.metadata.uid === victim?.metadata.uid) ? true : undefined;
  }, 30_000);
  await poolWhere(ns, 'elected', 'ready', (p) => p.status?.readyCount === 4);
  await sleep(1000); // let the audit log flush
  expect(writesBy('warmpool-b', killedAt).length).toBeGreaterThan(0);
  await b.kill('SIGTERM');
}, 150_000);

async function chaos(pool: string, withRival: boolean): Promise<void> {
  let op = await operator();
  // With a rival, a second operator with no leader election works the same namespace throughout: the
  // resourceVersion guards on member and claim writes, not the lease, are what keep claims exactly-once.
  const rival = withRival ? await operator() : undefined;
  await kubectl(['apply', '-f', '-'], poolManifest(ns, pool, { targetSize: 20, spec: { maxSize: 260 }, annotations: { 'sim.warmpool.dev/ready-after': '300ms' } }));
  await poolWhere(ns, pool, 'ready', (p) => p.status?.readyCount === 20);
  // Seeded, so a failure can be replayed.
  let seed = 20261124;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const claims = Array.from({ length: 200 }, (_, i) => JSON.parse(claimManifest(ns, `${pool}-${String(i).padStart(3, '0')}`, pool)) as unknown);
  let kills = 0;
  for (let i = 0; i < claims.length; i += 25) {
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: claims.slice(i, i + 25) }));
    await sleep(Math.floor(rand() * 400));
    if (rand() < 0.6) {
      await op.kill('SIGKILL');
      kills++;
      op = await operator();
    }
  }
  expect(kills).toBeGreaterThan(0);
  let last = '';
  const all = await eventually(
    'all 200 Bound',
    async () => {
      const cs = (await listClaims(ns)).filter((c) => c.spec.poolName === pool);
      const phases = new Map<string, number>();
      for (const c of cs) phases.set(c.status?.phase ?? 'none', (phases.get(c.status?.phase ?? 'none') ?? 0) + 1);
      last = JSON.stringify([...phases]) + ' ' + JSON.stringify(cs.filter((c) => c.status?.phase === 'Lost').map((c) => [c.metadata.name, c.status?.member?.name, c.status?.conditions?.find((x) => x.type === 'Ready')?.message]));
      return cs.length === 200 && cs.every((c) => c.status?.phase === 'Bound') ? cs : undefined;
    },
    120_000,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; claims by phase: ${last}; operator output:\n${op.output().slice(-3000)}`);
  });
  const pods = await members(ns, pool);
  const claimed = pods.filter((p) => p.metadata.labels?.['warmpool.dev/state'] === 'claimed');
  // One member per claim, one claim per member, and each side agrees with the other.
  expect(new Set(all.map((c) => c.status?.member?.name)).size).toBe(200);
  expect(claimed).toHaveLength(200);
  for (const c of all) {
    const pod = claimed.find((p) => p.metadata.name === c.status?.member?.name);
    expect(pod?.metadata.annotations?.['warmpool.dev/claim-uid']).toBe(c.metadata.uid);
    expect(pod?.metadata.labels?.['warmpool.dev/claim']).toBe(c.metadata.name);
  }
  // Nothing orphaned: apart from the 200 claimed members, only warm members of the pool remain, no more than its
  // target once it settles.
  await poolWhere(ns, pool, 'settled', (p) => p.status?.readyCount === 20 && p.status.claimedCount === 200, 60_000);
  const rest = live(await members(ns, pool)).filter((p) => p.metadata.labels?.['warmpool.dev/state'] !== 'claimed');
  expect(rest).toHaveLength(20);
  expect(rest.every((p) => !p.metadata.labels?.['warmpool.dev/claim'])).toBe(true);
  await Promise.all([op.kill('SIGTERM'), rival?.kill('SIGTERM')]);
}

test('200 claims with the operator killed at random moments: every claim Bound exactly once, nothing orphaned', async () => {
  await chaos('chaos', false);
}, 300_000);

// Two operators acting at once (no leader election): every exclusive write is guarded, so neither stale caches nor
// the other's writes may bind a member twice, lose a claim or orphan a pod.
test(
  'the same with a second operator (no leader election) racing it',
  async () => {
    await chaos('rival', true);
  },
  300_000,
);
