// A real Prometheus (Debian's package, extracted by hack/prometheus.sh, bound to loopback) scrapes `warmpool operator`
// every second, and a PromQL query for the pool's ready members through the HTTP API returns the pool's size. Then
// the same over HTTPS with the chart's settings: authenticated, authorized scrapes only.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './cluster/paths.js';
import { eventually, helm, installCrds, kubectl, kubectlRaw, useNamespace } from '../test/support/kube.js';
import { spawnOperator, type OperatorProcess } from '../test/support/operator.js';
import { poolManifest, poolWhere } from '../test/support/pools.js';
import { freePort } from '../test/support/ports.js';
import { httpsGet, query, startPrometheus, type RunningPrometheus } from '../test/support/prometheus.js';

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

// The chart's default: /metrics over HTTPS behind TokenReview and SubjectAccessReview. The operator runs with the
// flags the chart renders (bind addresses moved to loopback), on a token of the chart's ServiceAccount with the
// chart's RBAC, and Prometheus scrapes it with the settings of the chart's ServiceMonitor.
describe("the chart's secure metrics", () => {
  const chart = join(repoRoot(), 'charts', 'warmpool');
  const scratch = mkdtempSync(join(tmpdir(), 'warmpool-prom-secure-'));
  const undo: (() => Promise<unknown>)[] = [];
  let sns = '';
  let url = '';
  let address = '';
  let readerToken = '';
  let strangerToken = '';
  let operatorUser = '';
  let secureOp: OperatorProcess | undefined;
  let securePrometheus: RunningPrometheus | undefined;

  const token = async (serviceAccount: string): Promise<string> =>
    (await kubectl(['-n', sns, 'create', 'token', serviceAccount, '--duration=1h'])).trim();

  beforeAll(async () => {
    const made = await useNamespace('prom-secure');
    sns = made.ns;
    undo.push(made.cleanup);
    const release = `sec-${randomBytes(3).toString('hex')}`;
    const full = `${release}-warmpool`;
    const rendered = parseAllDocuments(
      await helm('helm', ['template', release, chart, '-n', sns, '--set', `watchNamespaces={${sns}}`, '--set', 'metrics.serviceMonitor.enabled=true']),
    ).map((d) => d.toJS() as Rendered);
    const rbac = rendered.filter((m) => ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind));
    const rbacText = rbac.map((m) => JSON.stringify(m)).join('\n---\n');
    await kubectl(['apply', '-f', '-'], rbacText);
    undo.push(() => kubectlRaw(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], rbacText));

    // A scraper bound to the chart's metrics-reader ClusterRole, and one that is not.
    await kubectl(['-n', sns, 'create', 'serviceaccount', 'prometheus']);
    await kubectl(['-n', sns, 'create', 'serviceaccount', 'stranger']);
    await kubectl(['create', 'clusterrolebinding', `${full}-prometheus`, `--clusterrole=${full}-metrics-reader`, `--serviceaccount=${sns}:prometheus`]);
    undo.push(() => kubectlRaw(['delete', '--ignore-not-found', 'clusterrolebinding', `${full}-prometheus`]));
    [readerToken, strangerToken] = await Promise.all([token('prometheus'), token('stranger')]);

    const deployment = rendered.find((m) => m.kind === 'Deployment');
    const args = deployment?.spec?.template?.spec?.containers?.[0]?.args ?? [];
    expect(args).toContain('--metrics-secure');
    address = `127.0.0.1:${await freePort()}`;
    const local = args.map((a) =>
      a.startsWith('--metrics-bind-address=') ? `--metrics-bind-address=${address}` : a.startsWith('--health-probe-bind-address=') ? '--health-probe-bind-address=127.0.0.1:0' : a,
    );
    const operatorToken = await token(full);
    operatorUser = `system:serviceaccount:${sns}:${full}`;
    secureOp = await spawnOperator(local, await tokenKubeconfig(join(scratch, 'operator.kubeconfig'), operatorToken));
    url = `https://${address}/metrics`;

    const endpoint = rendered.find((m) => m.kind === 'ServiceMonitor')?.spec?.endpoints?.[0];
    expect(endpoint).toMatchObject({ scheme: 'https', path: '/metrics', tlsConfig: { insecureSkipVerify: true } });
    expect(endpoint?.bearerTokenFile).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
    // The ServiceMonitor's token file is Prometheus's ServiceAccount token; here it is a token of the bound one.
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, readerToken, { mode: 0o600 });
    securePrometheus = await startPrometheus([address], 1, {
      scheme: endpoint?.scheme === 'https' ? 'https' : 'http',
      insecureSkipVerify: endpoint?.tlsConfig?.insecureSkipVerify,
      bearerTokenFile: tokenFile,
    });
  }, 120_000);

  afterAll(async () => {
    await securePrometheus?.stop();
    await secureOp?.kill('SIGTERM');
    for (const u of undo.reverse()) await u().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  test('no token: 401; a token of a ServiceAccount not bound to metrics-reader: 403; a bound one: 200', async () => {
    expect((await httpsGet(url)).status).toBe(401);
    expect((await httpsGet(url, 'not-a-token')).status).toBe(401);
    expect((await httpsGet(url, strangerToken)).status).toBe(403);
    const allowed = await httpsGet(url, readerToken);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('warmpool_leader');
    // Plain HTTP on the same port gets no metrics.
    const plain = await fetch(`http://${address}/metrics`).then((r) => r.status, () => 0);
    expect(plain).not.toBe(200);
  });

  test("Prometheus with the ServiceMonitor's settings scrapes it: up == 1 and the operator's series", async () => {
    const promUrl = securePrometheus?.url ?? '';
    await eventually(
      'up == 1 and warmpool_leader scraped',
      async () => {
        const up = await query(promUrl, `up{job="warmpool",instance="${address}"}`);
        const leader = await query(promUrl, `warmpool_leader{instance="${address}"}`);
        return up[0]?.value === 1 && leader.length === 1 ? true : undefined;
      },
      30_000,
      500,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\nprometheus:\n${securePrometheus?.output().slice(-3000) ?? ''}`);
    });

    // Reviews are cached: ten scrapes a second apart cost no more reviews than the first one did.
    await eventually(
      'ten scrapes',
      async () => ((await query(promUrl, `count_over_time(up{instance="${address}"}[1m])`))[0]?.value ?? 0) >= 10 || undefined,
      30_000,
      500,
    );
    const auditLog = process.env.WARMPOOL_TEST_AUDIT_LOG;
    if (auditLog) {
      const reviews = { tokenreviews: 0, subjectaccessreviews: 0 };
      for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
        if (!line.includes(operatorUser)) continue;
        const e = JSON.parse(line) as { user?: { username?: string }; verb?: string; objectRef?: { resource?: string } };
        const r = e.objectRef?.resource;
        if (e.user?.username === operatorUser && e.verb === 'create' && (r === 'tokenreviews' || r === 'subjectaccessreviews')) reviews[r]++;
      }
      // At most: the four tokens of the first test (none, a bad one, the stranger's, the reader's) and one more for
      // the reader's token should its 60 s entry expire during the run; two users reviewed, plus one renewal.
      process.stdout.write(`secure metrics: ${JSON.stringify(reviews)} reviews for all scrapes and requests\n`);
      expect(reviews.tokenreviews).toBeGreaterThanOrEqual(1);
      expect(reviews.tokenreviews).toBeLessThanOrEqual(4);
      expect(reviews.subjectaccessreviews).toBeLessThanOrEqual(3);
    }
  }, 90_000);
});

interface Rendered {
  kind: string;
  spec?: {
    template?: { spec?: { containers?: { args?: string[] }[] } };
    endpoints?: { scheme?: string; path?: string; bearerTokenFile?: string; tlsConfig?: { insecureSkipVerify?: boolean } }[];
  };
}

/** A kubeconfig for the test cluster that authenticates with `token`, written to `path`. */
async function tokenKubeconfig(path: string, token: string): Promise<string> {
  // Flattened: the CA inline, whatever the admin kubeconfig points at.
  const admin = JSON.parse(await kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'])) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error('the admin kubeconfig has no cluster');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster }],
    users: [{ name: 'user', user: { token } }],
    contexts: [{ name: 'ctx', context: { cluster: 'cluster', user: 'user' } }],
    'current-context': 'ctx',
  };
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}
