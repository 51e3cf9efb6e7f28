import type { ResolvedClaimSpec, ResolvedPoolSpec } from './defaults.js';
import { DRAIN_DEFAULTS, MAX_SIZE_HEADROOM, REUSE_DEFAULTS, POOL_DEFAULTS, QUEUE_DEFAULTS, withClaimDefaults, withPoolDefaults } from './defaults.js';
import type { InstancePoolSpec, PoolClaimSpec } from './types.js';

const template = { spec: { containers: [{ name: 'app', image: 'busybox' }] } };

// What withPoolDefaults must add to a spec that sets only the required fields: the declared defaults, which the
// CRD schema carries too (crds/ holds their values; schema.test.ts checks the two agree).
const resolvedMinimal: ResolvedPoolSpec = {
  template,
  targetSize: 3,
  ...POOL_DEFAULTS,
  maxSize: 3 + MAX_SIZE_HEADROOM,
  claimQueue: QUEUE_DEFAULTS,
  drainPolicy: DRAIN_DEFAULTS,
  reuse: REUSE_DEFAULTS,
};

const explicit = {
  template,
  targetSize: 5,
  minSize: 2,
  lifecycleClass: 'spot',
  warmingTimeoutSeconds: 2,
  readyTTLSeconds: 60,
  paused: true,
  drain: true,
  claimOrder: 'SpreadNodes',
  claimQueue: { strategy: 'FairShare', maxPending: 7, onFull: 'RejectOldest' },
  evictionProtection: false,
  drainPolicy: { deadlineSeconds: 30, onDeadline: 'Release' },
  reuse: { maxReuses: 2, cooldownSeconds: 3, requireReset: true },
} as const satisfies InstancePoolSpec;

describe('withPoolDefaults', () => {
  test.each<{ name: string; spec: InstancePoolSpec; want: ResolvedPoolSpec }>([
    { name: 'every default', spec: { template, targetSize: 3 }, want: resolvedMinimal },
    { name: 'maxSize follows targetSize when unset', spec: { template, targetSize: 0 }, want: { ...resolvedMinimal, targetSize: 0, maxSize: 10 } },
    { name: 'an explicit maxSize stays', spec: { template, targetSize: 3, maxSize: 4 }, want: { ...resolvedMinimal, maxSize: 4 } },
    { name: 'explicit values stay', spec: explicit, want: { ...explicit, maxSize: 15 } },
    {
      name: 'a partial claim queue',
      spec: { template, targetSize: 3, claimQueue: { maxPending: 2 } },
      want: { ...resolvedMinimal, claimQueue: { strategy: 'Priority', maxPending: 2, onFull: 'RejectNewest' } },
    },
    {
      name: 'a drain deadline without onDeadline waits',
      spec: { template, targetSize: 3, drainPolicy: { deadlineSeconds: 5 } },
      want: { ...resolvedMinimal, drainPolicy: { deadlineSeconds: 5, onDeadline: 'Wait' } },
    },
    {
      name: 'autoscaling defaults, each schedule window in UTC unless it says',
      spec: {
        template,
        targetSize: 3,
        autoscaling: {
          mode: 'Objective',
          maxWaitProbability: 0.01,
          schedule: [
            { start: '0 9 * * 1-5', durationSeconds: 3600, minSize: 5 },
            { start: '0 9 * * 1-5', durationSeconds: 3600, minSize: 5, timeZone: 'Europe/Paris' },
          ],
        },
      },
      want: {
        ...resolvedMinimal,
        autoscaling: {
          mode: 'Objective',
          maxWaitProbability: 0.01,
          rateWindowSeconds: 60,
          scaleDownStabilizationSeconds: 300,
          schedule: [
            { start: '0 9 * * 1-5', durationSeconds: 3600, minSize: 5, timeZone: 'UTC' },
            { start: '0 9 * * 1-5', durationSeconds: 3600, minSize: 5, timeZone: 'Europe/Paris' },
          ],
        },
      },
    },
    {
      name: 'metrics defaults',
      spec: { template, targetSize: 3, metrics: { port: 9090, httpRequestsCounter: 'http_requests_total' } },
      want: {
        ...resolvedMinimal,
        metrics: { port: 9090, path: '/metrics', intervalSeconds: 15, via: 'Direct', httpRequestsCounter: 'http_requests_total' },
      },
    },
    {
      name: 'explicit metrics stay',
      spec: { template, targetSize: 3, metrics: { port: 9090, path: '/m', intervalSeconds: 5, via: 'APIServerProxy' } },
      want: { ...resolvedMinimal, metrics: { port: 9090, path: '/m', intervalSeconds: 5, via: 'APIServerProxy' } },
    },
  ])('$name', ({ spec, want }) => {
    const before = structuredClone(spec);
    expect(withPoolDefaults(spec)).toEqual(want);
    expect(spec).toEqual(before);
  });
});

describe('withClaimDefaults', () => {
  test.each<{ name: string; spec: PoolClaimSpec; want: ResolvedClaimSpec }>([
    { name: 'every default', spec: { poolName: 'p' }, want: { poolName: 'p', reclaimPolicy: 'Delete', priority: 0, count: 1, fallback: 'None' } },
    {
      name: 'explicit values stay, timeouts stay unset when unset',
      spec: { poolName: 'p', reclaimPolicy: 'Return', priority: -3, acquiredBy: 'ci' },
      want: { poolName: 'p', reclaimPolicy: 'Return', priority: -3, acquiredBy: 'ci', count: 1, fallback: 'None' },
    },
    {
      name: 'a zero wait timeout is kept (it means fail at once)',
      spec: { poolName: 'p', waitTimeoutSeconds: 0, ttlSecondsAfterBound: 2 },
      want: { poolName: 'p', reclaimPolicy: 'Delete', priority: 0, waitTimeoutSeconds: 0, ttlSecondsAfterBound: 2, count: 1, fallback: 'None' },
    },
    { name: 'an explicit count and fallback stay (issue 21)', spec: { poolName: 'p', count: 3, fallback: 'Cold' }, want: { poolName: 'p', reclaimPolicy: 'Delete', priority: 0, count: 3, fallback: 'Cold' } },
  ])('$name', ({ spec, want }) => {
    expect(withClaimDefaults(spec)).toEqual(want);
  });
});
