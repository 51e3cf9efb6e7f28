import type { V1Pod } from '@kubernetes/client-node';
import type { PoolUtilization } from '../api/types.js';
import type { EndpointSample, MemberUtilization, UsageByPool } from './utilization.js';
import {
  aggregateUtilization,
  counterRate,
  groupPodMetricsByPool,
  memberRates,
  podMetricsScopes,
  parsePodMetricsList,
  podCapacity,
  usagePercent,
  statusUtilization,
  utilizationChanged,
} from './utilization.js';

describe('counterRate', () => {
  test.each([
    { name: 'steady growth', previous: 100, current: 400, seconds: 15, rate: 20 },
    { name: 'no change', previous: 50, current: 50, seconds: 10, rate: 0 },
    { name: 'counter reset: the new value is the increase', previous: 1000, current: 30, seconds: 15, rate: 2 },
    { name: 'reset to zero', previous: 1000, current: 0, seconds: 15, rate: 0 },
    { name: 'first sample gives no rate', previous: undefined, current: 400, seconds: 15, rate: undefined },
    { name: 'counter missing now', previous: 100, current: undefined, seconds: 15, rate: undefined },
    { name: 'no time between samples', previous: 100, current: 200, seconds: 0, rate: undefined },
    { name: 'clock went backwards', previous: 100, current: 200, seconds: -1, rate: undefined },
  ])('$name', ({ previous, current, seconds, rate }) => {
    expect(counterRate(previous, current, seconds)).toBe(rate);
  });
});

describe('memberRates', () => {
  const at = 1_700_000_000_000;
  test('first sample gives no rates', () => {
    expect(memberRates(undefined, { at, http: 10 })).toEqual({});
  });

  test('rates per protocol and their sum, over the time between samples', () => {
    const previous: EndpointSample = { at, http: 100, tcp: 10, method: 5 };
    const current: EndpointSample = { at: at + 10_000, http: 300, tcp: 60, method: 2 };
    expect(memberRates(previous, current)).toEqual({ httpRps: 20, tcpRps: 5, methodRps: 0.2, combinedRps: 25.2 });
  });

  test('protocols without a counter are left out of the sum', () => {
    expect(memberRates({ at, http: 0 }, { at: at + 15_000, http: 300 })).toEqual({
      httpRps: 20,
      tcpRps: undefined,
      methodRps: undefined,
      combinedRps: 20,
    });
    expect(memberRates({ at }, { at: at + 15_000 }).combinedRps).toBeUndefined();
  });
});

const pod = (containers: NonNullable<V1Pod['spec']>['containers'], initContainers?: NonNullable<V1Pod['spec']>['initContainers']): V1Pod => ({
  metadata: { name: 'm-1' },
  spec: { containers, initContainers },
});

describe('podCapacity and usagePercent', () => {
  const usage = parsePodMetricsList({
    kind: 'PodMetricsList',
    items: [
      {
        metadata: { name: 'm-1' },
        containers: [
          { name: 'app', usage: { cpu: '250000000n', memory: '256Mi' } },
          { name: 'sidecar', usage: { cpu: '50m', memory: '64Mi' } },
          { name: 'bare', usage: { cpu: '1', memory: '1Gi' } },
          { name: 'proxy', usage: { cpu: '100m', memory: '10Mi' } },
        ],
      },
    ],
  }).get('m-1');
  if (!usage) throw new Error('no usage');

  test('percent of the requests (the acceptance figures: 250m of 500m, 256Mi of 1Gi)', () => {
    const capacity = podCapacity(pod([{ name: 'app', resources: { requests: { cpu: '500m', memory: '1Gi' } } }]));
    expect(usagePercent(capacity, usage, 'cpu')).toBeCloseTo(50);
    expect(usagePercent(capacity, usage, 'memory')).toBeCloseTo(25);
  });

  test('limits stand in for a missing request; containers with neither are left out', () => {
    const capacity = podCapacity(
      pod([
        { name: 'app', resources: { requests: { cpu: '500m' }, limits: { cpu: '2', memory: '512Mi' } } },
        { name: 'sidecar', resources: { limits: { cpu: '100m', memory: '128Mi' } } },
        { name: 'bare' },
      ]),
    );
    expect(capacity).toEqual([
      { name: 'app', cpu: 0.5, memory: 512 * 2 ** 20 },
      { name: 'sidecar', cpu: 0.1, memory: 128 * 2 ** 20 },
      { name: 'bare', cpu: undefined, memory: undefined },
    ]);
    // cpu: (250m + 50m) / (500m + 100m); memory: (256Mi + 64Mi) / (512Mi + 128Mi). `bare` counts in neither.
    expect(usagePercent(capacity, usage, 'cpu')).toBeCloseTo(50);
    expect(usagePercent(capacity, usage, 'memory')).toBeCloseTo(50);
  });

  test('sidecar init containers count; plain init containers do not', () => {
    const capacity = podCapacity(
      pod(
        [{ name: 'app', resources: { requests: { cpu: '500m' } } }],
        [
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
          { name: 'setup', resources: { requests: { cpu: '4' } } },
        ],
      ),
    );
    expect(capacity.map((c) => c.name)).toEqual(['app', 'proxy']);
    expect(usagePercent(capacity, usage, 'cpu')).toBeCloseTo(((0.25 + 0.1) / 0.6) * 100);
  });

  test('nothing to be a percent of gives undefined', () => {
    expect(usagePercent(podCapacity(pod([{ name: 'bare' }])), usage, 'cpu')).toBeUndefined();
    const capacity = podCapacity(pod([{ name: 'not-reported', resources: { requests: { cpu: '1' } } }]));
    expect(usagePercent(capacity, usage, 'cpu')).toBeUndefined();
    expect(usagePercent(capacity, { name: 'm-1', containers: [] }, 'memory')).toBeUndefined();
  });

  test('unreadable and zero quantities in the spec are no denominator', () => {
    const capacity = podCapacity(
      pod([{ name: 'app', resources: { requests: { cpu: '0', memory: 'lots' }, limits: { cpu: '1' } } }]),
    );
    expect(capacity).toEqual([{ name: 'app', cpu: 1, memory: undefined }]);
  });
});

describe('parsePodMetricsList', () => {
  test('skips what is not shaped as PodMetrics', () => {
    const list = parsePodMetricsList({
      items: [
        { metadata: { name: 'a' }, containers: [{ name: 'c', usage: { cpu: '1', memory: 'x' } }, { usage: {} }, 'junk'] },
        { metadata: {} },
        null,
        { metadata: { name: 'b' } },
      ],
    });
    expect([...list.values()]).toEqual([
      { name: 'a', containers: [{ name: 'c', cpu: 1, memory: undefined }] },
      { name: 'b', containers: [] },
    ]);
    expect(parsePodMetricsList('nope').size).toBe(0);
    expect(parsePodMetricsList({ items: 'nope' }).size).toBe(0);
  });
});

describe('groupPodMetricsByPool', () => {
  const item = (namespace: unknown, name: string, labels: unknown, cpu = '100m') => ({
    metadata: { namespace, name, labels },
    containers: [{ name: 'main', usage: { cpu, memory: '1Mi' } }],
  });
  const pool = (p: string) => ({ 'warmpool.dev/pool': p, 'warmpool.dev/state': 'ready' });
  test.each([
    {
      name: 'one cluster-wide list feeds every pool, grouped by namespace and pool label',
      lists: [{ items: [item('a', 'web-1', pool('web')), item('b', 'web-1', pool('web')), item('a', 'api-1', pool('api')), item('a', 'web-2', pool('web'))] }],
      groups: { 'a/web': ['web-1', 'web-2'], 'b/web': ['web-1'], 'a/api': ['api-1'] },
    },
    {
      name: 'lists of several namespaces add up',
      lists: [{ items: [item('a', 'w-1', pool('web'))] }, { items: [item('b', 'w-1', pool('web'))] }],
      groups: { 'a/web': ['w-1'], 'b/web': ['w-1'] },
    },
    {
      name: 'items without the pool label, a namespace, or a usable shape are skipped',
      lists: [
        {
          items: [
            item('a', 'plain', { app: 'x' }),
            item('a', 'no-labels', undefined),
            item('a', 'empty-pool', pool('')),
            item(undefined, 'no-ns', pool('web')),
            item('', 'empty-ns', pool('web')),
            item('a', 'number-pool', { 'warmpool.dev/pool': 7 }),
            { metadata: { namespace: 'a', labels: pool('web') } },
            null,
            'junk',
            item('a', 'kept', pool('web')),
          ],
        },
      ],
      groups: { 'a/web': ['kept'] },
    },
    { name: 'not a list at all', lists: ['nope', { items: 'nope' }, null], groups: {} },
  ])('$name', ({ lists, groups }) => {
    const into: UsageByPool = new Map();
    for (const list of lists) groupPodMetricsByPool(list, 'warmpool.dev/pool', into);
    const got = Object.fromEntries([...into].map(([key, pods]) => [key, [...pods.keys()]]));
    expect(got).toEqual(groups);
  });

  test('usage is parsed as for one pool', () => {
    const grouped = groupPodMetricsByPool({ items: [item('a', 'w-1', pool('web'), '250m')] }, 'warmpool.dev/pool');
    expect(grouped.get('a/web')?.get('w-1')).toEqual({ name: 'w-1', containers: [{ name: 'main', cpu: 0.25, memory: 1024 * 1024 }] });
  });
});

describe('podMetricsScopes', () => {
  test.each([
    { name: 'all namespaces: one cluster-wide list', namespaces: [], scopes: [undefined] },
    { name: 'watched namespaces: one list each', namespaces: ['a', 'b'], scopes: ['a', 'b'] },
    { name: 'a namespace named twice is listed once', namespaces: ['a', 'a'], scopes: ['a'] },
  ])('$name', ({ namespaces, scopes }) => {
    expect(podMetricsScopes(namespaces)).toEqual(scopes);
  });
});

describe('aggregateUtilization', () => {
  const now = Date.UTC(2026, 0, 1);
  test('sums rates and in-flight, averages percents over members that have them', () => {
    const members: MemberUtilization[] = [
      { httpRps: 20, combinedRps: 20, inflight: 2, cpuPercent: 50, memoryPercent: 25 },
      { httpRps: 20, tcpRps: 1, combinedRps: 21, inflight: 1, cpuPercent: 30 },
      { methodRps: 0.333, combinedRps: 0.333 },
      { cpuPercent: 70, memoryPercent: 35 },
    ];
    expect(aggregateUtilization(members, now)).toEqual({
      combinedRps: 41.33,
      httpRps: 40,
      tcpRps: 1,
      methodRps: 0.33,
      inflight: 3,
      avgCpuPercent: 50,
      avgMemoryPercent: 30,
      sampledAt: '2026-01-01T00:00:00.000Z',
    });
  });

  test('members but no figures yet (first scrape): nothing to report', () => {
    expect(aggregateUtilization([{}, {}], now)).toBeUndefined();
  });

  test.each([
    { name: 'cpu and memory only, no request figures', members: [{ cpuPercent: 40, memoryPercent: 10 }, { cpuPercent: 60 }], want: { avgCpuPercent: 50, avgMemoryPercent: 10, sampledAt: '2026-01-01T00:00:00.000Z' } },
    { name: 'no members: nothing to report', members: [], want: undefined },
    { name: 'members without cpu or memory (no requests, no PodMetrics yet): nothing', members: [{}, {}], want: undefined },
  ])('without spec.metrics (requests: false): $name', ({ members, want }) => {
    expect(aggregateUtilization(members, now, { requests: false })).toEqual(want);
  });

  test('no members: zeros, and no cpu or memory', () => {
    expect(aggregateUtilization([], now)).toEqual({
      combinedRps: 0,
      httpRps: 0,
      tcpRps: 0,
      methodRps: 0,
      inflight: 0,
      sampledAt: '2026-01-01T00:00:00.000Z',
    });
  });
});

describe('utilizationChanged', () => {
  const base: PoolUtilization = {
    combinedRps: 80,
    httpRps: 80,
    tcpRps: 0,
    methodRps: 0,
    inflight: 4,
    avgCpuPercent: 50,
    avgMemoryPercent: 25,
    sampledAt: '2026-01-01T00:00:00.000Z',
  };
  test.each<{ name: string; change: Partial<PoolUtilization> | undefined; changed: boolean }>([
    { name: 'first figures', change: undefined, changed: true },
    { name: 'only sampledAt moved', change: { sampledAt: '2026-01-01T00:01:00.000Z' }, changed: false },
    { name: 'rps within 5%', change: { combinedRps: 83.9, httpRps: 76.1 }, changed: false },
    { name: 'rps beyond 5%', change: { combinedRps: 84.1, httpRps: 84.1 }, changed: true },
    { name: 'small value within 1 unit', change: { inflight: 5 }, changed: false },
    { name: 'small value beyond 1 unit', change: { inflight: 5.01 }, changed: true },
    { name: 'zero to below 1', change: { tcpRps: 0.9 }, changed: false },
    { name: 'zero to above 1', change: { tcpRps: 1.1 }, changed: true },
    { name: 'cpu within 5% relative (2.5 points of 50)', change: { avgCpuPercent: 52.4 }, changed: false },
    { name: 'cpu beyond', change: { avgCpuPercent: 47.4 }, changed: true },
    { name: 'memory figure disappeared', change: { avgMemoryPercent: undefined }, changed: true },
  ])('$name', ({ change, changed }) => {
    const previous = change === undefined ? undefined : base;
    expect(utilizationChanged(previous, { ...base, ...change })).toBe(changed);
  });

  test('a figure appearing counts', () => {
    const { avgCpuPercent: _dropped, ...withoutCpu } = base;
    expect(utilizationChanged(withoutCpu, base)).toBe(true);
  });
});

describe('statusUtilization', () => {
  const shown: PoolUtilization = { combinedRps: 80, httpRps: 80, tcpRps: 0, methodRps: 0, inflight: 4, sampledAt: '2026-01-01T00:00:00.000Z' };
  const later = '2026-01-01T00:00:15.000Z';
  test.each<{ name: string; shown: PoolUtilization | undefined; measured: PoolUtilization | undefined; want: PoolUtilization | undefined }>([
    { name: 'nothing shown, nothing measured', shown: undefined, measured: undefined, want: undefined },
    { name: 'first measurement', shown: undefined, measured: shown, want: shown },
    { name: 'not measured (no spec.metrics, no round yet): status keeps what it shows', shown, measured: undefined, want: shown },
    {
      name: 'a steady load keeps the status as it is (no write for sampledAt or noise)',
      shown,
      measured: { ...shown, combinedRps: 82, httpRps: 82, sampledAt: later },
      want: shown,
    },
    {
      name: 'a figure that moved meaningfully replaces it',
      shown,
      measured: { ...shown, combinedRps: 90, httpRps: 90, sampledAt: later },
      want: { ...shown, combinedRps: 90, httpRps: 90, sampledAt: later },
    },
  ])('$name', ({ shown: before, measured, want }) => {
    expect(statusUtilization(before, measured)).toEqual(want);
  });
});
