import type { KubernetesObject } from '@kubernetes/client-node';
import { CacheIndex } from './cache-index.js';

type Handler = (o: KubernetesObject, old?: KubernetesObject) => void;

function fakeCache(): { add: Handler; update: Handler; del: Handler; cache: ConstructorParameters<typeof CacheIndex>[0] } {
  const h: { add?: Handler; update?: Handler; del?: Handler } = {};
  return {
    add: (o) => h.add?.(o),
    update: (o, old) => h.update?.(o, old),
    del: (o) => h.del?.(o),
    cache: { onAdd: (fn) => (h.add = fn), onUpdate: (fn) => (h.update = fn), onDelete: (fn) => (h.del = fn) },
  };
}

const pod = (name: string, pool: string | undefined, namespace = 'ns'): KubernetesObject => ({
  metadata: { name, namespace, labels: pool === undefined ? {} : { pool } },
});
/** An index of the fake cache's objects by their label pool. */
function indexByPool(): { c: ReturnType<typeof fakeCache>; index: CacheIndex<KubernetesObject> } {
  const c = fakeCache();
  return { c, index: new CacheIndex(c.cache, (o) => o.metadata?.labels?.pool) };
}
const names = (objs: KubernetesObject[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();

describe('CacheIndex', () => {
  test('groups objects by namespace and key, and follows updates and deletes', () => {
    const { c, index } = indexByPool();
    c.add(pod('a', 'p1'));
    c.add(pod('b', 'p1'));
    c.add(pod('c', 'p2'));
    c.add(pod('d', 'p1', 'other'));
    c.add(pod('e', undefined));
    expect(names(index.list('ns', 'p1'))).toEqual(['a', 'b']);
    expect(names(index.list('ns', 'p2'))).toEqual(['c']);
    expect(names(index.list('other', 'p1'))).toEqual(['d']);

    const newer = pod('a', 'p1');
    c.update(newer, pod('a', 'p1'));
    expect(index.list('ns', 'p1').find((o) => o.metadata?.name === 'a')).toBe(newer);

    // A changed key moves the object, even when the old object is not known.
    c.update(pod('b', 'p2'));
    expect(names(index.list('ns', 'p1'))).toEqual(['a']);
    expect(names(index.list('ns', 'p2'))).toEqual(['b', 'c']);

    // Losing the key takes it out; getting one puts it in.
    c.update(pod('c', undefined));
    c.update(pod('e', 'p2'));
    expect(names(index.list('ns', 'p2'))).toEqual(['b', 'e']);

    c.del(pod('a', 'p1'));
    c.del(pod('zzz', 'p1'));
    expect(index.list('ns', 'p1')).toEqual([]);
  });

  test('a delete carrying a stale key still removes the object from where it is', () => {
    const { c, index } = indexByPool();
    c.add(pod('a', 'p1'));
    c.update(pod('a', 'p2'));
    c.del(pod('a', 'p1'));
    expect(index.list('ns', 'p1')).toEqual([]);
    expect(index.list('ns', 'p2')).toEqual([]);
  });
});
