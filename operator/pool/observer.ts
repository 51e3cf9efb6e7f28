// What the pool controller reports about its passes: metrics, a span per reconcile, and a log line per error.
// Kept apart from the controller so the controller reads as observe -> plan -> act.
import type { InstancePool, InstancePoolStatus } from '../api/types.js';
import { observeReconcile, recycleReason, type Metrics } from '../metrics/registry.js';
import type { Logger } from 'winston';
import { SpanAttributes, withSpan } from '../telemetry/tracing.js';
import { describeError } from '../kube/errors.js';
import type { DeleteReason } from './model.js';

export interface PoolObserver {
  reconcile<T>(pool: InstancePool, fn: () => Promise<T>): Promise<T>;
  warmedUp(pool: InstancePool, seconds: number): void;
  recycled(pool: InstancePool, reason: DeleteReason): void;
  status(pool: InstancePool, status: InstancePoolStatus): void;
  forget(namespace: string, name: string): void;
}

const labels = (pool: InstancePool): { namespace: string; pool: string } => ({
  namespace: pool.metadata.namespace ?? '',
  pool: pool.metadata.name ?? '',
});

export function poolObserver(metrics: Metrics, log: Logger): PoolObserver {
  return {
    reconcile: (pool, fn) =>
      withSpan('pool.reconcile', { [SpanAttributes.namespace]: pool.metadata.namespace ?? '', [SpanAttributes.pool]: pool.metadata.name ?? '' }, () =>
        observeReconcile(metrics, 'pool', fn).catch((err: unknown) => {
          log.warn('reconcile failed', { namespace: pool.metadata.namespace, name: pool.metadata.name, err: describeError(err) });
          throw err;
        }),
      ),
    warmedUp: (pool, seconds) => metrics.memberWarmup.observe(labels(pool), Math.max(0, seconds)),
    recycled: (pool, reason) => {
      const r = recycleReason(reason);
      if (r) metrics.recycles.inc({ ...labels(pool), reason: r });
    },
    status: (pool, s) => {
      const l = labels(pool);
      metrics.poolMembers.set({ ...l, state: 'warming' }, s.warmingCount ?? 0);
      metrics.poolMembers.set({ ...l, state: 'ready' }, s.readyCount ?? 0);
      metrics.poolMembers.set({ ...l, state: 'claimed' }, s.claimedCount ?? 0);
      metrics.poolMembers.set({ ...l, state: 'errored' }, s.erroredCount ?? 0);
      metrics.poolTargetSize.set(l, s.targetSize ?? 0);
      metrics.readiness.report(l, s.readyCount ?? 0, Date.now());
    },
    forget: (namespace, name) => void metrics.forgetPool(namespace, name),
  };
}
