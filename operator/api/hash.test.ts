import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { canonicalJson, templateHash } from './hash.js';

const base: V1PodTemplateSpec = {
  metadata: { labels: { app: 'web', tier: 'a' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
  spec: { containers: [{ name: 'app', image: 'busybox:1', args: ['sleep', '3600'] }], nodeSelector: { zone: 'a' } },
};

describe('templateHash', () => {
  test('is 10 hex digits', () => {
    expect(templateHash(base)).toMatch(/^[0-9a-f]{10}$/);
  });

  test('is stable across releases (a change here recycles every member of every pool)', () => {
    expect(templateHash(base)).toBe(templateHash(structuredClone(base)));
    expect(templateHash(base)).toBe('b6620d5a0b');
  });

  test('ignores key order at every depth', () => {
    const reordered: V1PodTemplateSpec = {
      spec: { nodeSelector: { zone: 'a' }, containers: [{ args: ['sleep', '3600'], image: 'busybox:1', name: 'app' }] },
      metadata: { annotations: { 'sim.warmpool.dev/ready-after': '1s' }, labels: { tier: 'a', app: 'web' } },
    };
    expect(templateHash(reordered)).toBe(templateHash(base));
  });

  test.each<{ name: string; changed: V1PodTemplateSpec }>([
    { name: 'image', changed: { ...base, spec: { containers: [{ name: 'app', image: 'busybox:2', args: ['sleep', '3600'] }], nodeSelector: { zone: 'a' } } } },
    { name: 'argument order', changed: { ...base, spec: { containers: [{ name: 'app', image: 'busybox:1', args: ['3600', 'sleep'] }], nodeSelector: { zone: 'a' } } } },
    { name: 'a label', changed: { ...base, metadata: { ...base.metadata, labels: { app: 'web', tier: 'b' } } } },
    { name: 'an annotation', changed: { ...base, metadata: { ...base.metadata, annotations: {} } } },
    { name: 'a pod spec field', changed: { ...base, spec: { ...base.spec, containers: base.spec?.containers ?? [], nodeSelector: { zone: 'b' } } } },
    { name: 'no metadata', changed: { spec: base.spec } },
  ])('changes with $name', ({ changed }) => {
    expect(templateHash(changed)).not.toBe(templateHash(base));
  });
});

describe('canonicalJson', () => {
  test.each<{ name: string; value: unknown; want: string }>([
    { name: 'keys sorted at every depth, null kept', value: { b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } }, want: '{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}' },
    { name: 'array order kept', value: [2, 1], want: '[2,1]' },
    { name: 'a string', value: 'x', want: '"x"' },
    { name: 'an undefined value is left out', value: { a: undefined, b: 1 }, want: '{"b":1}' },
  ])('$name', ({ value, want }) => {
    expect(canonicalJson(value)).toBe(want);
  });
});
