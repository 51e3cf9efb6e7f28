import { register as globalRegistry } from 'prom-client';
import type { Metrics } from './registry.js';
import { DURATION_BUCKETS, createMetrics, observeReconcile, onApiRequest, queueHooks, recycleReason } from './registry.js';

const pool = { namespace: 'ns', pool: 'web' };
const other = { namespace: 'ns', pool: 'batch' };

/** The sample lines of the exposition (no comments), for exact assertions. */
async function samples(metrics: Metrics, prefix = 'warmpool_'): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

async function value(metrics: Metrics, series: string): Promise<number | undefined> {
  const line = (await samples(metrics)).find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  test('its own registry with default process metrics; the global registry stays empty', async () => {
    const metrics = createMetrics();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Gauges with a counter's suffix fail `promtool check metrics`; they are left out.
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    expect(await globalRegistry.metrics()).not.toContain('warmpool_');
    // A second set does not collide with the first.
    expect(() => createMetrics({ defaultMetrics: false })).not.toThrow();
  });

  test('every metric of issue 12, named by the Prometheus conventions', () => {
    const metrics = createMetrics({ defaultMetrics: false, perMemberUtilization: true });
    const described = metrics.registry
      .getMetricsAsArray()
      .map((m) => `${m.type} ${m.name} ${(m as unknown as { labelNames: string[] }).labelNames.join(',')}`);
    expect(described.sort()).toEqual(
      [
        'counter warmpool_api_requests_total verb,code',
        'counter warmpool_claim_cold_members_total namespace,pool',
        'counter warmpool_claims_total namespace,pool,result',
        'counter warmpool_member_recycles_total namespace,pool,reason',
        'counter warmpool_member_scrape_errors_total namespace,pool,member',
        'counter warmpool_pool_ready_member_seconds_total namespace,pool',
        'counter warmpool_reconcile_errors_total controller',
        'counter warmpool_reconcile_total controller',
        'counter warmpool_workqueue_adds_total name',
        'counter warmpool_workqueue_retries_total name',
        'gauge warmpool_autoscale_claim_rate namespace,pool',
        'gauge warmpool_autoscale_predicted_wait_probability namespace,pool',
        'gauge warmpool_autoscale_target_size namespace,pool',
        'gauge warmpool_leader ',
        'gauge warmpool_member_cpu_utilization_ratio namespace,pool,member',
        'gauge warmpool_member_inflight_requests namespace,pool,member',
        'gauge warmpool_member_memory_utilization_ratio namespace,pool,member',
        'gauge warmpool_member_requests_per_second namespace,pool,member,protocol',
        'gauge warmpool_pool_cpu_utilization_ratio namespace,pool',
        'gauge warmpool_pool_inflight_requests namespace,pool',
        'gauge warmpool_pool_members namespace,pool,state',
        'gauge warmpool_pool_memory_utilization_ratio namespace,pool',
        'gauge warmpool_pool_pending_claims namespace,pool',
        'gauge warmpool_pool_requests_per_second namespace,pool,protocol',
        'gauge warmpool_pool_seconds_since_ready namespace,pool',
        'gauge warmpool_pool_target_size namespace,pool',
        'gauge warmpool_workqueue_depth name',
        'histogram warmpool_claim_duration_seconds namespace,pool,stage',
        'histogram warmpool_member_warmup_seconds namespace,pool',
        'histogram warmpool_reconcile_duration_seconds controller',
        'histogram warmpool_workqueue_queue_duration_seconds name',
        'histogram warmpool_workqueue_work_duration_seconds name',
      ].sort(),
    );
    expect(DURATION_BUCKETS[0]).toBe(0.001);
    expect(DURATION_BUCKETS.at(-1)).toBe(600);
  });

  test('after 10 claims the counter reads 10 and the latency histogram has 10 observations', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 10; i++) {
      metrics.claims.inc({ ...pool, result: 'bound' });
      metrics.claimDuration.observe({ ...pool, stage: 'total' }, 0.05 * i);
    }
    expect(await value(metrics, 'warmpool_claims_total{namespace="ns",pool="web",result="bound"}')).toBe(10);
    expect(await value(metrics, 'warmpool_claim_duration_seconds_count{namespace="ns",pool="web",stage="total"}')).toBe(10);
    expect(await value(metrics, 'warmpool_claim_duration_seconds_bucket{le="0.1",namespace="ns",pool="web",stage="total"}')).toBe(3);
  });

  test('forgetPool removes every series of that pool and only of that pool', async () => {
    const metrics = createMetrics({ defaultMetrics: false, perMemberUtilization: true });
    for (const labels of [pool, other]) {
      metrics.poolMembers.set({ ...labels, state: 'ready' }, 3);
      metrics.poolTargetSize.set(labels, 5);
      metrics.claims.inc({ ...labels, result: 'rejected' });
      metrics.claimDuration.observe({ ...labels, stage: 'queue' }, 1);
      metrics.memberWarmup.observe(labels, 12);
      metrics.recycles.inc({ ...labels, reason: 'ttl' });
      metrics.readiness.report(labels, 1, 0);
      metrics.scrapeErrors.inc({ ...labels, member: 'm-1' });
      metrics.memberUtilization?.rps.set({ ...labels, member: 'm-1', protocol: 'http' }, 1);
      metrics.memberUtilization?.cpu.set({ ...labels, member: 'm-1' }, 0.1);
    }
    metrics.reconciles.inc({ controller: 'pool' });
    await metrics.forgetPool('ns', 'web');
    const left = await samples(metrics);
    expect(left.filter((l) => l.includes('pool="web"'))).toEqual([]);
    expect(left.filter((l) => l.includes('pool="batch"')).length).toBeGreaterThan(10);
    expect(left).toContain('warmpool_reconcile_total{controller="pool"} 1');
  });

  test('forgetMember removes the per-member series of one member', async () => {
    const metrics = createMetrics({ defaultMetrics: false, perMemberUtilization: true });
    for (const member of ['m-1', 'm-2']) {
      metrics.scrapeErrors.inc({ ...pool, member });
      metrics.memberUtilization?.rps.set({ ...pool, member, protocol: 'http' }, 1);
      metrics.memberUtilization?.inflight.set({ ...pool, member }, 2);
      metrics.memberUtilization?.memory.set({ ...pool, member }, 0.1);
    }
    metrics.poolTargetSize.set(pool, 2);
    metrics.forgetMember('ns', 'web', 'm-1');
    const left = await samples(metrics);
    expect(left.filter((l) => l.includes('member="m-1"'))).toEqual([]);
    expect(left.filter((l) => l.includes('member="m-2"'))).toHaveLength(4);
    expect(left).toContain('warmpool_pool_target_size{namespace="ns",pool="web"} 2');
  });

  test('seconds since ready: 0 while ready, counting from the pass that saw the count drop to zero', async () => {
    let now = 1_000_000;
    const metrics = createMetrics({ defaultMetrics: false, now: () => now });
    const series = 'warmpool_pool_seconds_since_ready{namespace="ns",pool="web"}';
    metrics.readiness.report(pool, 2, now);
    now += 3_600_000;
    expect(await value(metrics, series)).toBe(0);
    metrics.readiness.report(pool, 0, now);
    now += 30_000;
    metrics.readiness.report(pool, 0, now);
    now += 15_000;
    expect(await value(metrics, series)).toBe(45);
    metrics.readiness.report(pool, 1, now);
    expect(await value(metrics, series)).toBe(0);
    // A pool never seen with a ready member counts from its first report.
    metrics.readiness.report(other, 0, now);
    now += 5_000;
    expect(await value(metrics, 'warmpool_pool_seconds_since_ready{namespace="ns",pool="batch"}')).toBe(5);
  });

  test('idle cost: the ready count times the time it held, counted up to each scrape', async () => {
    let now = 1_000_000;
    const metrics = createMetrics({ defaultMetrics: false, now: () => now });
    const series = 'warmpool_pool_ready_member_seconds_total{namespace="ns",pool="web"}';
    metrics.readiness.report(pool, 3, now);
    now += 10_000;
    // No pass since: the scrape brings it up to date (3 members x 10 s).
    expect(await value(metrics, series)).toBe(30);
    now += 5_000;
    metrics.readiness.report(pool, 1, now);
    now += 20_000;
    metrics.readiness.report(pool, 0, now);
    now += 60_000;
    // 30 + 3 x 5 + 1 x 20; nothing while none is ready.
    expect(await value(metrics, series)).toBe(65);
    // A report with an older timestamp than the last scrape adds nothing twice.
    metrics.readiness.report(pool, 2, now - 1_000);
    expect(await value(metrics, series)).toBe(65);
    now += 1_000;
    expect(await value(metrics, series)).toBe(67);
    await metrics.forgetPool('ns', 'web');
    expect(await value(metrics, series)).toBeUndefined();
  });

  test('queueHooks, observeReconcile and onApiRequest feed their metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const hooks = queueHooks(metrics);
    hooks.onAdd('pools');
    hooks.onAdd('pools');
    hooks.onDepth('pools', 7);
    hooks.onLatency('pools', 0.02);
    hooks.onWorkDuration('pools', 0.3);
    hooks.onRetry('pools');
    await observeReconcile(metrics, 'pool', async () => 'ok');
    await expect(observeReconcile(metrics, 'pool', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    onApiRequest(metrics)('patch', 409);
    onApiRequest(metrics)('list', 0);
    metrics.leader.set(1);
    const lines = await samples(metrics);
    expect(lines).toEqual(
      expect.arrayContaining([
        'warmpool_workqueue_adds_total{name="pools"} 2',
        'warmpool_workqueue_depth{name="pools"} 7',
        'warmpool_workqueue_queue_duration_seconds_count{name="pools"} 1',
        'warmpool_workqueue_work_duration_seconds_sum{name="pools"} 0.3',
        'warmpool_workqueue_retries_total{name="pools"} 1',
        'warmpool_reconcile_total{controller="pool"} 2',
        'warmpool_reconcile_errors_total{controller="pool"} 1',
        'warmpool_reconcile_duration_seconds_count{controller="pool"} 2',
        'warmpool_api_requests_total{verb="patch",code="409"} 1',
        'warmpool_api_requests_total{verb="list",code="error"} 1',
        'warmpool_leader 1',
      ]),
    );
  });

  test('recycleReason maps the planner reasons to label values', () => {
    expect(recycleReason('template-drift')).toBe('template_drift');
    expect(recycleReason('warming-timeout')).toBe('warming_timeout');
    expect(recycleReason('scale-down')).toBe('scale_down');
    expect(recycleReason('pool-deleting')).toBeUndefined();
  });
});
