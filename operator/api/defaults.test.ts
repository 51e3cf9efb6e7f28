import type { ResolvedClaimSpec, ResolvedPoolSpec } from './defaults.js';
import { withClaimDefaults, withPoolDefaults } from './defaults.js';
import type { InstancePoolSpec, PoolClaimSpec } from './types.js';

const template = { spec: { containers: [{ name: 'app', image: 'busybox' }] } };

const resolvedMinimal: ResolvedPoolSpec = {
  template,
  targetSize: 3,
  minSize: 0,
  maxSize: 13,
  lifecycleClass: 'ephemeral',
  warmingTimeoutSeconds: 600,
  readyTTLSeconds: 0,
  paused: false,
  drain: false,
  claimOrder: 'OldestReady',
  claimQueue: { strategy: 'Priority', onFull: 'RejectNewest' },
};

describe('withPoolDefaults', () => {
  test.each<[string, InstancePoolSpec, ResolvedPoolSpec]>([
    ['every default', { template, targetSize: 3 }, resolvedMinimal],
    ['maxSize follows targetSize when unset', { template, targetSize: 0 }, { ...resolvedMinimal, targetSize: 0, maxSize: 10 }],
    ['an explicit maxSize stays', { template, targetSize: 3, maxSize: 4 }, { ...resolvedMinimal, maxSize: 4 }],
    [
      'explicit values stay',
      {
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
      },
      {
        template,
        targetSize: 5,
        minSize: 2,
        maxSize: 15,
        lifecycleClass: 'spot',
        warmingTimeoutSeconds: 2,
        readyTTLSeconds: 60,
        paused: true,
        drain: true,
        claimOrder: 'SpreadNodes',
        claimQueue: { strategy: 'FairShare', maxPending: 7, onFull: 'RejectOldest' },
      },
    ],
    [
      'a partial claim queue',
      { template, targetSize: 3, claimQueue: { maxPending: 2 } },
      { ...resolvedMinimal, claimQueue: { strategy: 'Priority', maxPending: 2, onFull: 'RejectNewest' } },
    ],
    [
      'metrics defaults',
      { template, targetSize: 3, metrics: { port: 9090, httpRequestsCounter: 'http_requests_total' } },
      {
        ...resolvedMinimal,
        metrics: { port: 9090, path: '/metrics', intervalSeconds: 15, via: 'Direct', httpRequestsCounter: 'http_requests_total' },
      },
    ],
    [
      'explicit metrics stay',
      { template, targetSize: 3, metrics: { port: 9090, path: '/m', intervalSeconds: 5, via: 'APIServerProxy' } },
      { ...resolvedMinimal, metrics: { port: 9090, path: '/m', intervalSeconds: 5, via: 'APIServerProxy' } },
    ],
  ])('%s', (_name, spec, expected) => {
    const before = structuredClone(spec);
    expect(withPoolDefaults(spec)).toEqual(expected);
    expect(spec).toEqual(before);
  });
});

describe('withClaimDefaults', () => {
  test.each<[string, PoolClaimSpec, ResolvedClaimSpec]>([
    ['every default', { poolName: 'p' }, { poolName: 'p', reclaimPolicy: 'Delete', priority: 0 }],
    [
      'explicit values stay, timeouts stay unset when unset',
      { poolName: 'p', reclaimPolicy: 'Return', priority: -3, acquiredBy: 'ci' },
      { poolName: 'p', reclaimPolicy: 'Return', priority: -3, acquiredBy: 'ci' },
    ],
    [
      'a zero wait timeout is kept (it means fail at once)',
      { poolName: 'p', waitTimeoutSeconds: 0, ttlSecondsAfterBound: 2 },
      { poolName: 'p', reclaimPolicy: 'Delete', priority: 0, waitTimeoutSeconds: 0, ttlSecondsAfterBound: 2 },
    ],
  ])('%s', (_name, spec, expected) => {
    expect(withClaimDefaults(spec)).toEqual(expected);
  });
});
