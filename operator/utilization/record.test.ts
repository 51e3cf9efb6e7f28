import { createMetrics, type Metrics } from '../metrics/registry.js';
import { dropPoolUtilization, recordMemberUtilization, recordPoolUtilization } from './record.js';

const pool = { namespace: 'ns', pool: 'web' };

/** The sample lines of the exposition (no comments), for exact assertions. */
async function samples(metrics: Metrics, prefix = 'warmpool_'): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('utilization series', () => {
  test('per-member utilization only when enabled', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(metrics.memberUtilization).toBeUndefined();
    recordMemberUtilization(metrics, { ...pool, member: 'm-1' }, { httpRps: 3 });
    expect((await samples(metrics)).filter((l) => l.startsWith('warmpool_member_'))).toEqual([]);
  });

  test('pool utilization: rps by protocol, in-flight, cpu and memory as ratios; absent figures drop their series', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const utilization = {
      combinedRps: 80,
      httpRps: 75,
      tcpRps: 5,
      methodRps: 0,
      inflight: 4,
      avgCpuPercent: 50,
      avgMemoryPercent: 25,
      sampledAt: '2026-01-01T00:00:00Z',
    };
    recordPoolUtilization(metrics, pool, utilization);
    expect(await samples(metrics)).toEqual([
      'warmpool_leader 0',
      'warmpool_pool_requests_per_second{namespace="ns",pool="web",protocol="http"} 75',
      'warmpool_pool_requests_per_second{namespace="ns",pool="web",protocol="tcp"} 5',
      'warmpool_pool_requests_per_second{namespace="ns",pool="web",protocol="method"} 0',
      'warmpool_pool_requests_per_second{namespace="ns",pool="web",protocol="combined"} 80',
      'warmpool_pool_inflight_requests{namespace="ns",pool="web"} 4',
      'warmpool_pool_cpu_utilization_ratio{namespace="ns",pool="web"} 0.5',
      'warmpool_pool_memory_utilization_ratio{namespace="ns",pool="web"} 0.25',
    ]);
    recordPoolUtilization(metrics, pool, { ...utilization, avgCpuPercent: undefined });
    expect((await samples(metrics)).some((l) => l.startsWith('warmpool_pool_cpu'))).toBe(false);
    dropPoolUtilization(metrics, pool);
    expect(await samples(metrics)).toEqual(['warmpool_leader 0']);
  });
});
