// Issue 17, the schema's half: what a tenant applies that the API server must refuse, through kubectl as a user
// would, with a message naming the field (and the key). No operator runs: a refusal at apply needs none, and what was
// accepted before the fix is enough to fail these tests (a template label warmpool.dev/claim then filled its pool to
// maxSize; a 300 KiB acquiredBy drew hundreds of member patches a second).
import { installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { claimManifest, poolManifest, type PoolOptions } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('schema'));
});

afterAll(async () => {
  await cleanup();
});

type Json = Record<string, unknown>;

/** A pool manifest with the template's labels and annotations replaced by these. */
function poolWithTemplateKeys(name: string, labels: Record<string, string>, annotations: Record<string, string>): string {
  const pool = JSON.parse(poolManifest(ns, name, { targetSize: 1 })) as { spec: { template: { metadata: Json } } };
  pool.spec.template.metadata = { labels, annotations };
  return JSON.stringify(pool);
}

/** Applies the manifest; expects a refusal whose message names every one of `names`, and that nothing was stored. */
async function expectRefused(verb: 'apply' | 'create', manifest: string, kind: string, name: string, names: string[]): Promise<string> {
  const result = await kubectlRaw([verb, '-f', '-'], manifest);
  expect(result.code).not.toBe(0);
  for (const n of names) expect(result.stderr).toContain(n);
  const stored = await kubectlRaw(['-n', ns, 'get', kind, name, '--ignore-not-found', '-o', 'name']);
  expect(stored.stdout.trim()).toBe('');
  return result.stderr;
}

async function expectAccepted(manifest: string): Promise<void> {
  const result = await kubectlRaw(['apply', '--dry-run=server', '-f', '-'], manifest);
  // The refusal's message, when there is one, is the most useful failure.
  expect(result.code === 0 ? '' : result.stderr).toBe('');
}

describe('reserved keys in the template (defect 4)', () => {
  test('a template label warmpool.dev/claim is refused at apply, naming the key', async () => {
    const stderr = await expectRefused(
      'apply',
      poolWithTemplateKeys('claim-label', { app: 'x', 'warmpool.dev/claim': 'someone' }, {}),
      'instancepool',
      'claim-label',
      ['spec.template.metadata.labels', 'warmpool.dev/claim'],
    );
    expect(stderr).toContain('reserved for the operator');
  });

  test('a template annotation warmpool.dev/claim-uid is refused at apply, naming the key', async () => {
    await expectRefused(
      'apply',
      poolWithTemplateKeys('claim-uid', { app: 'x' }, { 'warmpool.dev/claim-uid': '0b7d6d0e-0000-4000-8000-000000000000' }),
      'instancepool',
      'claim-uid',
      ['spec.template.metadata.annotations', 'warmpool.dev/claim-uid'],
    );
  });

  test.each(['warmpool.dev/pool', 'warmpool.dev/state', 'warmpool.dev/team'])("%s: any key under warmpool.dev/ is refused, the operator's own or not", async (key) => {
    await expectRefused('apply', poolWithTemplateKeys('own-prefix', { app: 'x', [key]: 'v' }, {}), 'instancepool', 'own-prefix', [
      'spec.template.metadata.labels',
      key,
    ]);
  });

  test('subdomains of warmpool.dev are ordinary keys (the test stages read sim.warmpool.dev/ annotations)', async () => {
    await expectAccepted(
      poolWithTemplateKeys('subdomains', { 'team.warmpool.dev/owner': 'a' }, { 'sim.warmpool.dev/ready-after': '1s', 'x.warmpool.dev/y': '' }),
    );
  });

  test('more than 256 template labels are refused', async () => {
    const labels = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']));
    await expectRefused('apply', poolWithTemplateKeys('many-labels', labels, {}), 'instancepool', 'many-labels', [
      'spec.template.metadata.labels',
      '256',
    ]);
  });
});

describe('spec.metrics.path (defect 5)', () => {
  const hostile = [
    '/../../../../kube-system/pods/x:9100/proxy/metrics',
    '/a/./b',
    '/..',
    '/%2e%2e/%2e%2e/kube-system/pods/x:9100/proxy/metrics',
    '/%2E%2E/x',
    '/metrics?x=1',
    '/metrics#x',
    '/a\\..\\b',
    `/${'a'.repeat(1024)}`,
  ];
  test.each(hostile.map((path, i) => [path.length > 80 ? `${path.slice(0, 20)}… (${path.length} characters)` : path, path, i]))(
    '%s is refused at apply, naming the field',
    async (_label, path, i) => {
      const name = `hostile-path-${i}`;
      const spec = { metrics: { port: 9100, path, via: 'APIServerProxy', httpRequestsCounter: 'http_requests_total' } };
      await expectRefused('apply', poolManifest(ns, name, { targetSize: 1, spec }), 'instancepool', name, ['spec.metrics.path']);
    },
  );

  test.each(['/metrics', '/metrics;x', '/a%2Fb', '/a..b/.well-known/x.', '/stats/prometheus/'])('%s is accepted', async (path) => {
    await expectAccepted(poolManifest(ns, 'legal-path', { targetSize: 1, spec: { metrics: { port: 9100, path, via: 'APIServerProxy' } } }));
  });
});

describe('bounds (defects 2 and 6)', () => {
  test('a claim with a 300 KiB acquiredBy is refused at create, naming the field', async () => {
    // create, not apply: apply would also copy it into the last-applied annotation, which the API server caps itself.
    await expectRefused('create', claimManifest(ns, 'huge', 'any', { acquiredBy: 'x'.repeat(300 * 1024) }), 'poolclaim', 'huge', [
      'spec.acquiredBy',
    ]);
  });

  test('an acquiredFor over 1024 characters is refused; 253 and 1024 characters are accepted', async () => {
    await expectRefused('create', claimManifest(ns, 'long-for', 'any', { acquiredFor: 'f'.repeat(1025) }), 'poolclaim', 'long-for', [
      'spec.acquiredFor',
    ]);
    await expectAccepted(claimManifest(ns, 'longest', 'any', { acquiredBy: 'b'.repeat(253), acquiredFor: 'f'.repeat(1024) }));
  });

  const pool = (name: string, o: Partial<PoolOptions> & { spec?: Json }): string => poolManifest(ns, name, { targetSize: 1, ...o });

  test.each<[string, string, string]>([
    ['targetSize 100001', pool('too-big', { targetSize: 100_001, spec: { maxSize: 100_001 } }), 'spec.targetSize'],
    ['maxSize 100001', pool('too-big-max', { spec: { maxSize: 100_001 } }), 'spec.maxSize'],
    ['warmingTimeoutSeconds above a year', pool('slow', { spec: { warmingTimeoutSeconds: 31_536_001 } }), 'spec.warmingTimeoutSeconds'],
    ['readyTTLSeconds above a year', pool('stale', { spec: { readyTTLSeconds: 31_536_001 } }), 'spec.readyTTLSeconds'],
    ['maxPending 100001', pool('queue', { spec: { claimQueue: { maxPending: 100_001 } } }), 'spec.claimQueue.maxPending'],
    ['metrics.intervalSeconds above an hour', pool('rare', { spec: { metrics: { port: 9100, intervalSeconds: 3601 } } }), 'spec.metrics.intervalSeconds'],
    ['waitTimeoutSeconds above a year', claimManifest(ns, 'patient', 'any', { waitTimeoutSeconds: 31_536_001 }), 'spec.waitTimeoutSeconds'],
    ['ttlSecondsAfterBound above a year', claimManifest(ns, 'long-held', 'any', { ttlSecondsAfterBound: 31_536_001 }), 'spec.ttlSecondsAfterBound'],
    ['priority above int32', claimManifest(ns, 'vip', 'any', { priority: 2 ** 31 }), 'spec.priority'],
  ])('%s is refused at apply, naming the field', async (_what, manifest, field) => {
    const { metadata, kind } = JSON.parse(manifest) as { metadata: { name: string }; kind: string };
    await expectRefused('apply', manifest, kind.toLowerCase(), metadata.name, [field]);
  });

  // Issue 21: a key the API server would refuse only on the member, at bind, is refused at apply instead.
  test.each<[string, Record<string, unknown>, string, string]>([
    ['a label key "../etc"', { labels: { '../etc': 'x' } }, 'spec.memberMetadata.labels', '../etc'],
    ['a label name of 64 characters', { labels: { ['n'.repeat(64)]: 'x' } }, 'spec.memberMetadata.labels', 'n'.repeat(64)],
    ['an annotation key with a space', { annotations: { 'a b': 'x' } }, 'spec.memberMetadata.annotations', 'a b'],
  ])('memberMetadata with %s is refused at apply, naming the field and the key', async (_what, memberMetadata, field, key) => {
    const stderr = await expectRefused('apply', claimManifest(ns, 'bad-key', 'any', { memberMetadata }), 'poolclaim', 'bad-key', [field, key]);
    expect(stderr).toContain('not a valid key');
  });

  test('memberMetadata keys with a prefix, dots, dashes and underscores are accepted', async () => {
    await expectAccepted(claimManifest(ns, 'good-keys', 'any', {
      memberMetadata: { labels: { 'team.example.com/run_id-1.x': 'a', app: 'b' }, annotations: { [`${'a'.repeat(253)}/${'b'.repeat(63)}`]: 'c' } },
    }));
  });

  test('the acceptance values are accepted: targetSize 100000, 30-day TTLs and timeouts, int32 priorities', async () => {
    const month = 2_592_000;
    await expectAccepted(pool('largest', { targetSize: 100_000, spec: { maxSize: 100_000, warmingTimeoutSeconds: month, readyTTLSeconds: month } }));
    await expectAccepted(claimManifest(ns, 'month', 'any', { waitTimeoutSeconds: month, ttlSecondsAfterBound: month, priority: -(2 ** 31) }));
    await expectAccepted(claimManifest(ns, 'top', 'any', { priority: 2 ** 31 - 1 }));
    // Nothing was stored by the dry runs.
    expect((await kubectl(['-n', ns, 'get', 'instancepools,poolclaims', '-o', 'name'])).trim()).toBe('');
  });
});
