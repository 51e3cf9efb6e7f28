import type { V1Pod } from '@kubernetes/client-node';
import type { PoolUtilization } from '../api/types.js';
import type { EndpointSample, MemberUtilization } from './utilization.js';
import {
  aggregateUtilization,
  counterRate,
  memberRates,
  parsePodMetricsList,
  podCapacity,
  usagePercent,
  utilizationChanged,
} from './utilization.js';

describe('counterRate', () => {
  test.each([
    ['steady growth', 100, 400, 15, 20],
    ['no change', 50, 50, 10, 0],
    ['counter reset: the new value is the increase', 1000, 30, 15, 2],
    ['reset to zero', 1000, 0, 15, 0],
    ['first sample gives no rate', undefined, 400, 15, undefined],
    ['counter missing now', 100, undefined, 15, undefined],
    ['no time between samples', 100, 200, 0, undefined],
    ['clock went backwards', 100, 200, -1, undefined],
  ])('%s', (_name, previous, current, seconds, expected) => {
    expect(counterRate(previous, current, seconds)).toBe(expected);
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
  test.each<[string, Partial<PoolUtilization> | undefined, boolean]>([
    ['first figures', undefined, true],
    ['only sampledAt moved', { sampledAt: '2026-01-01T00:01:00.000Z' }, false],
    ['rps within 5%', { combinedRps: 83.9, httpRps: 76.1 }, false],
    ['rps beyond 5%', { combinedRps: 84.1, httpRps: 84.1 }, true],
    ['small value within 1 unit', { inflight: 5 }, false],
    ['small value beyond 1 unit', { inflight: 5.01 }, true],
    ['zero to below 1', { tcpRps: 0.9 }, false],
    ['zero to above 1', { tcpRps: 1.1 }, true],
    ['cpu within 5% relative (2.5 points of 50)', { avgCpuPercent: 52.4 }, false],
    ['cpu beyond', { avgCpuPercent: 47.4 }, true],
    ['memory figure disappeared', { avgMemoryPercent: undefined }, true],
  ])('%s', (_name, change, expected) => {
    const previous = change === undefined ? undefined : base;
    expect(utilizationChanged(previous, { ...base, ...change })).toBe(expected);
  });

  test('a figure appearing counts', () => {
    const { avgCpuPercent: _dropped, ...withoutCpu } = base;
    expect(utilizationChanged(withoutCpu, base)).toBe(true);
  });
});
