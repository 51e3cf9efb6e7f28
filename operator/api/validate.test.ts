import type { FieldError } from './validate.js';
import { reservedLabelWarnings, validateClaim, validatePool } from './validate.js';
import type { InstancePool, PoolClaim } from './types.js';

type Json = Record<string, unknown>;

const validPool = {
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'runners', namespace: 'ci', uid: 'u-1', generation: 3, labels: { team: 'ci' } },
  spec: {
    template: {
      metadata: { labels: { app: 'runner' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
      spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '500m' } } }], nodeSelector: { zone: 'a' } },
    },
    targetSize: 3,
    minSize: 0,
    lifecycleClass: 'ephemeral',
    claimQueue: { strategy: 'Priority', onFull: 'RejectNewest' },
    metrics: { port: 9090, httpRequestsCounter: 'http_requests_total' },
  },
};

const validClaim = {
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'PoolClaim',
  metadata: { name: 'job-1', namespace: 'ci' },
  spec: { poolName: 'runners', acquiredBy: 'ci', reclaimPolicy: 'Delete', priority: 0, count: 1, fallback: 'None' },
};

/** validPool with spec fields replaced (undefined deletes). */
function poolWith(spec: Json, root: Json = {}): Json {
  return { ...validPool, ...root, spec: { ...validPool.spec, ...spec } };
}

function templateWith(spec: Json, metadata: Json = validPool.spec.template.metadata): Json {
  return { metadata, spec: { ...validPool.spec.template.spec, ...spec } };
}

function claimWith(spec: Json, root: Json = {}): Json {
  return { ...validClaim, ...root, spec: { ...validClaim.spec, ...spec } };
}

function errorsOf(result: { ok: true } | { ok: false; errors: FieldError[] }): FieldError[] {
  return result.ok ? [] : result.errors;
}

describe('validatePool', () => {
  test('accepts a valid pool, with the defaults of the schema', () => {
    expect(validatePool(validPool)).toEqual({
      ok: true,
      pool: {
        ...validPool,
        spec: {
          ...validPool.spec,
          warmingTimeoutSeconds: 600,
          readyTTLSeconds: 0,
          claimOrder: 'OldestReady',
          evictionProtection: true,
          drainPolicy: { onDeadline: 'Wait' },
          reuse: { cooldownSeconds: 0, requireReset: false },
          metrics: { port: 9090, httpRequestsCounter: 'http_requests_total', path: '/metrics', intervalSeconds: 15, via: 'Direct' },
        },
      },
    });
  });

  test.each<[string, unknown, FieldError[]]>([
    ['not an object', 'pool', [{ field: '', message: 'must be of type object' }]],
    ['null', null, [{ field: '', message: 'must be of type object' }]],
    [
      'wrong apiVersion and kind',
      { ...validPool, apiVersion: 'v1', kind: 'Pod' },
      [
        { field: 'apiVersion', message: 'Unsupported value: "v1": supported values: "warmpool.dev/v1alpha1"' },
        { field: 'kind', message: 'Unsupported value: "Pod": supported values: "InstancePool"' },
      ],
    ],
    ['no metadata', { ...validPool, metadata: undefined }, [{ field: 'metadata', message: 'Required value' }]],
    ['no name', { ...validPool, metadata: { namespace: 'ci' } }, [{ field: 'metadata.name', message: 'Required value' }]],
    [
      'a name too long for a label value',
      { ...validPool, metadata: { name: 'p'.repeat(64) } },
      [{ field: 'metadata.name', message: 'may not be more than 63 characters' }],
    ],
    ['no spec', { ...validPool, spec: undefined }, [{ field: 'spec', message: 'Required value' }]],
    ['spec not an object', { ...validPool, spec: [] }, [{ field: 'spec', message: 'must be of type object' }]],
    [
      'no template, no targetSize',
      poolWith({ template: undefined, targetSize: undefined }),
      [
        { field: 'spec.template', message: 'Required value' },
        { field: 'spec.targetSize', message: 'Required value' },
      ],
    ],
    ['a template without a pod spec', poolWith({ template: { metadata: {} } }), [{ field: 'spec.template.spec', message: 'Required value' }]],
    [
      'a template without containers',
      poolWith({ template: templateWith({ containers: undefined }) }),
      [{ field: 'spec.template.spec.containers', message: 'Required value' }],
    ],
    [
      'a template with an empty container list',
      poolWith({ template: templateWith({ containers: [] }) }),
      [{ field: 'spec.template.spec.containers', message: 'must have at least 1 item(s)' }],
    ],
    [
      'a container without a name',
      poolWith({ template: templateWith({ containers: [{ image: 'busybox' }] }) }),
      [{ field: 'spec.template.spec.containers[0].name', message: 'Required value' }],
    ],
    [
      'a container name that is not a DNS label',
      poolWith({ template: templateWith({ containers: [{ name: 'App_1' }] }) }),
      [{ field: 'spec.template.spec.containers[0].name', message: "must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'" }],
    ],
    [
      'two containers with one name',
      poolWith({ template: templateWith({ containers: [{ name: 'a' }, { name: 'a' }] }) }),
      [{ field: 'spec.template.spec.containers[1]', message: 'Duplicate value: {"name":"a"}' }],
    ],
    [
      'a label value that is not a string',
      poolWith({ template: templateWith({}, { labels: { replicas: 3 } }) }),
      [{ field: 'spec.template.metadata.labels["replicas"]', message: 'must be of type string' }],
    ],
    ['a negative targetSize', poolWith({ targetSize: -1 }), [{ field: 'spec.targetSize', message: 'must be greater than or equal to 0' }]],
    ['a fractional targetSize', poolWith({ targetSize: 1.5 }), [{ field: 'spec.targetSize', message: 'must be of type integer' }]],
    ['a string targetSize', poolWith({ targetSize: '3' }), [{ field: 'spec.targetSize', message: 'must be of type integer' }]],
    [
      'a targetSize beyond int32',
      poolWith({ targetSize: 2 ** 31 }),
      [
        { field: 'spec.targetSize', message: 'must be less than or equal to 100000' },
        { field: 'spec.targetSize', message: 'must fit in a 32-bit integer' },
      ],
    ],
    [
      'sizes above 100000',
      poolWith({ targetSize: 100_001, minSize: 100_001, maxSize: 100_001 }),
      [
        { field: 'spec.targetSize', message: 'must be less than or equal to 100000' },
        { field: 'spec.minSize', message: 'must be less than or equal to 100000' },
        { field: 'spec.maxSize', message: 'must be less than or equal to 100000' },
      ],
    ],
    [
      'timeouts and TTLs above a year',
      poolWith({ warmingTimeoutSeconds: 31_536_001, readyTTLSeconds: 31_536_001 }),
      [
        { field: 'spec.warmingTimeoutSeconds', message: 'must be less than or equal to 31536000' },
        { field: 'spec.readyTTLSeconds', message: 'must be less than or equal to 31536000' },
      ],
    ],
    [
      'a maxPending above 100000',
      poolWith({ claimQueue: { maxPending: 100_001 } }),
      [{ field: 'spec.claimQueue.maxPending', message: 'must be less than or equal to 100000' }],
    ],
    [
      'a template label warmpool.dev/claim',
      poolWith({ template: templateWith({}, { labels: { app: 'a', 'warmpool.dev/claim': 'c' } }) }),
      [{ field: 'spec.template.metadata.labels', message: 'warmpool.dev/claim: keys with the prefix warmpool.dev/ are reserved for the operator' }],
    ],
    [
      'template annotations warmpool.dev/claim-uid and warmpool.dev/anything',
      poolWith({ template: templateWith({}, { annotations: { 'warmpool.dev/claim-uid': 'u', note: 'x', 'warmpool.dev/anything': '' } }) }),
      [
        {
          field: 'spec.template.metadata.annotations',
          message: 'warmpool.dev/claim-uid: keys with the prefix warmpool.dev/ are reserved for the operator',
        },
      ],
    ],
    [
      'more than 256 template labels',
      poolWith({ template: templateWith({}, { labels: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'])) }) }),
      [{ field: 'spec.template.metadata.labels', message: 'must have at most 256 properties' }],
    ],
    ['minSize above targetSize', poolWith({ minSize: 4 }), [{ field: 'spec.targetSize', message: 'targetSize must be at least minSize' }]],
    ['targetSize above maxSize', poolWith({ maxSize: 2 }), [{ field: 'spec.targetSize', message: 'targetSize must be at most maxSize' }]],
    ['a negative maxSize', poolWith({ maxSize: -1 }), [{ field: 'spec.maxSize', message: 'must be greater than or equal to 0' }]],
    [
      'an unknown lifecycleClass',
      poolWith({ lifecycleClass: 'preemptible' }),
      [{ field: 'spec.lifecycleClass', message: 'Unsupported value: "preemptible": supported values: "ephemeral", "spot"' }],
    ],
    [
      'an unknown claimOrder',
      poolWith({ claimOrder: 'Random' }),
      [
        {
          field: 'spec.claimOrder',
          message: 'Unsupported value: "Random": supported values: "OldestReady", "NewestReady", "PackNodes", "SpreadNodes"',
        },
      ],
    ],
    ['a zero warmingTimeoutSeconds', poolWith({ warmingTimeoutSeconds: 0 }), [{ field: 'spec.warmingTimeoutSeconds', message: 'must be greater than or equal to 1' }]],
    ['a negative readyTTLSeconds', poolWith({ readyTTLSeconds: -5 }), [{ field: 'spec.readyTTLSeconds', message: 'must be greater than or equal to 0' }]],
    ['paused as a string', poolWith({ paused: 'yes' }), [{ field: 'spec.paused', message: 'must be of type boolean' }]],
    [
      'a bad claim queue',
      poolWith({ claimQueue: { strategy: 'LIFO', maxPending: -1, onFull: 'Drop' } }),
      [
        { field: 'spec.claimQueue.strategy', message: 'Unsupported value: "LIFO": supported values: "Priority", "FIFO", "FairShare"' },
        { field: 'spec.claimQueue.maxPending', message: 'must be greater than or equal to 0' },
        { field: 'spec.claimQueue.onFull', message: 'Unsupported value: "Drop": supported values: "RejectNewest", "RejectOldest"' },
      ],
    ],
    ['metrics without a port', poolWith({ metrics: { path: '/metrics' } }), [{ field: 'spec.metrics.port', message: 'Required value' }]],
    [
      'bad metrics',
      poolWith({ metrics: { port: 70000, path: 'metrics', intervalSeconds: 0, via: 'Proxy', inflightGauge: 'in-flight' } }),
      [
        { field: 'spec.metrics.port', message: 'must be less than or equal to 65535' },
        { field: 'spec.metrics.path', message: "must match '^/'" },
        { field: 'spec.metrics.intervalSeconds', message: 'must be greater than or equal to 1' },
        { field: 'spec.metrics.via', message: 'Unsupported value: "Proxy": supported values: "Direct", "APIServerProxy"' },
        { field: 'spec.metrics.inflightGauge', message: "must match '^[a-zA-Z_:][a-zA-Z0-9_:]*$'" },
      ],
    ],
    [
      'a metrics interval above an hour, a counter name above 256 characters',
      poolWith({ metrics: { port: 9090, intervalSeconds: 3601, httpRequestsCounter: 'c'.repeat(257) } }),
      [
        { field: 'spec.metrics.intervalSeconds', message: 'must be less than or equal to 3600' },
        { field: 'spec.metrics.httpRequestsCounter', message: 'may not be more than 256 characters' },
      ],
    ],
    ['a metrics path of 1025 characters', poolWith({ metrics: { port: 9090, path: `/${'a'.repeat(1024)}` } }), [
      { field: 'spec.metrics.path', message: 'may not be more than 1024 characters' },
    ]],
    ...[
      '/../../../../kube-system/pods/x:9100/proxy/metrics',
      '/..',
      '/a/./b',
      '/a/.',
      '/./metrics',
      '/a/../../b',
    ].map((path): [string, Json, FieldError[]] => [
      `the metrics path ${path}`,
      poolWith({ metrics: { port: 9090, path } }),
      [{ field: 'spec.metrics.path', message: 'may not contain a . or .. segment' }],
    ]),
    ...['/%2e%2e/kube-system', '/%2E%2E/x', '/a/%2e/b', '/.%2e/x', '/%2e'].map((path): [string, Json, FieldError[]] => [
      `the metrics path ${path}`,
      poolWith({ metrics: { port: 9090, path } }),
      [{ field: 'spec.metrics.path', message: 'may not contain a percent-encoded dot (%2e)' }],
    ]),
    ...['/metrics?x', '/metrics#x', '/?', '/a\\..\\b', '/a\\b'].map((path): [string, Json, FieldError[]] => [
      `the metrics path ${path}`,
      poolWith({ metrics: { port: 9090, path } }),
      [{ field: 'spec.metrics.path', message: 'may not contain ?, # or a backslash (a path only: no query, no fragment)' }],
    ]),
  ])('refuses %s', (_name, input, errors) => {
    expect(errorsOf(validatePool(input))).toEqual(errors);
  });

  test.each<[string, Json, (pool: InstancePool) => unknown, unknown]>([
    ['maxSize may be unset with any targetSize', poolWith({ targetSize: 500 }), (p) => p.spec.maxSize, undefined],
    ['minSize may equal targetSize', poolWith({ minSize: 3 }), (p) => p.spec.minSize, 3],
    ['targetSize may equal maxSize', poolWith({ maxSize: 3 }), (p) => p.spec.maxSize, 3],
    ['unknown spec fields are dropped', poolWith({ replicas: 3 }), (p) => 'replicas' in p.spec, false],
    ['a null is dropped', poolWith({ maxSize: null }), (p) => 'maxSize' in p.spec, false],
    ['a null with a default is defaulted', poolWith({ claimQueue: null }), (p) => p.spec.claimQueue, { strategy: 'Priority', onFull: 'RejectNewest' }],
    ['an absent claimQueue is defaulted', poolWith({ claimQueue: undefined }), (p) => p.spec.claimQueue, { strategy: 'Priority', onFull: 'RejectNewest' }],
    ['a partial claimQueue is defaulted', poolWith({ claimQueue: { maxPending: 4 } }), (p) => p.spec.claimQueue, { maxPending: 4, strategy: 'Priority', onFull: 'RejectNewest' }],
    [
      'the largest sizes and 30-day timeouts',
      poolWith({ targetSize: 100_000, maxSize: 100_000, minSize: 100_000, warmingTimeoutSeconds: 2_592_000, readyTTLSeconds: 31_536_000 }),
      (p) => [p.spec.targetSize, p.spec.warmingTimeoutSeconds, p.spec.readyTTLSeconds],
      [100_000, 2_592_000, 31_536_000],
    ],
    [
      'subdomains of warmpool.dev are ordinary keys',
      poolWith({ template: templateWith({}, { labels: { 'team.warmpool.dev/x': 'a', warmpool: 'b' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } }) }),
      (p) => p.spec.template.metadata?.annotations,
      { 'sim.warmpool.dev/ready-after': '1s' },
    ],
    ...['/metrics', '/metrics;x', '/a%2Fb', '/a..b/.x/x./...', '/stats/prometheus/', '//metrics', '/100%25'].map(
      (path): [string, Json, (pool: InstancePool) => unknown, unknown] => [
        `the metrics path ${path}`,
        poolWith({ metrics: { port: 9090, path } }),
        (p) => p.spec.metrics?.path,
        path,
      ],
    ),
    ['explicit values are kept', poolWith({ lifecycleClass: 'spot', readyTTLSeconds: 30 }), (p) => [p.spec.lifecycleClass, p.spec.readyTTLSeconds], ['spot', 30]],
    ['pod spec fields are kept', validPool, (p) => p.spec.template.spec?.nodeSelector, { zone: 'a' }],
    ['nulls in pod spec fields are kept', poolWith({ template: templateWith({ nodeSelector: null }) }), (p) => p.spec.template.spec?.nodeSelector, null],
    ['container fields are kept', validPool, (p) => p.spec.template.spec?.containers[0]?.resources, { requests: { cpu: '500m' } }],
    [
      'template metadata other than labels and annotations is dropped',
      poolWith({ template: templateWith({}, { name: 'x', labels: { app: 'a' } }) }),
      (p) => p.spec.template.metadata,
      { labels: { app: 'a' } },
    ],
    ['object metadata is kept whole', validPool, (p) => p.metadata, validPool.metadata],
    [
      'a valid status is kept',
      { ...validPool, status: { phase: 'Active', readyCount: 3, conditions: [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } },
      (p) => p.status?.readyCount,
      3,
    ],
    ['a malformed status is dropped', { ...validPool, status: { readyCount: -1 } }, (p) => p.status, undefined],
    [
      'a status with duplicate condition types is dropped',
      {
        ...validPool,
        status: {
          conditions: [
            { type: 'Ready', status: 'True', reason: 'A', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
            { type: 'Ready', status: 'False', reason: 'B', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
          ],
        },
      },
      (p) => p.status,
      undefined,
    ],
    [
      'a status with a bad time is dropped',
      { ...validPool, status: { utilization: { combinedRps: 1, httpRps: 1, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: 'yesterday' } } },
      (p) => p.status,
      undefined,
    ],
  ])('accepts: %s', (_name, input, pick, expected) => {
    const result = validatePool(input);
    expect(errorsOf(result)).toEqual([]);
    if (result.ok) expect(pick(result.pool)).toEqual(expected);
  });

  test('does not modify its input', () => {
    const input = structuredClone(poolWith({ maxSize: null, extra: 1 }));
    const before = structuredClone(input);
    validatePool(input);
    expect(input).toEqual(before);
  });
});

describe('validateClaim', () => {
  const bound = validateClaim(validClaim);
  const old = bound.ok ? bound.claim : undefined;

  test('accepts a valid claim', () => {
    expect(bound).toEqual({ ok: true, claim: validClaim });
  });

  test('applies the defaults of the schema', () => {
    const result = validateClaim(claimWith({ reclaimPolicy: undefined, priority: undefined, count: undefined, fallback: undefined }));
    expect(result.ok && result.claim.spec).toEqual({ poolName: 'runners', acquiredBy: 'ci', reclaimPolicy: 'Delete', priority: 0, count: 1, fallback: 'None' });
  });

  test.each<[string, unknown, PoolClaim | undefined, FieldError[]]>([
    ['the wrong kind', { ...validClaim, kind: 'InstancePool' }, undefined, [{ field: 'kind', message: 'Unsupported value: "InstancePool": supported values: "PoolClaim"' }]],
    ['no poolName', claimWith({ poolName: undefined }), undefined, [{ field: 'spec.poolName', message: 'Required value' }]],
    ['an empty poolName', claimWith({ poolName: '' }), undefined, [
      { field: 'spec.poolName', message: 'must be at least 1 characters' },
      { field: 'spec.poolName', message: "must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'" },
    ]],
    ['a poolName with capitals', claimWith({ poolName: 'Runners' }), undefined, [
      { field: 'spec.poolName', message: "must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'" },
    ]],
    ['a poolName longer than a label value', claimWith({ poolName: 'p'.repeat(64) }), undefined, [{ field: 'spec.poolName', message: 'may not be more than 63 characters' }]],
    ['a claim name longer than a label value', { ...validClaim, metadata: { name: 'c'.repeat(64) } }, undefined, [{ field: 'metadata.name', message: 'may not be more than 63 characters' }]],
    ['an unknown reclaimPolicy', claimWith({ reclaimPolicy: 'Retain' }), undefined, [{ field: 'spec.reclaimPolicy', message: 'Unsupported value: "Retain": supported values: "Delete", "Return"' }]],
    ['a negative waitTimeoutSeconds', claimWith({ waitTimeoutSeconds: -1 }), undefined, [{ field: 'spec.waitTimeoutSeconds', message: 'must be greater than or equal to 0' }]],
    ['a negative ttlSecondsAfterBound', claimWith({ ttlSecondsAfterBound: -1 }), undefined, [{ field: 'spec.ttlSecondsAfterBound', message: 'must be greater than or equal to 0' }]],
    ['a fractional priority', claimWith({ priority: 0.5 }), undefined, [{ field: 'spec.priority', message: 'must be of type integer' }]],
    ['acquiredBy not a string', claimWith({ acquiredBy: 7 }), undefined, [{ field: 'spec.acquiredBy', message: 'must be of type string' }]],
    ['a 300 KiB acquiredBy', claimWith({ acquiredBy: 'x'.repeat(300 * 1024) }), undefined, [{ field: 'spec.acquiredBy', message: 'may not be more than 253 characters' }]],
    ['an acquiredFor of 1025 characters', claimWith({ acquiredFor: 'x'.repeat(1025) }), undefined, [{ field: 'spec.acquiredFor', message: 'may not be more than 1024 characters' }]],
    [
      'timeouts above a year',
      claimWith({ waitTimeoutSeconds: 31_536_001, ttlSecondsAfterBound: 31_536_001 }),
      undefined,
      [
        { field: 'spec.waitTimeoutSeconds', message: 'must be less than or equal to 31536000' },
        { field: 'spec.ttlSecondsAfterBound', message: 'must be less than or equal to 31536000' },
      ],
    ],
    ['a priority above int32', claimWith({ priority: 2 ** 31 }), undefined, [
      { field: 'spec.priority', message: 'must be less than or equal to 2147483647' },
      { field: 'spec.priority', message: 'must fit in a 32-bit integer' },
    ]],
    ['a priority below int32', claimWith({ priority: -(2 ** 31) - 1 }), undefined, [
      { field: 'spec.priority', message: 'must be greater than or equal to -2147483648' },
      { field: 'spec.priority', message: 'must fit in a 32-bit integer' },
    ]],
    ['a changed poolName', claimWith({ poolName: 'other' }), old, [{ field: 'spec.poolName', message: 'poolName is immutable' }]],
    ['a changed reclaimPolicy', claimWith({ reclaimPolicy: 'Return' }), old, [{ field: 'spec.reclaimPolicy', message: 'reclaimPolicy is immutable' }]],
    [
      'a reclaimPolicy set where the old claim left it unset (it meant Delete)',
      claimWith({ reclaimPolicy: 'Return' }),
      old && { ...old, spec: { poolName: 'runners' } },
      [{ field: 'spec.reclaimPolicy', message: 'reclaimPolicy is immutable' }],
    ],
    [
      'a reclaimPolicy unset where the old claim had Return',
      claimWith({ reclaimPolicy: undefined }),
      old && { ...old, spec: { ...old.spec, reclaimPolicy: 'Return' } },
      [{ field: 'spec.reclaimPolicy', message: 'reclaimPolicy is immutable' }],
    ],
  ])('refuses %s', (_name, input, previous, errors) => {
    expect(errorsOf(validateClaim(input, previous))).toEqual(errors);
  });

  test.each<[string, unknown, PoolClaim | undefined]>([
    ['a negative priority', claimWith({ priority: -10 }), undefined],
    ['the int32 extremes of priority', claimWith({ priority: -(2 ** 31) }), undefined],
    ['30-day timeouts and the longest strings', claimWith({ waitTimeoutSeconds: 2_592_000, ttlSecondsAfterBound: 2_592_000, acquiredBy: 'b'.repeat(253), acquiredFor: 'f'.repeat(1024) }), undefined],
    ['zero timeouts', claimWith({ waitTimeoutSeconds: 0, ttlSecondsAfterBound: 0 }), undefined],
    ['a dotted poolName', claimWith({ poolName: 'runners.v2' }), undefined],
    ['an update that keeps poolName and reclaimPolicy', claimWith({ priority: 5, acquiredFor: 'job' }), old],
    ['a changed poolName without the old claim (a create)', claimWith({ poolName: 'other' }), undefined],
    ['an update that sets the reclaimPolicy the old claim left unset to its default', claimWith({ reclaimPolicy: 'Delete' }), old && { ...old, spec: { poolName: 'runners' } }],
  ])('accepts %s', (_name, input, previous) => {
    expect(errorsOf(validateClaim(input, previous))).toEqual([]);
  });

  test.each<[string, Json, boolean]>([
    ['a bound status', { phase: 'Bound', member: { name: 'm', uid: 'u', podIP: '127.0.0.2' }, boundAt: '2026-01-01T00:00:00.5+01:00', waitedSeconds: 0.012 }, true],
    ['a member without uid', { phase: 'Bound', member: { name: 'm' } }, false],
    ['an unknown phase', { phase: 'Claimed' }, false],
  ])('status: %s kept: %s', (_name, status, kept) => {
    const result = validateClaim({ ...validClaim, status });
    expect(result.ok && result.claim.status).toEqual(kept ? status : undefined);
  });
});

describe('reservedLabelWarnings', () => {
  // A pool as an older CRD would have stored it: not through validatePool, which refuses these now.
  function poolWithMetadata(metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }): InstancePool {
    return { ...(validPool as unknown as InstancePool), spec: { ...(validPool.spec as InstancePool['spec']), template: { ...validPool.spec.template, metadata } } };
  }

  test.each<[string, { labels?: Record<string, string>; annotations?: Record<string, string> }, string[]]>([
    ['no labels', {}, []],
    ['own keys only, subdomains of warmpool.dev included', { labels: { app: 'runner', 'team.warmpool.dev/x': 'y' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } }, []],
    [
      'reserved labels and annotations',
      { labels: { app: 'runner', 'warmpool.dev/claim': 'c', 'warmpool.dev/custom': 'x' }, annotations: { 'warmpool.dev/claim-uid': 'u' } },
      [
        'spec.template.metadata.labels: warmpool.dev/claim: keys with the prefix warmpool.dev/ are reserved for the operator',
        'spec.template.metadata.labels: warmpool.dev/custom: keys with the prefix warmpool.dev/ are reserved for the operator',
        'spec.template.metadata.annotations: warmpool.dev/claim-uid: keys with the prefix warmpool.dev/ are reserved for the operator',
      ],
    ],
  ])('%s', (_name, metadata, warnings) => {
    expect(reservedLabelWarnings(poolWithMetadata(metadata))).toEqual(warnings);
  });

  test('agrees with the refusal: a key it names makes the pool invalid, and the other way round', () => {
    const cases: Record<string, string>[] = [{ 'warmpool.dev/pool': 'x' }, { 'warmpool.dev/x': 'y' }, { 'x.warmpool.dev/y': 'z' }, { app: 'a' }];
    for (const labels of cases) {
      const pool = poolWithMetadata({ labels });
      expect(validatePool(pool).ok).toBe(reservedLabelWarnings(pool).length === 0);
    }
  });
});

describe('validateClaim: memberMetadata (issue 21)', () => {
  const withMetadata = (memberMetadata: unknown): Json => claimWith({ memberMetadata });
  const created = validateClaim(withMetadata({ labels: { team: 'a' } }));
  const old = created.ok ? created.claim : undefined;

  test.each<[string, unknown, PoolClaim | undefined, FieldError[]]>([
    ['a reserved label', withMetadata({ labels: { 'warmpool.dev/state': 'ready' } }), undefined, [
      { field: 'spec.memberMetadata.labels', message: 'warmpool.dev/state: keys with the prefix warmpool.dev/ are reserved for the operator' },
    ]],
    ['a reserved annotation', withMetadata({ annotations: { 'warmpool.dev/claim-uid': 'x' } }), undefined, [
      { field: 'spec.memberMetadata.annotations', message: 'warmpool.dev/claim-uid: keys with the prefix warmpool.dev/ are reserved for the operator' },
    ]],
    ['a label value longer than 63', withMetadata({ labels: { team: 'x'.repeat(64) } }), undefined, [
      { field: 'spec.memberMetadata.labels["team"]', message: 'may not be more than 63 characters' },
    ]],
    ['a label value with a space', withMetadata({ labels: { team: 'a b' } }), undefined, [
      { field: 'spec.memberMetadata.labels["team"]', message: "must match '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'" },
    ]],
    ['65 labels', withMetadata({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), undefined, [
      { field: 'spec.memberMetadata.labels', message: 'must have at most 64 properties' },
    ]],
    ['an annotation value of 4097 characters', withMetadata({ annotations: { note: 'x'.repeat(4097) } }), undefined, [
      { field: 'spec.memberMetadata.annotations["note"]', message: 'may not be more than 4096 characters' },
    ]],
    ['a changed memberMetadata', withMetadata({ labels: { team: 'b' } }), old, [{ field: 'spec.memberMetadata', message: 'memberMetadata is immutable' }]],
    ['memberMetadata dropped', claimWith({}), old, [{ field: 'spec.memberMetadata', message: 'memberMetadata is immutable' }]],
    ['memberMetadata added after creation', withMetadata({ labels: { team: 'a' } }), validateClaim(validClaim).ok ? (validClaim as unknown as PoolClaim) : undefined, [
      { field: 'spec.memberMetadata', message: 'memberMetadata is immutable' },
    ]],
  ])('refuses %s', (_name, input, previous, errors) => {
    expect(errorsOf(validateClaim(input, previous))).toEqual(errors);
  });

  test.each<[string, unknown, PoolClaim | undefined]>([
    ['labels and annotations of other prefixes, subdomains of warmpool.dev included', withMetadata({ labels: { 'team.warmpool.dev/x': 'y', app: 'a' }, annotations: { note: 'a sentence, with spaces' } }), undefined],
    ['an empty label value', withMetadata({ labels: { flag: '' } }), undefined],
    ['the same memberMetadata, keys in another order', withMetadata({ labels: { team: 'a' } }), old],
  ])('accepts %s', (_name, input, previous) => {
    expect(errorsOf(validateClaim(input, previous))).toEqual([]);
  });
});

describe('validateClaim: count (issue 21)', () => {
  const created = validateClaim(claimWith({ count: 3 }));
  const old = created.ok ? created.claim : undefined;
  test.each<[string, unknown, PoolClaim | undefined, FieldError[]]>([
    ['count 0', claimWith({ count: 0 }), undefined, [{ field: 'spec.count', message: 'must be greater than or equal to 1' }]],
    ['count 1001', claimWith({ count: 1001 }), undefined, [{ field: 'spec.count', message: 'must be less than or equal to 1000' }]],
    ['a changed count', claimWith({ count: 2 }), old, [{ field: 'spec.count', message: 'count is immutable' }]],
  ])('refuses %s', (_name, input, previous, errors) => {
    expect(errorsOf(validateClaim(input, previous))).toEqual(errors);
  });
});

// Hostile values for the fields of issues 20 and 21: each is refused, and the error names the field.
describe('hostile values for drainPolicy, reuse, evictionProtection and the claim options', () => {
  const huge = 'x'.repeat(300 * 1024);
  test.each<{ name: string; input: Json; field: string; kind: 'pool' | 'claim' }>([
    { name: 'a negative deadline', kind: 'pool', input: poolWith({ drainPolicy: { deadlineSeconds: -1 } }), field: 'spec.drainPolicy.deadlineSeconds' },
    { name: 'a deadline past int32', kind: 'pool', input: poolWith({ drainPolicy: { deadlineSeconds: 2 ** 31 } }), field: 'spec.drainPolicy.deadlineSeconds' },
    { name: 'onDeadline "..", not an enum value', kind: 'pool', input: poolWith({ drainPolicy: { onDeadline: '..' } }), field: 'spec.drainPolicy.onDeadline' },
    { name: 'onDeadline of 300 KiB', kind: 'pool', input: poolWith({ drainPolicy: { onDeadline: huge } }), field: 'spec.drainPolicy.onDeadline' },
    { name: 'negative maxReuses', kind: 'pool', input: poolWith({ reuse: { maxReuses: -1 } }), field: 'spec.reuse.maxReuses' },
    { name: 'maxReuses past its bound', kind: 'pool', input: poolWith({ reuse: { maxReuses: 1e12 } }), field: 'spec.reuse.maxReuses' },
    { name: 'a negative cooldown', kind: 'pool', input: poolWith({ reuse: { cooldownSeconds: -5 } }), field: 'spec.reuse.cooldownSeconds' },
    { name: 'a cooldown past int32', kind: 'pool', input: poolWith({ reuse: { cooldownSeconds: 1e12 } }), field: 'spec.reuse.cooldownSeconds' },
    { name: 'evictionProtection as a string', kind: 'pool', input: poolWith({ evictionProtection: 'false' }), field: 'spec.evictionProtection' },
    { name: 'a negative idle timeout', kind: 'claim', input: claimWith({ idleTimeoutSeconds: -1 }), field: 'spec.idleTimeoutSeconds' },
    { name: 'an idle timeout past int32', kind: 'claim', input: claimWith({ idleTimeoutSeconds: 1e12 }), field: 'spec.idleTimeoutSeconds' },
    { name: 'a negative count', kind: 'claim', input: claimWith({ count: -5 }), field: 'spec.count' },
    { name: 'a huge count', kind: 'claim', input: claimWith({ count: 1e12 }), field: 'spec.count' },
    { name: 'fallback "../x"', kind: 'claim', input: claimWith({ fallback: '../x' }), field: 'spec.fallback' },
    { name: 'fallback of 300 KiB', kind: 'claim', input: claimWith({ fallback: huge }), field: 'spec.fallback' },
    { name: 'acceptWarming as a string', kind: 'claim', input: claimWith({ acceptWarming: 'true' }), field: 'spec.acceptWarming' },
    { name: 'a memberMetadata annotation of 300 KiB', kind: 'claim', input: claimWith({ memberMetadata: { annotations: { note: huge } } }), field: 'spec.memberMetadata.annotations' },
    { name: 'a memberMetadata label key "../etc"', kind: 'claim', input: claimWith({ memberMetadata: { labels: { '../etc': 'x' } } }), field: 'spec.memberMetadata.labels' },
    { name: 'a memberMetadata label key of 64 characters', kind: 'claim', input: claimWith({ memberMetadata: { labels: { ['k'.repeat(64)]: 'x' } } }), field: 'spec.memberMetadata.labels' },
    { name: 'a memberMetadata annotation key with a space', kind: 'claim', input: claimWith({ memberMetadata: { annotations: { 'a b': 'x' } } }), field: 'spec.memberMetadata.annotations' },
    { name: 'a memberMetadata annotation key with a 254-character prefix', kind: 'claim', input: claimWith({ memberMetadata: { annotations: { [`${'a'.repeat(254)}/x`]: 'x' } } }), field: 'spec.memberMetadata.annotations' },
    { name: 'a reserved memberMetadata annotation', kind: 'claim', input: claimWith({ memberMetadata: { annotations: { 'warmpool.dev/lease-token': '9' } } }), field: 'spec.memberMetadata.annotations' },
  ])('refuses $name, naming the field', ({ input, field, kind }) => {
    const errors = errorsOf(kind === 'pool' ? validatePool(input) : validateClaim(input));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.field).some((f) => f.startsWith(field))).toBe(true);
  });
});

// spec.autoscaling (issue 22): bounded numbers, enums, each mode's own field required under it and refused under the
// other, the cron's shape; each error names the field.
describe('hostile values for spec.autoscaling', () => {
  const huge = 'x'.repeat(300 * 1024);
  const objective = { mode: 'Objective', maxWaitProbability: 0.01 };
  const window = { start: '0 9 * * 1-5', durationSeconds: 3600, minSize: 5 };
  test.each<{ name: string; autoscaling: Json; field: string; message?: string }>([
    { name: 'no mode', autoscaling: { maxWaitProbability: 0.01 }, field: 'spec.autoscaling.mode' },
    { name: 'mode "..", not an enum value', autoscaling: { mode: '..' }, field: 'spec.autoscaling.mode' },
    { name: 'Objective without maxWaitProbability', autoscaling: { mode: 'Objective' }, field: 'spec.autoscaling.maxWaitProbability', message: 'maxWaitProbability is required when mode is Objective' },
    { name: 'Proportional without percentOfClaimed', autoscaling: { mode: 'Proportional' }, field: 'spec.autoscaling.percentOfClaimed', message: 'percentOfClaimed is required when mode is Proportional' },
    { name: 'percentOfClaimed under Objective', autoscaling: { ...objective, percentOfClaimed: 20 }, field: 'spec.autoscaling.percentOfClaimed', message: 'percentOfClaimed applies only to mode Proportional' },
    { name: 'a wait probability of 0', autoscaling: { mode: 'Objective', maxWaitProbability: 0 }, field: 'spec.autoscaling.maxWaitProbability' },
    { name: 'a wait probability of 1', autoscaling: { mode: 'Objective', maxWaitProbability: 1 }, field: 'spec.autoscaling.maxWaitProbability' },
    { name: 'a wait probability as a string', autoscaling: { mode: 'Objective', maxWaitProbability: '0.01' }, field: 'spec.autoscaling.maxWaitProbability' },
    { name: 'percentOfClaimed 0', autoscaling: { mode: 'Proportional', percentOfClaimed: 0 }, field: 'spec.autoscaling.percentOfClaimed' },
    { name: 'percentOfClaimed past its bound', autoscaling: { mode: 'Proportional', percentOfClaimed: 1e9 }, field: 'spec.autoscaling.percentOfClaimed' },
    { name: 'a rate window of 1 s', autoscaling: { ...objective, rateWindowSeconds: 1 }, field: 'spec.autoscaling.rateWindowSeconds' },
    { name: 'a stabilization window past an hour', autoscaling: { ...objective, scaleDownStabilizationSeconds: 3601 }, field: 'spec.autoscaling.scaleDownStabilizationSeconds' },
    { name: 'a negative stabilization window', autoscaling: { ...objective, scaleDownStabilizationSeconds: -1 }, field: 'spec.autoscaling.scaleDownStabilizationSeconds' },
    { name: 'a six-field cron', autoscaling: { ...objective, schedule: [{ ...window, start: '0 0 9 * * 1-5' }] }, field: 'spec.autoscaling.schedule[0].start' },
    { name: 'a cron with minute 60', autoscaling: { ...objective, schedule: [{ ...window, start: '60 9 * * *' }] }, field: 'spec.autoscaling.schedule[0].start' },
    { name: 'a cron of 300 KiB', autoscaling: { ...objective, schedule: [{ ...window, start: huge }] }, field: 'spec.autoscaling.schedule[0].start' },
    { name: 'a time zone "../../etc/passwd"', autoscaling: { ...objective, schedule: [{ ...window, timeZone: '../../etc/passwd' }] }, field: 'spec.autoscaling.schedule[0].timeZone' },
    { name: 'a window of 0 s', autoscaling: { ...objective, schedule: [{ ...window, durationSeconds: 0 }] }, field: 'spec.autoscaling.schedule[0].durationSeconds' },
    { name: 'a window past a week', autoscaling: { ...objective, schedule: [{ ...window, durationSeconds: 604_801 }] }, field: 'spec.autoscaling.schedule[0].durationSeconds' },
    { name: 'a window floor past the member bound', autoscaling: { ...objective, schedule: [{ ...window, minSize: 100_001 }] }, field: 'spec.autoscaling.schedule[0].minSize' },
    { name: 'seventeen windows', autoscaling: { ...objective, schedule: Array.from({ length: 17 }, () => window) }, field: 'spec.autoscaling.schedule' },
  ])('refuses $name, naming the field', ({ autoscaling, field, message }) => {
    const errors = errorsOf(validatePool(poolWith({ autoscaling })));
    expect(errors.map((e) => e.field)).toContain(field);
    if (message !== undefined) expect(errors.map((e) => e.message)).toContain(message);
  });

  test('a valid spec comes back with its defaults', () => {
    const v = validatePool(poolWith({ autoscaling: { ...objective, schedule: [window] } }));
    expect(v.ok && v.pool.spec.autoscaling).toEqual({
      ...objective,
      rateWindowSeconds: 60,
      scaleDownStabilizationSeconds: 300,
      schedule: [{ ...window, timeZone: 'UTC' }],
    });
  });
});
