// The Helm chart as a platform team meets it: lint with helm 4 and 3, what it renders accepted by the API server
// (cluster-wide and namespaced), bad values refused with the value's name, install --wait and uninstall, its CRDs
// identical to crds/, its alerts under promtool, and its RBAC: every rule traced to a call in operator/, and proven
// by the operator running on a token of the chart's ServiceAccount.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { run } from './cluster/exec.js';
import { repoRoot } from './cluster/paths.js';
import { eventually, helm, kubectl, kubectlRaw, useNamespace } from '../test/support/kube.js';
import { spawnOperator, type OperatorProcess } from '../test/support/operator.js';
import { claimWhere, condition, poolWhere } from '../test/support/pools.js';
import { httpsGet } from '../test/support/prometheus.js';

const root = repoRoot();
const chart = join(root, 'charts', 'warmpool');
// helm 3 built from source (hack/tools) renders for Kubernetes v1.20 unless told; the chart needs 1.31 or later.
const KUBE_VERSION = '1.37.0';
// Present on kind nodes (the sandbox image) and irrelevant to kwok, which runs no container.
const MEMBER_IMAGE = 'registry.k8s.io/pause:3.10';
const HELMS = ['helm', 'helm3'] as const;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}
interface RoleManifest extends Manifest {
  rules: Rule[];
}
interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  resources?: unknown;
  securityContext: Record<string, unknown>;
}
interface DeploymentManifest extends Manifest {
  spec: {
    replicas: number;
    template: { spec: { serviceAccountName: string; securityContext: Record<string, unknown>; containers: Container[] } };
  };
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroups {
  groups: { name: string; rules: AlertRule[] }[];
}

const isManifest = (x: unknown): x is Manifest =>
  typeof x === 'object' && x !== null && typeof (x as Manifest).kind === 'string' && typeof (x as Manifest).metadata?.name === 'string';

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter(isManifest);
}

const ofKind = <T extends Manifest>(ms: Manifest[], kind: string): T[] => ms.filter((m) => m.kind === kind) as T[];

const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;
const sets = (values: readonly string[]): string[] => values.flatMap((v) => ['--set', v]);

function render(release: string, ns: string, values: readonly string[] = [], which: (typeof HELMS)[number] = 'helm') {
  return helm(which, ['template', release, chart, '-n', ns, '--kube-version', KUBE_VERSION, ...sets(values)]);
}

/** With WARMPOOL_TEST_IMAGE (kind: the image hack/e2e-kind.sh loaded) the installed operator really runs. */
function imageValues(): string[] {
  const image = process.env.WARMPOOL_TEST_IMAGE;
  if (!image) return [];
  const colon = image.lastIndexOf(':');
  const [repository, tag] = colon > image.lastIndexOf('/') ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
  return [`image.repository=${repository}`, `image.tag=${tag}`, 'image.pullPolicy=Never'];
}

/** "group/resource:verb" for every permission a rule grants; the core group is written "core". */
function permissions(rules: readonly Rule[]): string[] {
  return rules.flatMap((r) =>
    (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => (r.verbs ?? []).map((v) => `${g || 'core'}/${res}:${v}`))),
  );
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

// ---------------------------------------------------------------------------------------------------------------
// What the operator does with the API. Each client method it calls, found by scanning operator/ for calls such as
// `core.createNamespacedPod(`, must be in METHOD_GRANTS (so a new call cannot slip by without its RBAC), and every
// entry must still be called (so a rule cannot outlive its call). Requests made some other way are in OTHER_GRANTS,
// each with the source text that shows it. Their union is what the chart must grant: no more, no less.
const METHOD_GRANTS: Record<string, string[]> = {
  listNamespacedCustomObject: ['warmpool.dev/instancepools:list', 'warmpool.dev/poolclaims:list', 'metrics.k8s.io/pods:list'],
  listClusterCustomObject: ['warmpool.dev/instancepools:list', 'warmpool.dev/poolclaims:list', 'metrics.k8s.io/pods:list'],
  getNamespacedCustomObject: ['warmpool.dev/poolclaims:get'],
  patchNamespacedCustomObject: ['warmpool.dev/instancepools:patch', 'warmpool.dev/poolclaims:patch'],
  patchNamespacedCustomObjectStatus: ['warmpool.dev/instancepools/status:patch', 'warmpool.dev/poolclaims/status:patch'],
  patchNamespacedCustomObjectScale: ['warmpool.dev/instancepools/scale:patch'],
  listNamespacedPod: ['core/pods:list'],
  listPodForAllNamespaces: ['core/pods:list'],
  readNamespacedPod: ['core/pods:get'],
  createNamespacedPod: ['core/pods:create'],
  patchNamespacedPod: ['core/pods:patch'],
  deleteNamespacedPod: ['core/pods:delete'],
  createNamespacedEvent: ['core/events:create'],
  readNamespacedLease: ['coordination.k8s.io/leases:get'],
  createNamespacedLease: ['coordination.k8s.io/leases:create'],
  replaceNamespacedLease: ['coordination.k8s.io/leases:update'],
  listNamespacedLease: ['coordination.k8s.io/leases:list'],
  listNamespacedPodDisruptionBudget: ['policy/poddisruptionbudgets:list'],
  listPodDisruptionBudgetForAllNamespaces: ['policy/poddisruptionbudgets:list'],
  createNamespacedPodDisruptionBudget: ['policy/poddisruptionbudgets:create'],
  replaceNamespacedPodDisruptionBudget: ['policy/poddisruptionbudgets:update'],
  deleteNamespacedPodDisruptionBudget: ['policy/poddisruptionbudgets:delete'],
};

const OTHER_GRANTS: { what: string; file: string; evidence: RegExp; grants: string[]; podProxyOnly?: boolean; secureMetricsOnly?: boolean }[] = [
  {
    what: 'informers watch pools, claims and members after listing them',
    file: 'operator/manager.ts',
    evidence: /informersFor<InstancePool>[\s\S]*informersFor<PoolClaim>[\s\S]*informersFor<CachedPod>/,
    grants: ['warmpool.dev/instancepools:watch', 'warmpool.dev/poolclaims:watch', 'core/pods:watch'],
  },
  {
    what: 'an informer watches the pools\' PodDisruptionBudgets (eviction protection) after listing them',
    file: 'operator/manager.ts',
    evidence: /informersFor<V1PodDisruptionBudget>/,
    grants: ['policy/poddisruptionbudgets:watch'],
  },
  {
    what: "member metrics through the API server's pod proxy (spec.metrics.via: APIServerProxy)",
    file: 'operator/utilization/scraper.ts',
    evidence: /\/pods\/\$\{[^}]+\}\/proxy/,
    grants: ['core/pods/proxy:get'],
    podProxyOnly: true,
  },
  {
    what: 'secure metrics (--metrics-secure): the token of each scrape is reviewed, then its user',
    file: 'operator/server/auth.ts',
    evidence: /\.createTokenReview\([\s\S]*\.createSubjectAccessReview\(/,
    grants: ['authentication.k8s.io/tokenreviews:create', 'authorization.k8s.io/subjectaccessreviews:create'],
    secureMetricsOnly: true,
  },
];
const METRICS_AUTH_PERMISSIONS = ['authentication.k8s.io/tokenreviews:create', 'authorization.k8s.io/subjectaccessreviews:create'];
const LEASE_PERMISSIONS = ['coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:list', 'coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:update'];

function operatorSources(dir = join(root, 'operator')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? operatorSources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

function usedPermissions(podProxy: boolean, secureMetrics = true): string[] {
  return sorted([
    ...Object.values(METHOD_GRANTS).flat(),
    ...OTHER_GRANTS.filter((o) => (podProxy || !o.podProxyOnly) && (secureMetrics || !o.secureMetricsOnly)).flatMap((o) => o.grants),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
const cleanups: (() => Promise<void>)[] = [];
let scratch = '';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'warmpool-chart-'));
  await kubectl(['apply', '--server-side', '-f', join(root, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
  // Stand-ins for the Prometheus Operator's CRDs where the cluster has none, so its objects can be dry-run too.
  for (const crd of ['servicemonitors', 'prometheusrules']) {
    if ((await kubectlRaw(['get', 'crd', `${crd}.monitoring.coreos.com`])).code !== 0) {
      await kubectl(['apply', '--server-side', '-f', join(root, 'e2e', 'fixtures', 'chart-monitoring-crds', `${crd}.yaml`)]);
    }
  }
  await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const { ns, cleanup } = await useNamespace(prefix);
  cleanups.push(cleanup);
  for (const [k, v] of Object.entries(labels)) await kubectl(['label', 'namespace', ns, `${k}=${v}`]);
  return ns;
}

/** What a release could have left in its namespace (the namespace's own default ServiceAccount aside). */
async function leftovers(ns: string): Promise<string[]> {
  const out = await kubectl(['-n', ns, 'get', 'deploy,serviceaccount,role,rolebinding,service,pdb,configmap', '-o', 'name']);
  return out
    .split('\n')
    .filter((l) => l !== '' && l !== 'serviceaccount/default' && l !== 'configmap/kube-root-ca.crt');
}

const EVERYTHING_ON = [
  'replicas=2',
  'metrics.serviceMonitor.enabled=true',
  'prometheusRule.enabled=true',
  'dashboard.enabled=true',
  'rbac.podProxy=true',
  'memberMetrics=true',
  'tracing.otlpEndpoint=http://otel-collector.observability:4318',
  'metrics.certSecret=warmpool-metrics-tls',
  'metrics.networkPolicy.enabled=true',
  'metrics.networkPolicy.from[0].namespaceSelector.matchLabels.team=monitoring',
];

describe('lint and render', () => {
  test.each(HELMS)('%s lint --strict is clean, with defaults and with every option on', async (which) => {
    for (const values of [[], ['watchNamespaces={team-a,team-b}', ...EVERYTHING_ON]]) {
      const out = await helm(which, ['lint', '--strict', chart, ...sets(values)]);
      expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  test("the chart's crds/ holds the same files as crds/", () => {
    const files = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    const top = join(root, 'crds');
    const inChart = join(chart, 'crds');
    expect(files(inChart)).toEqual(files(top));
    expect(files(top).length).toBeGreaterThan(0);
    for (const f of files(top)) expect(`${relative(root, inChart)}/${f}:\n${readFileSync(join(inChart, f), 'utf8')}`).toBe(`${relative(root, inChart)}/${f}:\n${readFileSync(join(top, f), 'utf8')}`);
  });

  test('cluster-wide: what helm template renders passes kubectl apply --dry-run=server', async () => {
    const ns = await namespace('chart-dry');
    const release = uniqueName('dry');
    const text = await render(release, ns);
    const kinds = manifests(text).map((m) => `${m.kind}/${m.metadata.name}`).sort();
    const full = `${release}-warmpool`;
    expect(kinds).toEqual(
      [
        `ClusterRole/${full}`,
        `ClusterRole/${full}-metrics-reader`,
        `ClusterRoleBinding/${full}`,
        `Deployment/${full}`,
        `Role/${full}-leader-election`,
        `RoleBinding/${full}-leader-election`,
        `Service/${full}-metrics`,
        `ServiceAccount/${full}`,
        `ValidatingAdmissionPolicy/${full}-${ns}-leader-fence`,
        `ValidatingAdmissionPolicyBinding/${full}-${ns}-leader-fence`,
      ].sort(),
    );
    const out = await kubectl(['apply', '--dry-run=server', '-f', '-'], text);
    expect(out.trim().split('\n')).toHaveLength(kinds.length);
  });

  test('namespaced, two replicas, every option on: what helm template renders passes kubectl apply --dry-run=server', async () => {
    const ns = await namespace('chart-dry');
    const teamA = await namespace('chart-team');
    const teamB = await namespace('chart-team');
    const release = uniqueName('dry');
    const text = await render(release, ns, [`watchNamespaces={${teamA},${teamB}}`, ...EVERYTHING_ON]);
    const ms = manifests(text);
    // Cluster-wide only what secure metrics need: the reader role for scrapers, the review permissions for the operator.
    expect(ofKind(ms, 'ClusterRole').map((r) => r.metadata.name).sort()).toEqual([`${release}-warmpool-metrics-auth`, `${release}-warmpool-metrics-reader`]);
    expect(ofKind(ms, 'ClusterRoleBinding').map((r) => r.metadata.name)).toEqual([`${release}-warmpool-metrics-auth`]);
    expect(ofKind(ms, 'Role').map((r) => r.metadata.namespace).sort()).toEqual([ns, teamA, teamB].sort());
    expect(ofKind(ms, 'RoleBinding').map((r) => r.metadata.namespace).sort()).toEqual([ns, teamA, teamB].sort());
    for (const kind of ['PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'NetworkPolicy']) expect(ofKind(ms, kind)).toHaveLength(1);
    const out = await kubectl(['apply', '--dry-run=server', '-f', '-'], text);
    expect(out.trim().split('\n')).toHaveLength(ms.length);
  });

  test('the Deployment: leader election, probes, downward API, restricted securityContext, flags and env from values', async () => {
    const ms = manifests(
      await render('op', 'ops', ['watchNamespaces={team-a,team-b}', 'logLevel=claim=debug\\,*=info', ...EVERYTHING_ON, 'extraArgs={--identity=x}', 'leaderElection.serverFence.enabled=false']),
    );
    const [deployment] = ofKind<DeploymentManifest>(ms, 'Deployment');
    const pod = deployment?.spec.template.spec;
    const c = pod?.containers[0];
    expect(deployment?.spec.replicas).toBe(2);
    expect(pod?.serviceAccountName).toBe('op-warmpool');
    expect(c?.args).toEqual([
      '--metrics-bind-address=0.0.0.0:8443',
      '--metrics-secure',
      '--metrics-cert-dir=/var/run/warmpool/metrics-certs',
      '--health-probe-bind-address=0.0.0.0:8081',
      '--leader-elect',
      '--leader-election-namespace=ops',
      '--leader-election-id=op-warmpool',
      '--namespaces=team-a,team-b',
      '--member-metrics',
      '--max-members-per-pool=1000',
      '--refill-yield-seconds=5',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--identity=x',
    ]);
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    expect(env).toEqual({
      POD_NAME: 'metadata.name',
      POD_NAMESPACE: 'metadata.namespace',
      WARMPOOL_LOG: 'claim=debug,*=info',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
    });
    expect(c?.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c?.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c?.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // Cluster-wide: no --namespaces; one replica: no PodDisruptionBudget.
    const plain = manifests(await render('op', 'ops'));
    expect(ofKind<DeploymentManifest>(plain, 'Deployment')[0]?.spec.template.spec.containers[0]?.args.some((a) => a.startsWith('--namespaces'))).toBe(false);
    expect(ofKind(plain, 'PodDisruptionBudget')).toHaveLength(0);
  });

  test('shards: --shards in the args, more replicas allowed, and the lease Role lists and updates Leases of any name (heartbeats)', async () => {
    const ms = manifests(await render('op', 'ops', ['shards=6', 'replicas=3']));
    const [deployment] = ofKind<DeploymentManifest>(ms, 'Deployment');
    expect(deployment?.spec.replicas).toBe(3);
    expect(deployment?.spec.template.spec.containers[0]?.args).toContain('--shards=6');
    const [role] = ofKind<RoleManifest>(ms, 'Role');
    expect(sorted(permissions(role?.rules ?? []))).toEqual(sorted(['coordination.k8s.io/leases:list', 'coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:update']));
    expect(role?.rules.find((r) => r.verbs?.includes('update'))?.resourceNames).toBeUndefined();
  });

  test('metrics: HTTPS behind authn/authz by default, with its Service port, ServiceMonitor, reader role and NetworkPolicy', async () => {
    type Port = { name: string; port: number; targetPort: string };
    type Endpoint = { port: string; scheme: string; bearerTokenFile?: string; tlsConfig?: Record<string, unknown> };
    const service = (ms: Manifest[]) => (ofKind<Manifest & { spec: { ports: Port[] } }>(ms, 'Service')[0]?.spec.ports ?? [])[0];
    const endpoint = (ms: Manifest[]) => ofKind<Manifest & { spec: { endpoints: Endpoint[] } }>(ms, 'ServiceMonitor')[0]?.spec.endpoints[0];
    const args = (ms: Manifest[]) => ofKind<DeploymentManifest>(ms, 'Deployment')[0]?.spec.template.spec.containers[0]?.args ?? [];

    const secure = manifests(await render('m', 'ops', ['metrics.serviceMonitor.enabled=true']));
    expect(args(secure).filter((a) => a.startsWith('--metrics'))).toEqual(['--metrics-bind-address=0.0.0.0:8443', '--metrics-secure']);
    expect(service(secure)).toEqual({ name: 'https', port: 8443, targetPort: 'metrics', protocol: 'TCP' });
    expect(endpoint(secure)).toMatchObject({
      port: 'https',
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      tlsConfig: { insecureSkipVerify: true },
    });
    const reader = ofKind<RoleManifest>(secure, 'ClusterRole').find((r) => r.metadata.name === 'm-warmpool-metrics-reader');
    expect(reader?.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    expect(ofKind(secure, 'NetworkPolicy')).toHaveLength(0);

    // A certificate from a Secret: mounted read-only, read by the operator; the ServiceMonitor verifies with a CA.
    const ca = { ca: { secret: { name: 'metrics-tls', key: 'ca.crt' } }, serverName: 'm-warmpool-metrics.ops.svc' };
    const withCert = manifests(
      await render('m', 'ops', [
        'metrics.serviceMonitor.enabled=true',
        'metrics.certSecret=metrics-tls',
        'metrics.serviceMonitor.tlsConfig.ca.secret.name=metrics-tls',
        'metrics.serviceMonitor.tlsConfig.ca.secret.key=ca.crt',
        'metrics.serviceMonitor.tlsConfig.serverName=m-warmpool-metrics.ops.svc',
      ]),
    );
    expect(args(withCert)).toContain('--metrics-cert-dir=/var/run/warmpool/metrics-certs');
    const pod = ofKind<Manifest & { spec: { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } } }>(withCert, 'Deployment')[0]?.spec.template.spec;
    expect(pod?.volumes.find((v) => v.name === 'metrics-certs')?.secret?.secretName).toBe('metrics-tls');
    expect(endpoint(withCert)?.tlsConfig).toEqual(ca);

    // Plain HTTP when asked: no flag, no reader role, no review permissions.
    const plain = manifests(await render('m', 'ops', ['metrics.secure=false', 'metrics.port=8080', 'metrics.serviceMonitor.enabled=true']));
    expect(args(plain).filter((a) => a.startsWith('--metrics'))).toEqual(['--metrics-bind-address=0.0.0.0:8080']);
    expect(service(plain)?.name).toBe('http');
    expect(endpoint(plain)).toEqual(expect.objectContaining({ port: 'http', scheme: 'http' }));
    expect(endpoint(plain)?.bearerTokenFile).toBeUndefined();
    expect(ofKind(plain, 'ClusterRole').map((r) => r.metadata.name)).toEqual(['m-warmpool']);
    expect(JSON.stringify(plain)).not.toMatch(/tokenreviews|subjectaccessreviews/);

    // The NetworkPolicy: the operator's pods, ingress to the metrics port from the selected peers only.
    const from = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const policed = manifests(
      await render('m', 'ops', ['metrics.networkPolicy.enabled=true', 'metrics.networkPolicy.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring']),
    );
    const [policy] = ofKind<Manifest & { spec: Record<string, unknown> }>(policed, 'NetworkPolicy');
    expect(policy?.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'warmpool', 'app.kubernetes.io/instance': 'm' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [from], ports: [{ port: 'metrics', protocol: 'TCP' }] }],
    });
    const closed = manifests(await render('m', 'ops', ['metrics.networkPolicy.enabled=true']));
    expect(ofKind<Manifest & { spec: { ingress: unknown[] } }>(closed, 'NetworkPolicy')[0]?.spec.ingress).toEqual([]);
  });
});

describe('values.schema.json', () => {
  // [value set, the path the error must name]
  const BAD: [string, string][] = [
    ['replicas=3', '/replicas'],
    ['shards=0', '/shards'],
    ['shards=4,replicas=17', '/replicas'],
    ['watchNamespaces={Team_A}', '/watchNamespaces/0'],
    ['image.pullPolicy=Sometimes', '/image/pullPolicy'],
    ['image.repository=', '/image/repository'],
    ['logLevel=pool=loud', '/logLevel'],
    ['metrics.port=0', '/metrics/port'],
    ['metrics.secure=yes', '/metrics/secure'],
    ['metrics.certSecret=Not_A_Name', '/metrics/certSecret'],
    ['metrics.serviceMonitor.bearerTokenFile=token', '/metrics/serviceMonitor/bearerTokenFile'],
    ['metrics.networkPolicy.from[0].namespaces=monitoring', '/metrics/networkPolicy/from/0'],
    ['tracing.otlpEndpoint=otel-collector:4318', '/tracing/otlpEndpoint'],
    ['prometheusRule.disabledAlerts={NoSuchAlert}', '/prometheusRule/disabledAlerts/0'],
    ['prometheusRule.claimLatencyP99Seconds=-1', '/prometheusRule/claimLatencyP99Seconds'],
    ['maxMembersPerPool=0', '/maxMembersPerPool'],
    ['refillYieldSeconds=31', '/refillYieldSeconds'],
    ['refillYieldSeconds=-1', '/refillYieldSeconds'],
    ['kubeApi.qps=0', '/kubeApi/qps'],
    ['kubeApi.burst=0', '/kubeApi/burst'],
    ['replica=2', "'replica'"],
  ];

  test.each(HELMS)('%s refuses bad values with a message naming the value', async (which) => {
    for (const [value, path] of BAD) {
      const failure = render('bad', 'ops', [value], which).then(
        () => `${value}: rendered`,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      const message = await failure;
      expect(`${value}: ${message}`).toMatch(/values don't meet the specifications of the schema/);
      expect(`${value}: ${message}`).toContain(path);
    }
  });

  test.each(HELMS)('%s install with a bad value fails and leaves nothing behind', async (which) => {
    const ns = await namespace('chart-bad');
    const release = uniqueName('bad');
    await expect(helm(which, ['install', release, chart, '-n', ns, '--set', 'replicas=5'])).rejects.toThrow(/\/replicas/);
    expect(await helm(which, ['list', '-n', ns, '-q'])).toBe('');
    expect(await leftovers(ns)).toEqual([]);
  });
});

describe('install', () => {
  test.each([
    ['helm', 2],
    ['helm3', 1],
  ] as const)(
    '%s install --wait brings the Deployment (%i replicas) Ready in a restricted namespace, uninstall removes it',
    async (which, replicas) => {
      // PodSecurity "restricted" admits the operator's pods only with the securityContext the chart promises.
      const ns = await namespace('chart-install', { 'pod-security.kubernetes.io/enforce': 'restricted' });
      const release = uniqueName('inst');
      const full = `${release}-warmpool`;
      // Namespaced to its own namespace: on a cluster that runs containers (kind) this operator must not touch the
      // pools of other test files.
      await helm(which, [
        'install', release, chart, '-n', ns, '--wait', '--timeout', '120s',
        ...sets([`replicas=${replicas}`, `watchNamespaces={${ns}}`, ...imageValues()]),
      ]);
      cleanups.push(async () => void (await helm(which, ['uninstall', release, '-n', ns]).catch(() => '')));
      const status = JSON.parse(await kubectl(['-n', ns, 'get', 'deploy', full, '-o', 'json'])) as {
        status: { readyReplicas?: number; replicas?: number };
      };
      expect(status.status.readyReplicas).toBe(replicas);
      const pdbs = await kubectl(['-n', ns, 'get', 'pdb', '-o', 'name']);
      expect(pdbs.trim()).toBe(replicas > 1 ? `poddisruptionbudget.policy/${full}` : '');

      await helm(which, ['uninstall', release, '-n', ns, '--wait', '--timeout', '60s']);
      expect(await helm(which, ['list', '-n', ns, '-q'])).toBe('');
      expect(await leftovers(ns)).toEqual([]);
    },
    180_000,
  );
});

describe('alerts', () => {
  let promtool = '';
  beforeAll(async () => {
    promtool = join((await run('bash', [join(root, 'hack', 'prometheus.sh')], { timeoutMs: 300_000 })).stdout.trim(), 'usr', 'bin', 'promtool');
  }, 300_000);

  test('promtool check rules and promtool test rules pass on files/alerts.yaml', async () => {
    const check = await run(promtool, ['check', 'rules', join(chart, 'files', 'alerts.yaml')]);
    expect(check.stdout).toMatch(/SUCCESS: 4 rules found/);
    const unit = await run(promtool, ['test', 'rules', join(chart, 'tests', 'alerts.test.yaml')]);
    expect(unit.stdout).toMatch(/SUCCESS/);
  });

  test('the PrometheusRule renders files/alerts.yaml, with the threshold and disabled alerts from values', async () => {
    const file = parse(readFileSync(join(chart, 'files', 'alerts.yaml'), 'utf8')) as RuleGroups;
    const renderedSpec = async (values: string[]): Promise<RuleGroups> => {
      const ms = manifests(await render('mon', 'ops', ['prometheusRule.enabled=true', ...values]));
      const [rule] = ofKind<Manifest & { spec: RuleGroups }>(ms, 'PrometheusRule');
      if (!rule) throw new Error('no PrometheusRule rendered');
      return rule.spec;
    };
    const trimExpr = (g: RuleGroups): RuleGroups => ({
      groups: g.groups.map((x) => ({ ...x, rules: x.rules.map((r) => ({ ...r, expr: r.expr.trim() })) })),
    });
    expect(trimExpr(await renderedSpec([]))).toEqual(trimExpr(file));
    expect(file.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual([
      'WarmPoolNoReadyMembers',
      'WarmPoolClaimLatencyHigh',
      'WarmPoolMembersStuckWarming',
      'WarmPoolOperatorDown',
    ]);

    const tuned = await renderedSpec(['prometheusRule.claimLatencyP99Seconds=2.5', 'prometheusRule.disabledAlerts={WarmPoolMembersStuckWarming}']);
    const rules = tuned.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).not.toContain('WarmPoolMembersStuckWarming');
    expect(rules.find((r) => r.alert === 'WarmPoolClaimLatencyHigh')?.expr.trim()).toMatch(/\) > 2\.5$/);
    // What the chart renders is still a valid rules file.
    const path = join(scratch, 'rendered-rules.yaml');
    writeFileSync(path, JSON.stringify(tuned));
    expect((await run(promtool, ['check', 'rules', path])).stdout).toMatch(/SUCCESS: 3 rules found/);

    const renamed = await renderedSpec(['nameOverride=pools']);
    expect(renamed.groups.flatMap((g) => g.rules).find((r) => r.alert === 'WarmPoolOperatorDown')?.expr).toContain('up{job="pools"}');
  });

  test('every metric the alerts and the dashboard read is one the operator exports', () => {
    const registry = readFileSync(join(root, 'operator', 'metrics', 'registry.ts'), 'utf8');
    const read = [join(chart, 'files', 'alerts.yaml'), join(chart, 'files', 'dashboard.json')].flatMap((f) => [
      ...readFileSync(f, 'utf8').matchAll(/\bwarmpool_[a-z_]+/g),
    ]);
    const names = sorted(read.map((m) => m[0].replace(/_(bucket|count|sum)$/, '')));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !registry.includes(`'${n}'`))).toEqual([]);
  });
});

describe('RBAC', () => {
  test('every permission the chart grants is one the operator uses, and every one it uses is granted', async () => {
    // The client methods operator/ calls, found in its source.
    const called = new Map<string, string[]>();
    for (const file of operatorSources()) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\.([a-z]+(?:Namespaced|Cluster)[A-Za-z]*|[a-z][A-Za-z]*ForAllNamespaces)\(/g)) {
        const method = m[1] ?? '';
        called.set(method, [...(called.get(method) ?? []), relative(root, file)]);
      }
    }
    const unknown = [...called.keys()].filter((m) => !(m in METHOD_GRANTS)).map((m) => `${m} (${called.get(m)?.join(', ')})`);
    expect({ 'calls missing from METHOD_GRANTS': unknown }).toEqual({ 'calls missing from METHOD_GRANTS': [] });
    const stale = Object.keys(METHOD_GRANTS).filter((m) => !called.has(m));
    expect({ 'METHOD_GRANTS no longer called': stale }).toEqual({ 'METHOD_GRANTS no longer called': [] });
    for (const o of OTHER_GRANTS) {
      expect(`${o.file}: ${o.evidence.test(readFileSync(join(root, o.file), 'utf8')) ? 'found' : 'not found'}: ${o.what}`).toMatch(/: found: /);
    }

    for (const [podProxy, secure] of [[false, true], [true, true], [false, false]] as const) {
      const used = usedPermissions(podProxy, secure);
      const proxy = `rbac.podProxy=${podProxy}`;
      const secureValue = `metrics.secure=${secure}`;
      // Cluster-wide: the ClusterRole, plus the lease Role. (The metrics-reader ClusterRole is for scrapers.)
      const wide = manifests(await render('rbac', 'ops', [proxy, secureValue]));
      const clusterRoles = ofKind<RoleManifest>(wide, 'ClusterRole').filter((r) => r.metadata.name !== 'rbac-warmpool-metrics-reader');
      const roles = ofKind<RoleManifest>(wide, 'Role');
      expect(clusterRoles).toHaveLength(1);
      expect(roles).toHaveLength(1);
      const granted = sorted([...clusterRoles, ...roles].flatMap((r) => permissions(r.rules)));
      expect({ [`granted, not used (${proxy})`]: granted.filter((p) => !used.includes(p)) }).toEqual({ [`granted, not used (${proxy})`]: [] });
      expect({ [`used, not granted (${proxy})`]: used.filter((p) => !granted.includes(p)) }).toEqual({ [`used, not granted (${proxy})`]: [] });
      expect(sorted(permissions(roles[0]?.rules ?? []))).toEqual(sorted(LEASE_PERMISSIONS));
      // The lease Role reads and renews its own Lease only.
      expect(roles[0]?.rules.find((r) => r.verbs?.includes('update'))?.resourceNames).toEqual(['rbac-warmpool']);
      expect(JSON.stringify([...clusterRoles, ...roles].map((r) => r.rules))).not.toContain('*');

      // Namespaced: the same rules in a Role per watched namespace, nothing cluster-wide.
      // Namespaced: the same rules in a Role per watched namespace; cluster-wide only the metrics reviews, which are
      // cluster-scoped.
      const narrow = manifests(await render('rbac', 'ops', [proxy, secureValue, 'watchNamespaces={team-a,team-b}']));
      const narrowClusterRoles = ofKind<RoleManifest>(narrow, 'ClusterRole').filter((r) => r.metadata.name !== 'rbac-warmpool-metrics-reader');
      expect(narrowClusterRoles.map((r) => r.metadata.name)).toEqual(secure ? ['rbac-warmpool-metrics-auth'] : []);
      expect(sorted(narrowClusterRoles.flatMap((r) => permissions(r.rules)))).toEqual(secure ? sorted(METRICS_AUTH_PERMISSIONS) : []);
      const perNamespace = ofKind<RoleManifest>(narrow, 'Role').filter((r) => r.metadata.namespace !== 'ops');
      expect(perNamespace.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
      for (const r of perNamespace) {
        expect(sorted(permissions(r.rules))).toEqual(sorted(used.filter((p) => !LEASE_PERMISSIONS.includes(p) && !METRICS_AUTH_PERMISSIONS.includes(p))));
      }
    }
  });

  /** A kubeconfig with a token of the ServiceAccount; bound to `pod` when given, as a replica's own token is. */
  async function tokenKubeconfig(ns: string, serviceAccount: string, pod?: string): Promise<string> {
    const bound = pod === undefined ? [] : ['--bound-object-kind', 'Pod', '--bound-object-name', pod];
    const token = (await kubectl(['-n', ns, 'create', 'token', serviceAccount, '--duration=1h', ...bound])).trim();
    const admin = JSON.parse(await kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'])) as {
      clusters: { cluster: Record<string, unknown> }[];
    };
    const cluster = admin.clusters[0]?.cluster;
    if (!cluster) throw new Error('the admin kubeconfig has no cluster');
    const file = join(scratch, `${ns}-${serviceAccount}.kubeconfig`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cluster', cluster }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: serviceAccount, context: { cluster: 'cluster', user: serviceAccount } }],
      'current-context': serviceAccount,
    };
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    return file;
  }

  const canI = async (kubeconfigPath: string, args: string[]): Promise<boolean> =>
    (await kubectlRaw(['--kubeconfig', kubeconfigPath, 'auth', 'can-i', ...args])).code === 0;

  /** Writes of one user in the audit log (local cluster only): "group/resource[/sub]:verb" -> response codes. */
  function auditedWrites(user: string): Map<string, Set<number>> {
    const writes = new Map<string, Set<number>>();
    const path = process.env.WARMPOOL_TEST_AUDIT_LOG;
    if (!path) return writes;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.includes(user)) continue;
      const e = JSON.parse(line) as {
        user?: { username?: string };
        verb?: string;
        objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
        responseStatus?: { code?: number };
      };
      if (e.user?.username !== user || !e.objectRef?.resource) continue;
      const { apiGroup, resource, subresource } = e.objectRef;
      const key = `${apiGroup || 'core'}/${resource}${subresource ? `/${subresource}` : ''}:${e.verb ?? ''}`;
      writes.set(key, (writes.get(key) ?? new Set()).add(e.responseStatus?.code ?? 0));
    }
    return writes;
  }

  test.each(['namespaced', 'cluster-wide'] as const)(
    "%s: the operator on a token of the chart's ServiceAccount keeps a pool, binds and releases a claim",
    async (mode) => {
      const ns = await namespace('chart-rbac');
      const pools = await namespace('chart-pools');
      const release = uniqueName('rbac');
      const full = `${release}-warmpool`;
      const values = ['rbac.podProxy=true', ...imageValues(), ...(mode === 'namespaced' ? [`watchNamespaces={${pools}}`] : [])];
      // The chart's ServiceAccount and RBAC, without its Deployment: on a cluster that runs containers (kind) the
      // chart's own replica would otherwise act too, and in cluster-wide mode on every test's pools.
      const objects = manifests(await render(release, ns, values)).filter((m) => m.kind !== 'Deployment');
      const text = objects.map((m) => JSON.stringify(m)).join('\n---\n');
      await kubectl(['apply', '-f', '-'], text);
      cleanups.push(async () => void (await kubectlRaw(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], text)));

      // The replica as the chart runs it: a pod of the ServiceAccount, its identity its pod name, on a token bound to
      // that pod (the chart's server-side write fence admits writes from the pod the Lease names).
      const replica = `${full}-0`;
      await kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: replica, namespace: ns },
        spec: { serviceAccountName: full, containers: [{ name: 'operator', image: MEMBER_IMAGE }] },
      }));
      const config = await tokenKubeconfig(ns, full, replica);
      const user = `system:serviceaccount:${ns}:${full}`;
      expect(await canI(config, ['list', 'instancepools.warmpool.dev', '-n', pools])).toBe(true);
      expect(await canI(config, ['list', 'instancepools.warmpool.dev', '--all-namespaces'])).toBe(mode === 'cluster-wide');
      expect(await canI(config, ['get', 'secrets', '-n', pools])).toBe(false);
      expect(await canI(config, ['update', 'deployments.apps', '-n', ns])).toBe(false);
      expect(await canI(config, ['update', `leases.coordination.k8s.io/${full}`, '-n', ns])).toBe(true);
      expect(await canI(config, ['update', 'leases.coordination.k8s.io/another', '-n', ns])).toBe(false);

      let op: OperatorProcess | undefined;
      try {
        op = await spawnOperator(
          [
            '--namespaces', pools,
            '--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', full, '--identity', replica,
            '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0',
            // The chart's default: metrics over HTTPS, each scrape reviewed with the chart's RBAC.
            '--metrics-secure',
          ],
          config,
        );
        const running = op;
        await eventually('the operator leads', async () => (/operator started/.test(running.output()) ? true : undefined));
        expect(await kubectl(['-n', ns, 'get', 'lease', full, '-o', 'jsonpath={.spec.holderIdentity}'])).not.toBe('');

        await kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({
            apiVersion: 'warmpool.dev/v1alpha1',
            kind: 'InstancePool',
            metadata: { name: 'proof', namespace: pools },
            spec: {
              targetSize: 2,
              // Through the pod proxy: exercises pods/proxy and the PodMetrics list.
              metrics: { port: 9090, via: 'APIServerProxy', intervalSeconds: 1 },
              template: {
                metadata: { labels: { app: 'proof' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
                spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: MEMBER_IMAGE, imagePullPolicy: 'IfNotPresent' }] },
              },
            },
          }),
        );
        await poolWhere(pools, 'proof', 'readyCount 2', (p) => p.status?.readyCount === 2, 60_000);
        // Two claims, one per reclaimPolicy: Delete deletes the member; Return (which puts a finalizer on its claim)
        // hands it back to the pool.
        for (const [name, reclaimPolicy] of [['job-1', 'Delete'], ['sandbox-1', 'Return']] as const) {
          const claim = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: pools }, spec: { poolName: 'proof', reclaimPolicy } };
          await kubectl(['apply', '-f', '-'], JSON.stringify(claim));
          const bound = await claimWhere(pools, name, 'Bound', (c) => condition(c, 'Bound')?.status === 'True');
          expect(bound.status?.member?.name).toBeTruthy();
          await kubectl(['-n', pools, 'delete', 'poolclaim', name, '--timeout=30s']);
          await poolWhere(pools, 'proof', 'refilled', (p) => p.status?.readyCount === 2 && (p.status.claimedCount ?? 0) === 0, 60_000);
        }
        // Eviction protection: the namespace's PDB, edited by hand, is put back (update); turned off in its only pool, it
        // is deleted.
        const pdb = (): Promise<string> => kubectl(['-n', pools, 'get', 'pdb', 'warmpool-claimed-members', '-o', 'jsonpath={.spec.minAvailable}']);
        await eventually('the PDB', async () => ((await pdb().catch(() => '')) === '2147483647' ? true : undefined));
        await kubectl(['-n', pools, 'patch', 'pdb', 'warmpool-claimed-members', '--type=merge', '-p', '{"spec":{"minAvailable":3}}']);
        await eventually('the PDB put back', async () => ((await pdb()) === '2147483647' ? true : undefined));
        await kubectl(['-n', pools, 'patch', 'instancepool', 'proof', '--type=merge', '-p', '{"spec":{"evictionProtection":false}}']);
        await eventually('the PDB deleted', async () => ((await pdb().then(() => false, () => true)) ? true : undefined));
        // Autosizing writes targetSize through the scale subresource: nothing claimed and a floor of 1, so Proportional
        // takes the pool from 2 to 1 (no stabilization window).
        const autoscaling = { minSize: 1, autoscaling: { mode: 'Proportional', percentOfClaimed: 50, scaleDownStabilizationSeconds: 0 } };
        await kubectl(['-n', pools, 'patch', 'instancepool', 'proof', '--type=merge', '-p', JSON.stringify({ spec: autoscaling })]);
        await poolWhere(pools, 'proof', 'targetSize 1 from the autoscaler', (p) => p.spec.targetSize === 1, 60_000);
        // Deleting the pool: the operator drops the pool's finalizer.
        await kubectl(['-n', pools, 'delete', 'instancepool', 'proof', '--timeout=30s']);
        expect(await kubectl(['-n', pools, 'get', 'events', '--field-selector', 'reason=MemberCreated', '-o', 'name'])).not.toBe('');

        const port = /"metricsPort":(\d+)/.exec(running.output())?.[1];
        expect(port).toBeDefined();
        // A scraper bound to the chart's metrics-reader ClusterRole gets the metrics; without a token, nobody does.
        const url = `https://127.0.0.1:${port}/metrics`;
        expect((await httpsGet(url)).status).toBe(401);
        await kubectl(['-n', ns, 'create', 'serviceaccount', 'scraper']);
        await kubectl(['create', 'clusterrolebinding', `${full}-scraper`, `--clusterrole=${full}-metrics-reader`, `--serviceaccount=${ns}:scraper`]);
        cleanups.push(async () => void (await kubectlRaw(['delete', '--ignore-not-found', 'clusterrolebinding', `${full}-scraper`])));
        const scrape = await httpsGet(url, (await kubectl(['-n', ns, 'create', 'token', 'scraper'])).trim());
        expect(scrape.status).toBe(200);
        const metrics = scrape.body;
        const requests = metrics.split('\n').filter((l) => l.startsWith('warmpool_api_requests_total{'));
        expect(requests.filter((l) => /code="2\d\d"/.test(l)).length).toBeGreaterThan(0);
        expect(requests.filter((l) => /code="40[13]"/.test(l))).toEqual([]);
        expect(running.output()).not.toMatch(/forbidden/i);

        // The local cluster's audit log: every write the chart grants was made, and none was refused.
        if (process.env.WARMPOOL_TEST_AUDIT_LOG) {
          const writes = await eventually('audited writes', async () => {
            const w = auditedWrites(user);
            return w.has('warmpool.dev/instancepools:patch') ? w : undefined;
          });
          const refused = [...writes].filter(([, codes]) => codes.has(403)).map(([k]) => k);
          expect(refused).toEqual([]);
          const grantedWrites = usedPermissions(true).filter((p) => /:(create|update|patch|delete)$/.test(p));
          const notMade = grantedWrites.filter((p) => !writes.has(p));
          expect(notMade).toEqual([]);
        }

        // The server-side fence: stopped, the replica gave up the Lease, and its credentials can no longer write.
        await running.kill('SIGTERM');
        const latePod = await kubectlRaw(['--kubeconfig', config, '-n', pools, 'run', 'late', `--image=${MEMBER_IMAGE}`, '--restart=Never']);
        expect(latePod.code).not.toBe(0);
        expect(latePod.stderr).toContain(`write fence: ${replica} does not hold the Lease ${full}`);
      } finally {
        await op?.kill('SIGTERM');
      }
    },
    180_000,
  );
});
