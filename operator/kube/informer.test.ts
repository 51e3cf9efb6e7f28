import { jest } from '@jest/globals';
import type { ErrorCallback, KubernetesListObject, KubernetesObject, ObjectCallback } from '@kubernetes/client-node';
import { fakeKubeConfig } from './fake-http.js';
import { restartDelayMs, stampTypeMeta, SupervisedInformer, type ListFn } from './informer.js';

type Obj = KubernetesObject;

function pod(name: string, rv: string): Obj {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

/**
 * Mimics client-node's ListWatch where it matters: start() lists, fills the cache and fires add/update/delete, then
 * "opens the watch"; any failure fires the error callbacks and leaves the informer stopped.
 */
class FakeListWatch {
  private readonly cbs = new Map<string, Array<ObjectCallback<Obj> | ErrorCallback>>();
  private readonly objects = new Map<string, Obj>();
  starts = 0;
  stops = 0;
  /** Fails the watch right after a successful list, once per entry. */
  watchFailures: unknown[] = [];

  constructor(
    private readonly listFn: ListFn<Obj>,
    private readonly onOpen: () => void,
  ) {}

  on(verb: string, cb: ObjectCallback<Obj> | ErrorCallback): void {
    this.cbs.set(verb, [...(this.cbs.get(verb) ?? []), cb]);
  }

  off(): void {}

  async start(): Promise<void> {
    this.starts++;
    let list: KubernetesListObject<Obj>;
    try {
      list = await this.listFn();
    } catch (err) {
      this.fire('error', err);
      return;
    }
    const names = new Set(list.items.map((o) => o.metadata?.name ?? ''));
    for (const [name, old] of [...this.objects]) {
      if (!names.has(name)) this.event('delete', old);
    }
    for (const o of list.items) {
      const known = this.objects.get(o.metadata?.name ?? '');
      if (known === undefined) this.event('add', o);
      else if (known.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.event('update', o);
    }
    const failure = this.watchFailures.shift();
    if (failure !== undefined) this.fire('error', failure);
    else this.onOpen();
  }

  async stop(): Promise<void> {
    this.stops++;
  }

  get(name: string): Obj | undefined {
    return this.objects.get(name);
  }

  list(): ReadonlyArray<Obj> {
    return [...this.objects.values()];
  }

  /** A watch event. */
  event(type: 'add' | 'update' | 'delete', obj: Obj): void {
    const name = obj.metadata?.name ?? '';
    if (type === 'delete') this.objects.delete(name);
    else this.objects.set(name, obj);
    this.fire(type, obj);
  }

  /** The informer gave up on an error. */
  fail(err: unknown): void {
    this.fire('error', err);
  }

  private fire(verb: string, arg: unknown): void {
    for (const cb of this.cbs.get(verb) ?? []) (cb as (a: unknown) => void)(arg);
  }
}

function setup(lists: Array<KubernetesListObject<Obj> | Error>) {
  let fake: FakeListWatch | undefined;
  const errors: Array<{ err: unknown; delay: number }> = [];
  const handlerErrors: unknown[] = [];
  const script = [...lists];
  const informer = new SupervisedInformer<Obj>({
    kc: fakeKubeConfig(),
    path: '/api/v1/namespaces/ns/pods',
    list: async () => {
      const next = script.length > 1 ? script.shift() : script[0];
      if (next === undefined || next instanceof Error) throw next ?? new Error('no script');
      return structuredClone(next);
    },
    onWatchError: (err, delay) => errors.push({ err, delay }),
    onHandlerError: (err) => handlerErrors.push(err),
    makeInformer: (list, onOpen) => (fake = new FakeListWatch(list, onOpen)),
    random: () => 0.5,
  });
  if (fake === undefined) throw new Error('makeInformer was not called');
  return { informer, fake, errors, handlerErrors };
}

const podList = (...items: Obj[]): KubernetesListObject<Obj> => ({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items });

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('restartDelayMs', () => {
  test.each([
    [0, 0.5, 1000],
    [1, 0.5, 2000],
    [4, 0.5, 16000],
    [5, 0.5, 30000],
    [50, 0.5, 30000],
    [0, 0, 800],
    [0, 1, 1200],
    [9, 1, 30000],
    [9, 0, 24000],
  ])('attempt %i with random %f waits %i ms', (attempt, r, want) => {
    expect(restartDelayMs(attempt, () => r)).toBe(want);
  });
});

describe('stampTypeMeta', () => {
  test('gives list items the kind and apiVersion of their list, keeping what they have', () => {
    const list = podList(pod('a', '1'), { kind: 'Other', apiVersion: 'x/v1', metadata: { name: 'b' } });
    stampTypeMeta(list);
    expect(list.items.map((i) => `${i.apiVersion} ${i.kind}`)).toEqual(['v1 Pod', 'x/v1 Other']);
  });

  test('leaves items alone when the list has no kind', () => {
    const list: KubernetesListObject<Obj> = { items: [pod('a', '1')] };
    stampTypeMeta(list);
    expect(list.items[0]?.kind).toBeUndefined();
  });
});

describe('SupervisedInformer', () => {
  test('start resolves once the first list is in the cache; handlers see typed objects', async () => {
    const { informer, fake } = setup([podList(pod('a', '1'), pod('b', '1'))]);
    const added: string[] = [];
    informer.onAdd((o) => added.push(`${o.kind}/${o.metadata?.name}`));
    expect(informer.synced).toBe(false);
    await informer.start();
    expect(informer.synced).toBe(true);
    expect(added).toEqual(['Pod/a', 'Pod/b']);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('1');
    expect(fake.starts).toBe(1);
    await informer.stop();
  });

  test('update handlers get the previous object; delete handlers the last state', async () => {
    const { informer, fake } = setup([podList(pod('a', '1'))]);
    const seen: string[] = [];
    informer.onUpdate((o, old) => seen.push(`update ${o.metadata?.resourceVersion} from ${old?.metadata?.resourceVersion}`));
    informer.onDelete((o) => seen.push(`delete ${o.metadata?.resourceVersion}`));
    await informer.start();
    fake.event('update', pod('a', '2'));
    fake.event('update', pod('a', '3'));
    fake.event('delete', pod('a', '3'));
    fake.event('update', pod('z', '1')); // never seen before: no old object
    expect(seen).toEqual(['update 2 from 1', 'update 3 from 2', 'delete 3', 'update 1 from undefined']);
    await informer.stop();
  });

  test('a failing first list is retried with growing back-off until it works', async () => {
    const { informer, fake, errors } = setup([new Error('forbidden'), new Error('forbidden'), podList(pod('a', '1'))]);
    let synced = false;
    const started = informer.start().then(() => (synced = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(errors.map((e) => e.delay)).toEqual([1000]);
    await jest.advanceTimersByTimeAsync(999);
    expect(fake.starts).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.starts).toBe(2);
    expect(errors.map((e) => e.delay)).toEqual([1000, 2000]);
    expect(synced).toBe(false);
    await jest.advanceTimersByTimeAsync(2000);
    await started;
    expect(fake.starts).toBe(3);
    expect(informer.list()).toHaveLength(1);
    await informer.stop();
  });

  test('an error after the sync restarts the informer; object events reset the back-off', async () => {
    const { informer, fake, errors } = setup([podList(pod('a', '1'))]);
    fake.watchFailures = [new Error('reset 1'), new Error('reset 2')];
    await informer.start();
    expect(errors.map((e) => e.delay)).toEqual([1000]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.starts).toBe(2);
    expect(errors.map((e) => e.delay)).toEqual([1000, 2000]);
    await jest.advanceTimersByTimeAsync(2000);
    expect(fake.starts).toBe(3);
    fake.event('update', pod('a', '9'));
    fake.fail(new Error('later'));
    expect(errors.map((e) => e.delay)).toEqual([1000, 2000, 1000]);
    await informer.stop();
  });

  test('a second error while a restart is pending does not schedule another', async () => {
    const { informer, fake, errors } = setup([podList()]);
    await informer.start();
    fake.fail(new Error('one'));
    fake.fail(new Error('two'));
    expect(errors).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.starts).toBe(2);
    await informer.stop();
  });

  test('a throwing handler is contained and the others still run', async () => {
    const { informer, handlerErrors } = setup([podList(pod('a', '1'))]);
    const seen: string[] = [];
    informer.onAdd(() => {
      throw new Error('handler bug');
    });
    informer.onAdd((o) => seen.push(o.metadata?.name ?? ''));
    await informer.start();
    expect(seen).toEqual(['a']);
    expect(handlerErrors).toHaveLength(1);
    await informer.stop();
  });

  test('stop before the first sync rejects start and cancels the pending restart', async () => {
    const { informer, fake } = setup([new Error('down')]);
    const started = informer.start();
    await jest.advanceTimersByTimeAsync(0);
    await informer.stop();
    await expect(started).rejects.toThrow(/stopped before its first sync/);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(fake.starts).toBe(1);
    expect(fake.stops).toBe(1);
    await expect(informer.start()).rejects.toThrow(/after stop/);
  });

  test('lastEventAgeSeconds counts from the last sign of life', async () => {
    const { informer, fake } = setup([podList(pod('a', '1'))]);
    expect(informer.lastEventAgeSeconds()).toBe(0);
    await informer.start();
    await jest.advanceTimersByTimeAsync(42_000);
    expect(informer.lastEventAgeSeconds()).toBe(42);
    fake.event('add', pod('b', '1'));
    expect(informer.lastEventAgeSeconds()).toBe(0);
    await informer.stop();
  });
});
