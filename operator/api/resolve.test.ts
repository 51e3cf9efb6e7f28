import { resolvePool } from './resolve.js';
import type { InstancePool, InstancePoolSpec } from './types.js';

function pool(spec: Partial<InstancePoolSpec>): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'web', namespace: 'ns', uid: 'u' },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'img' }] } }, targetSize: 3, ...spec },
  };
}

describe('resolvePool, the door', () => {
  const cases: {
    name: string;
    spec: Partial<InstancePoolSpec>;
    want: { ok: boolean; target: number; maxSize: number; message?: RegExp };
  }[] = [
    { name: 'a valid pool: defaults applied, target resolved', spec: { targetSize: 3 }, want: { ok: true, target: 3, maxSize: 13 } },
    { name: 'an explicit maxSize stands', spec: { targetSize: 2, minSize: 1, maxSize: 4 }, want: { ok: true, target: 2, maxSize: 4 } },
    {
      name: 'an invalid pool: the verdict names the field, the numbers stay safe',
      spec: { targetSize: -1 },
      want: { ok: false, target: 0, maxSize: 9, message: /spec\.targetSize/ },
    },
  ];
  it.each(cases)('$name', ({ spec, want }) => {
    const v = resolvePool(pool(spec));
    expect(v.ok).toBe(want.ok);
    expect(v.spec).toMatchObject({ target: want.target, maxSize: want.maxSize });
    if (!v.ok) expect(v.message).toMatch(want.message ?? /./);
  });
});
