// The operator's own faults around the Lease: a leader paused past its lease (SIGSTOP) while the standby takes over
// must make no write that succeeds once it resumes, and must exit non-zero; an API server outage must not end the
// process: it stops writing, stays up and leads again once the API server answers. Each replica runs as a real
// process under its own user, so the audit log attributes every write.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { makeInstrumentedClients } from '../operator/kube/api-metrics.js';
import { installServerFence, type ServerFence } from '../e2e/cluster/server-fence.js';
import { eventually, installCrds, kubeconfig, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { members, poolManifest, poolWhere, type PodJson } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('fence'));
});

afterEach(async () => {
  for (const o of running.splice(0)) {
    if (o.child.exitCode === null && o.child.signalCode === null) o.child.kill('SIGCONT');
    await o.kill();
  }
});

afterAll(async () => {
  await fence?.remove();
  await cleanup();
});

let fence: ServerFence | undefined;

async function operator(identity: string, lease: string, kubeconfigPath: string): Promise<OperatorProcess> {
  const op = await spawnOperator(
    [
      '--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0',
      '--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', lease, '--identity', identity,
    ],
    kubeconfigPath,
  );
  running.push(op);
  return op;
}

const live = (pods: PodJson[]): PodJson[] => pods.filter((p) => !p.metadata.deletionTimestamp);

async function holder(lease: string): Promise<string> {
  return kubectl(['-n', ns, 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}']).catch(() => '');
}

function exitOf(op: OperatorProcess): Promise<number | string> {
  const c = op.child;
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode ?? c.signalCode ?? '?');
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve(code ?? signal ?? '?')));
}

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
  /** When the API server received the request, as opposed to when it answered. */
  requestReceivedTimestamp?: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * Every write of user that the API server received from since on (Leases included). Judged by when the request
 * arrived: one already on the wire when the process was paused completes after it resumes, and no client can fence
 * that (the Kubernetes API has no fencing tokens); one that arrives after resuming is a write the fence let through.
 */
function writesBy(user: string, since: number): AuditEvent[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"${user}"`))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.user.username === user && WRITE_VERBS.has(e.verb))
    .filter((e) => Date.parse(e.requestReceivedTimestamp ?? e.stageTimestamp) >= since);
}

const succeeded = (events: AuditEvent[]): AuditEvent[] => events.filter((e) => (e.responseStatus?.code ?? 0) < 300);
const summary = (events: AuditEvent[]): string[] =>
  events.map((e) => `${e.verb} ${e.objectRef?.resource ?? ''}/${e.objectRef?.name ?? ''} ${e.responseStatus?.code ?? '?'}`);

test('a leader paused past its lease makes no successful write after resuming, and exits non-zero', async () => {
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  const [kcA, kcB] = await Promise.all([
    cluster.kubeconfigFor('warmpool-fence-a', ['system:masters']),
    cluster.kubeconfigFor('warmpool-fence-b', ['system:masters']),
  ]);
  // The chart's server-side fence, for these replicas: each runs as a user whose identity is its username.
  fence = await installServerFence(cluster, { namespace: ns, lease: 'fence', usernames: ['warmpool-fence-a', 'warmpool-fence-b'] });
  const a = await operator('warmpool-fence-a', 'fence', kcA);
  await eventually('fence-a holds the lease', async () => ((await holder('fence')) === 'warmpool-fence-a' ? true : undefined));
  const b = await operator('warmpool-fence-b', 'fence', kcB);

  // Pause the leader in the middle of a scale-up, so it resumes with passes that were about to write.
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  const core: CoreV1Api = makeInstrumentedClients(kc, () => undefined).core;
  const created = async (): Promise<number> =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: 'warmpool.dev/pool=paused' })).items.filter((p) => !p.metadata?.deletionTimestamp).length;
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'paused', { targetSize: 60, annotations: { 'sim.warmpool.dev/ready-after': '2s' } }));
  const atPause = await eventually('scale-up under way', async () => {
    const n = await created();
    return n >= 3 && n < 60 ? n : undefined;
  }, 30_000, 2);
  a.child.kill('SIGSTOP');
  const pausedAt = Date.now();

  await eventually('fence-b takes the lease', async () => ((await holder('fence')) === 'warmpool-fence-b' ? true : undefined), 40_000, 200);
  const tookOverIn = (Date.now() - pausedAt) / 1000;
  const resumedAt = Date.now();
  a.child.kill('SIGCONT');
  const code = await Promise.race([exitOf(a), new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
  const exitedIn = (Date.now() - resumedAt) / 1000;

  await poolWhere(ns, 'paused', 'ready under fence-b', (p) => p.status?.readyCount === 60, 60_000);
  await new Promise((r) => setTimeout(r, 1500)); // the audit log is written asynchronously
  const after = writesBy('warmpool-fence-a', resumedAt);
  process.stdout.write(
    `paused at ${atPause}/60 members; fence-b took over ${tookOverIn.toFixed(1)} s after SIGSTOP; fence-a exited ${String(code)} ` +
      `${exitedIn.toFixed(1)} s after SIGCONT; its writes after resuming: ${JSON.stringify(summary(after))}\n`,
  );
  for (const e of succeeded(after)) {
    process.stdout.write(
      `after resuming (SIGSTOP ${new Date(pausedAt).toISOString()}, SIGCONT ${new Date(resumedAt).toISOString()}): ${e.verb} ${e.objectRef?.resource ?? ''} received ${e.requestReceivedTimestamp ?? '?'} completed ${e.stageTimestamp}\n`,
    );
  }
  if (code === 'still running') process.stdout.write(`fence-a, still running; the end of its log:\n${a.output().slice(-6000)}\n`);
  expect(succeeded(after)).toEqual([]);
  expect(code).not.toBe(0);
  expect(code).not.toBe('still running');
  // The standby converged alone: exactly the target, nothing extra from the resumed replica.
  expect(live(await members(ns, 'paused'))).toHaveLength(60);
  // The server side of the fence, deterministically: the deposed replica's credentials cannot write, the leader's can.
  const probe = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const asA = await kubectlRaw(['--kubeconfig', kcA, 'label', 'ipool', 'paused', '-n', ns, 'fence-probe=a']);
  expect(asA.code).not.toBe(0);
  expect(asA.stderr).toContain('write fence: warmpool-fence-a does not hold the Lease fence (held by warmpool-fence-b)');
  const asB = await kubectlRaw(['--kubeconfig', kcB, 'label', 'ipool', 'paused', '-n', ns, 'fence-probe=b']);
  expect(asB.stderr).toBe('');
  // Writes outside what the operator writes are not fenced (the policy matches its resources only).
  expect((await kubectlRaw(['--kubeconfig', kcA, 'apply', '-f', '-'], probe('not-fenced'))).code).toBe(0);
  await b.kill('SIGTERM');
  await kubectl(['-n', ns, 'delete', 'ipool', 'paused', '--wait=false']);
}, 150_000);

/** A TCP proxy on loopback in front of the API server, which the test can cut (every connection dropped, new ones refused) and restore. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.setCut(true);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

async function apiRequestCounts(metricsPort: string): Promise<{ total: number; failed: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  let failed = 0;
  for (const m of text.matchAll(/^warmpool_api_requests_total\{([^}]*)\} ([0-9.e+]+)$/gm)) {
    const n = Number(m[2]);
    total += n;
    if ((m[1] ?? '').includes('code="error"')) failed += n;
  }
  return { total, failed };
}

test('an API server outage stops the leader\'s work without ending the process; it leads again afterwards', async () => {
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  const kcPath = await cluster.kubeconfigFor('warmpool-outage', ['system:masters']);
  const kc = new KubeConfig();
  kc.loadFromFile(kcPath);
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const proxy = new CuttableProxy({ host: server.hostname, port: Number(server.port) });
  await proxy.start();
  try {
    // The same credentials, through the proxy: the certificate names 127.0.0.1, whatever the port.
    const viaProxy = readFileSync(kcPath, 'utf8').replace(server.origin, `https://127.0.0.1:${proxy.port}`);
    const proxiedPath = `${kcPath}.proxied`;
    writeFileSync(proxiedPath, viaProxy, { mode: 0o600 });
    const op = await operator('outage', 'outage', proxiedPath);
    await eventually('outage holds the lease', async () => ((await holder('outage')) === 'outage' ? true : undefined));
    const metricsPort = await eventually('the metrics port in the log', async () => /"metricsPort":(\d+)/.exec(op.output())?.[1]);
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'outage', { targetSize: 2 }));
    await poolWhere(ns, 'outage', 'ready', (p) => p.status?.readyCount === 2);
    const startsBefore = (op.output().match(/operator started/g) ?? []).length;

    proxy.setCut(true);
    const cutAt = Date.now();
    await eventually('the operator notices it lost contact', async () => (/lost contact with the API server/.test(op.output()) ? true : undefined), 30_000, 200);
    const stoppedIn = (Date.now() - cutAt) / 1000;
    // During the outage: a member goes away (the test talks to the API server directly); nobody may replace it yet.
    const victim = live(await members(ns, 'outage'))[0];
    await kubectl(['-n', ns, 'delete', 'pod', victim?.metadata.name ?? '', '--wait=false']);
    const before = await apiRequestCounts(metricsPort);
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, 5000)); // a window to measure the request rate over, not a wait for a state
    const afterWindow = await apiRequestCounts(metricsPort);
    const ratePerS = ((afterWindow.total - before.total) * 1000) / (Date.now() - windowStart);
    expect(op.child.exitCode).toBeNull();
    expect(live(await members(ns, 'outage')).filter((p) => p.metadata.uid !== victim?.metadata.uid)).toHaveLength(1);

    proxy.setCut(false);
    const restoredAt = Date.now();
    await eventually('leading again', async () => ((op.output().match(/operator started/g) ?? []).length > startsBefore ? true : undefined), 30_000, 200);
    const ledAgainIn = (Date.now() - restoredAt) / 1000;
    await eventually('the deleted member replaced', async () => {
      const pods = live(await members(ns, 'outage'));
      return pods.length === 2 && !pods.some((p) => p.metadata.uid === victim?.metadata.uid) ? true : undefined;
    }, 30_000);
    const recoveredIn = (Date.now() - restoredAt) / 1000;
    process.stdout.write(
      `outage: work stopped ${stoppedIn.toFixed(1)} s after the cut; API requests attempted during the outage ` +
        `${ratePerS.toFixed(1)}/s; led again ${ledAgainIn.toFixed(1)} s after restore, member replaced after ${recoveredIn.toFixed(1)} s\n`,
    );
    expect(op.child.exitCode).toBeNull();
    // No hot loop while the API server is gone: the elector and the informers back off.
    expect(ratePerS).toBeLessThan(20);
    await op.kill('SIGTERM');
    expect(op.child.exitCode).toBe(0);
  } finally {
    await proxy.stop();
  }
}, 150_000);
