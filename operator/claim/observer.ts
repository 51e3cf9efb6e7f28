// What the claim controller reports: claim results and latency by stage, pending claims, a span per pass.
import { observeReconcile, type ClaimResult, type Metrics } from '../metrics/registry.js';
import type { Logger } from 'winston';
import { withSpan } from '../telemetry/tracing.js';

export interface BindTimes {
  queueSeconds: number;
  bindSeconds: number;
  totalSeconds: number;
}

export interface ClaimObserver {
  pass<T>(namespace: string, pool: string, fn: () => Promise<T>): Promise<T>;
  bound(namespace: string, pool: string, t: BindTimes): void;
  ended(namespace: string, pool: string, result: Exclude<ClaimResult, 'bound'>): void;
  recycled(namespace: string, pool: string): void;
  pending(namespace: string, pool: string, count: number): void;
}

export function claimObserver(metrics: Metrics, log: Logger): ClaimObserver {
  return {
    pass: (namespace, pool, fn) =>
      withSpan('claim.reconcile', { 'warmpool.namespace': namespace, 'warmpool.pool': pool }, () =>
        observeReconcile(metrics, 'claim', fn).catch((err: unknown) => {
          log.debug('claim pass failed', { namespace, name: pool, err: String(err) });
          throw err;
        }),
      ),
    bound: (namespace, pool, t) => {
      metrics.claims.inc({ namespace, pool, result: 'bound' });
      metrics.claimDuration.observe({ namespace, pool, stage: 'queue' }, t.queueSeconds);
      metrics.claimDuration.observe({ namespace, pool, stage: 'bind' }, t.bindSeconds);
      metrics.claimDuration.observe({ namespace, pool, stage: 'total' }, t.totalSeconds);
    },
    ended: (namespace, pool, result) => metrics.claims.inc({ namespace, pool, result }),
    recycled: (namespace, pool) => metrics.recycles.inc({ namespace, pool, reason: 'release' }),
    pending: (namespace, pool, count) => metrics.pendingClaims.set({ namespace, pool }, count),
  };
}
