// Issue 17, defect 5 on the local cluster: with the scraper reading through the API server's pod proxy (what
// rbac.podProxy=true enables), no spec.metrics.path makes the operator request a pod other than the pool's members.
// Hostile paths are refused at apply; legal but odd ones (`;`, an encoded slash) reach the members and nothing else,
// which the audit log shows: the operator runs in-process under an identity of its own, and every pods/proxy request
// of that identity in the test window must name a member of the pool and the pool's own path, encoded.
//
// The API server does not proxy to loopback addresses (it answers 400), and every pod IP of the local cluster is one:
// the requests are made and audited but never reach a member here. What is checked is what the operator asks for.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { members, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;
let user = '';

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('scrape'));
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  user = `warmpool-scraper-${ns}`;
  const kc = new KubeConfig();
  kc.loadFromFile(await cluster.kubeconfigFor(user, ['system:masters']));
  op = await startOperatorInProcess(ns, { kubeConfig: kc });
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

interface ProxyRequest {
  requestURI: string;
  namespace: string | undefined;
  code: number | undefined;
}

/** The pods/proxy requests the operator's identity made since `since` (epoch ms), in any namespace. */
function proxyRequestsSince(since: number): ProxyRequest[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"${user}"`))
    .map(
      (line) =>
        JSON.parse(line) as {
          user: { username: string };
          requestURI: string;
          objectRef?: { resource?: string; subresource?: string; namespace?: string };
          responseStatus?: { code?: number };
          requestReceivedTimestamp: string;
        },
    )
    .filter((e) => e.user.username === user && Date.parse(e.requestReceivedTimestamp) >= since)
    .filter((e) => e.objectRef?.subresource === 'proxy' || e.requestURI.includes('/proxy'))
    .map((e) => ({ requestURI: e.requestURI, namespace: e.objectRef?.namespace, code: e.responseStatus?.code }));
}

const metricsSpec = (port: number, path: string) => ({
  metrics: { port, path, via: 'APIServerProxy', intervalSeconds: 1, httpRequestsCounter: 'http_requests_total' },
});

test('hostile metrics paths are refused at apply, naming the field', async () => {
  const hostile = [
    '/../../../../kube-system/pods/kube-apiserver:6443/proxy/metrics',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/kube-system/pods/x:9100/proxy/metrics',
    '/metrics/../../../../default/pods/x:9100/proxy/metrics',
    '/./metrics',
    '/metrics?x=/../../y',
    '/metrics#/../x',
  ];
  for (const [i, path] of hostile.entries()) {
    const result = await kubectlRaw(['apply', '-f', '-'], poolManifest(ns, `hostile-${i}`, { targetSize: 1, spec: metricsSpec(9100, path) }));
    expect({ path, code: result.code === 0 ? 0 : 1, names: result.stderr.includes('spec.metrics.path') }).toEqual({ path, code: 1, names: true });
  }
});

test('odd but legal paths make the operator request only its members, at their own paths', async () => {
  const since = Date.now();
  const port = 9100;
  // path in the spec -> path as the operator sends it (each segment encoded, the spec taken literally)
  const pools = [
    { name: 'semicolon', path: '/metrics;x', sent: '/metrics%3Bx' },
    { name: 'encoded-slash', path: '/a%2Fb', sent: '/a%252Fb' },
  ];
  for (const p of pools) await kubectl(['apply', '-f', '-'], poolManifest(ns, p.name, { targetSize: 2, spec: metricsSpec(port, p.path) }));
  for (const p of pools) await poolWhere(ns, p.name, 'readyCount 2', (pool) => pool.status?.readyCount === 2);

  // Every member is asked, several times (the interval is 1 s).
  const expected = new Map<string, string>();
  for (const p of pools) for (const m of await members(ns, p.name)) expected.set(m.metadata.name, p.sent);
  const requests = await eventually(
    'three scrapes of every member in the audit log',
    async () => {
      const seen = proxyRequestsSince(since);
      const counts = [...expected.keys()].map((m) => seen.filter((r) => r.requestURI.includes(`/pods/${m}:`)).length);
      return counts.every((c) => c >= 3) ? seen : undefined;
    },
    60_000,
    500,
  );

  // And nothing else: every proxy request names a member of the pool, in the test's namespace, with the pool's path.
  const prefix = `/api/v1/namespaces/${ns}/pods/`;
  const strays = requests.filter((r) => {
    if (r.namespace !== ns || !r.requestURI.startsWith(prefix)) return true;
    const [target, ...rest] = r.requestURI.slice(prefix.length).split('/proxy');
    const [member, memberPort] = (target ?? '').split(':');
    return member === undefined || memberPort !== String(port) || expected.get(member) !== rest.join('/proxy');
  });
  expect(strays).toEqual([]);
  expect(requests.length).toBeGreaterThanOrEqual(3 * expected.size);
}, 120_000);
