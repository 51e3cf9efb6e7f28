import { SHARED_STRING_MAX_DEPTH, SHARED_STRING_MAX_LENGTH, StringTable } from './intern.js';

const pod = (name: string): Record<string, unknown> => ({
  metadata: { name, uid: `uid-${name}`, labels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': 'ready' } },
  spec: {
    containers: [{ name: 'main', image: 'example.invalid/runner:1', volumeMounts: [{ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }],
  },
  status: { conditions: [{ type: 'Ready', status: 'True' }], podIP: '127.0.0.1' },
});

describe('StringTable: repeated strings of cached objects shared', () => {
  test('each distinct string is held once however many objects carry it; the objects keep their values', () => {
    const table = new StringTable();
    const pods = Array.from({ length: 50 }, (_, i) => pod(`p-${i}`));
    for (const p of pods) table.share(p);
    // Per pod 2 unique strings (name, uid); the other 10 string values are the same in every pod.
    expect(table.size).toBe(50 * 2 + 10);
    pods.forEach((p, i) => expect(p).toEqual(pod(`p-${i}`)));
  });

  test('keys are not strings it holds; strings in arrays are', () => {
    const table = new StringTable();
    table.share({ someKey: ['a', 'b', { nested: 'c' }], other: 1, none: null, yes: true });
    expect(table.size).toBe(3);
  });

  test('a long string is left alone', () => {
    const table = new StringTable();
    const long = 'x'.repeat(SHARED_STRING_MAX_LENGTH + 1);
    const o = { a: long, b: 'x'.repeat(SHARED_STRING_MAX_LENGTH) };
    table.share(o);
    expect(table.size).toBe(1);
    expect(o.a).toBe(long);
  });

  test('bounded: at its limit the table starts again', () => {
    const table = new StringTable(10);
    table.share(Array.from({ length: 25 }, (_, i) => `s${i}`));
    expect(table.size).toBe(5);
  });

  test('parts deeper than the bound are left alone, and a deep object does not run the walk out of stack', () => {
    const table = new StringTable();
    let deep: Record<string, unknown> = { leaf: 'bottom' };
    for (let i = 0; i < 100_000; i++) deep = { next: deep, [`k${i % 3}`]: i < 100_000 - SHARED_STRING_MAX_DEPTH ? 1 : `s${i}` };
    expect(() => table.share(deep)).not.toThrow();
    expect(table.size).toBe(SHARED_STRING_MAX_DEPTH);
  });
});
