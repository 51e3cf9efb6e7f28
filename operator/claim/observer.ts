// What the claim controller reports: claim results and latency by stage, pending claims, a span per pass and one
// per bind (a child of the pass's span) naming the claim and the member.
import { observeReconcile, type ClaimResult, type Metrics } from '../metrics/registry.js';
import type { Logger } from 'winston';
import { SpanAttributes, withSpan } from '../telemetry/tracing.js';
import { describeError } from '../kube/errors.js';

export interface BindTimes {
  queueSeconds: number;
  bindSeconds: number;
  totalSeconds: number;
}

export interface ClaimObserver {
  pass<T>(namespace: string, pool: string, fn: () => Promise<T>): Promise<T>;
  bind<T>(namespace: string, pool: string, claim: string, member: string, fn: () => Promise<T>): Promise<T>;
  bound(namespace: string, pool: string, t: BindTimes): void;
  ended(namespace: string, pool: string, result: Exclude<ClaimResult, 'bound'>): void;
  recycled(namespace: string, pool: string): void;
  /** Members created cold for a claim (fallback Cold). */
  cold(namespace: string, pool: string, members: number): void;
  pending(namespace: string, pool: string, count: number): void;
  /** A pipelined bind failed for a reason other than a lost race; the claim backs off or fails (BindFailed). */
  failed(namespace: string, pool: string, err: unknown): void;
}

export function claimObserver(metrics: Metrics, log: Logger): ClaimObserver {
  return {
    pass: (namespace, pool, fn) =>
      withSpan('claim.reconcile', { [SpanAttributes.namespace]: namespace, [SpanAttributes.pool]: pool }, () =>
        observeReconcile(metrics, 'claim', fn).catch((err: unknown) => {
          log.debug('claim pass failed', { namespace, name: pool, err: describeError(err) });
          throw err;
        }),
      ),
    bind: (namespace, pool, claim, member, fn) =>
      withSpan(
        'claim.bind',
        {
          [SpanAttributes.namespace]: namespace,
          [SpanAttributes.pool]: pool,
          [SpanAttributes.claim]: claim,
          [SpanAttributes.member]: member,
        },
        fn,
      ),
    bound: (namespace, pool, t) => {
      metrics.claims.inc({ namespace, pool, result: 'bound' });
      metrics.claimDuration.observe({ namespace, pool, stage: 'queue' }, t.queueSeconds);
      metrics.claimDuration.observe({ namespace, pool, stage: 'bind' }, t.bindSeconds);
      metrics.claimDuration.observe({ namespace, pool, stage: 'total' }, t.totalSeconds);
    },
    ended: (namespace, pool, result) => metrics.claims.inc({ namespace, pool, result }),
    recycled: (namespace, pool) => metrics.recycles.inc({ namespace, pool, reason: 'release' }),
    cold: (namespace, pool, members) => metrics.coldMembers.inc({ namespace, pool }, members),
    pending: (namespace, pool, count) => metrics.pendingClaims.set({ namespace, pool }, count),
    failed: (namespace, pool, err) => {
      metrics.reconcileErrors.inc({ controller: 'claim' });
      log.warn('bind failed', { namespace, name: pool, err: describeError(err) });
    },
  };
}
