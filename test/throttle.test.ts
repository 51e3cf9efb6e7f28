// Throttling by the API server itself: API Priority and Fairness with a FlowSchema that gives the operator's user a
// tiny share (one nominal share, one seat, a queue of two), so a burst of claims meets 429 + Retry-After. The operator
// (a process under its own user, which is not in system:masters, so not exempt) must still bind every claim, never
// call anything Stalled for it, and keep its request rate within its client-side bucket.
import { readFileSync } from 'node:fs';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { claimManifest, condition, listClaims, poolManifest, poolWhere, getPool } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: OperatorProcess | undefined;
const USER = 'warmpool-throttled';
const QPS = 50;
const BURST = 100;
// Enough to overrun one seat many times over; more only makes the file slower (one seat binds about one claim a second).
const CLAIMS = 40;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('throttle'));
});

afterAll(async () => {
  await op?.kill();
  await kubectlRaw(['delete', 'flowschema,prioritylevelconfiguration,clusterrolebinding', `warmpool-throttle-${ns}`, '--wait=false']);
  await kubectlRaw(['delete', 'prioritylevelconfiguration', `warmpool-throttle-${ns}-ballast`, '--wait=false']);
  await cleanup();
});

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

function requestsBy(user: string, since: number): AuditEvent[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"${user}"`))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.user.username === user && e.verb !== 'watch')
    .filter((e) => Date.parse(e.requestReceivedTimestamp) >= since);
}

/** The most requests received in any one-second window. */
function peakPerSecond(events: AuditEvent[]): number {
  const times = events.map((e) => Date.parse(e.requestReceivedTimestamp)).sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while ((times[hi] ?? 0) - (times[lo] ?? 0) >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

test('a burst of claims under API Priority and Fairness throttling: 429s are waited out, every claim Bound, rate bounded', async () => {
  const name = `warmpool-throttle-${ns}`;
  // A level's seats are ceil(server seats * its shares / all shares), so one share of the default ~245 still gets 3
  // seats, more than the operator uses at once. A ballast level nobody's flows use raises the sum to ~650: one seat
  // for ours; the ballast lends all of its seats, so the other levels can borrow back what it takes.
  const apf = [
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'PriorityLevelConfiguration',
      metadata: { name: `${name}-ballast` },
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: 400, lendablePercent: 100, limitResponse: { type: 'Reject' } } },
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'PriorityLevelConfiguration',
      metadata: { name },
      // One seat and a queue of two: what does not fit is answered 429 with Retry-After.
      spec: {
        type: 'Limited',
        limited: {
          nominalConcurrencyShares: 1,
          lendablePercent: 0,
          borrowingLimitPercent: 0,
          limitResponse: { type: 'Queue', queuing: { queues: 1, handSize: 1, queueLengthLimit: 2 } },
        },
      },
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'FlowSchema',
      metadata: { name },
      spec: {
        priorityLevelConfiguration: { name },
        matchingPrecedence: 200,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [{ kind: 'User', user: { name: USER } }],
            resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          },
        ],
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }],
    },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: apf }));
  // The apiserver has taken the configuration in when our level shows up in its dump (APF on, seats assigned).
  const level = await eventually('the priority level in effect', async () => {
    const dump = await kubectl(['get', '--raw', '/debug/api_priority_and_fairness/dump_priority_levels']);
    return dump.split('\n').find((l) => l.startsWith(`${name},`));
  });
  process.stdout.write(`throttle: priority levels dump: ${level}\n`);
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  // A group of its own: kwokctl's default group is system:masters, which APF exempts.
  const kc = await cluster.kubeconfigFor(USER, ['warmpool:throttled']);
  op = await spawnOperator(
    ['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', '--kube-api-qps', String(QPS), '--kube-api-burst', String(BURST)],
    kc,
  );
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'burst', { targetSize: 20, spec: { maxSize: 200 }, annotations: { 'sim.warmpool.dev/ready-after': '300ms' } }));
  await poolWhere(ns, 'burst', 'ready', (p) => p.status?.readyCount === 20, 60_000);

  const t0 = Date.now();
  const claims = Array.from({ length: CLAIMS }, (_, i) => JSON.parse(claimManifest(ns, `burst-${String(i).padStart(2, '0')}`, 'burst')) as unknown);
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: claims }));
  let last = '';
  await eventually(`all ${CLAIMS} Bound`, async () => {
    const cs = await listClaims(ns);
    const phases = new Map<string, number>();
    for (const c of cs) phases.set(c.status?.phase ?? 'none', (phases.get(c.status?.phase ?? 'none') ?? 0) + 1);
    last = JSON.stringify([...phases]);
    return cs.length === CLAIMS && cs.every((c) => c.status?.phase === 'Bound') ? true : undefined;
  }, Number(process.env.THROTTLE_BIND_TIMEOUT_MS ?? 120_000), 500).catch((e: unknown) => {
    const codes = new Map<string, number>();
    for (const ev of requestsBy(USER, t0)) codes.set(`${ev.verb} ${ev.responseStatus?.code ?? '?'}`, (codes.get(`${ev.verb} ${ev.responseStatus?.code ?? '?'}`) ?? 0) + 1);
    throw new Error(`${String(e)}; claims by phase: ${last}; requests by verb and code: ${JSON.stringify([...codes])}; operator output:\n${op?.output().slice(-6000) ?? ''}`);
  });
  const boundIn = (Date.now() - t0) / 1000;
  await poolWhere(ns, 'burst', 'refilled', (p) => p.status?.readyCount === 20 && p.status.claimedCount === CLAIMS, 60_000);
  const settledIn = (Date.now() - t0) / 1000;
  const pool = await getPool(ns, 'burst');
  expect(condition(pool, 'Stalled')?.status ?? 'False').toBe('False');

  await new Promise((r) => setTimeout(r, 1500)); // the audit log is written asynchronously
  const events = requestsBy(USER, t0);
  const throttled = events.filter((e) => e.responseStatus?.code === 429).length;
  const peak = peakPerSecond(events);
  process.stdout.write(
    `throttle: ${CLAIMS} claims Bound in ${boundIn.toFixed(1)} s, pool refilled in ${settledIn.toFixed(1)} s; ${events.length} requests, ` +
      `${throttled} answered 429 by APF; peak ${peak} requests in one second (bucket ${QPS}/s, burst ${BURST})\n`,
  );
  // The flow schema did bite, and the operator waited it out instead of failing.
  expect(throttled).toBeGreaterThan(0);
  // Every request (each retry included) takes a token: at most burst + qps in any one second.
  expect(peak).toBeLessThanOrEqual(BURST + QPS);
  await op.kill('SIGTERM');
}, 240_000);
