import { jest } from '@jest/globals';
import type { ErrorCallback, KubernetesListObject, KubernetesObject, ObjectCallback } from '@kubernetes/client-node';
import { fakeKubeConfig } from './fake-http.js';
import {
  isTooLargeResourceVersion,
  MAX_FAILED_RESUMES,
  needsRelist,
  restartDelayMs,
  isAhead,
  ResourceVersionAheadError,
  stampTypeMeta,
  SupervisedInformer,
  type ListFn,
} from './informer.js';

type Obj = KubernetesObject;

function pod(name: string, rv: string): Obj {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

/**
 * Mimics client-node's ListWatch where it matters: start() lists when it has no resourceVersion (fills the cache and
 * fires add/update/delete), then "opens the watch" from its resourceVersion; any failure fires the error callbacks
 * and leaves the informer stopped.
 */
class FakeListWatch {
  private readonly cbs = new Map<string, Array<ObjectCallback<Obj> | ErrorCallback>>();
  private readonly objects = new Map<string, Obj>();
  starts = 0;
  stops = 0;
  lists = 0;
  resourceVersion = '';
  /** Fails the watch right after a successful list, once per entry. */
  watchFailures: unknown[] = [];

  constructor(
    private readonly listFn: ListFn<Obj>,
    private readonly onHeard: () => void,
  ) {}

  forgetResourceVersion(): void {
    this.resourceVersion = '';
  }

  on(verb: string, cb: ObjectCallback<Obj> | ErrorCallback): void {
    this.cbs.set(verb, [...(this.cbs.get(verb) ?? []), cb]);
  }

  off(): void {}

  async start(): Promise<void> {
    this.starts++;
    if (this.resourceVersion === '') {
      let list: KubernetesListObject<Obj>;
      try {
        this.lists++;
        list = await this.listFn();
      } catch (err) {
        this.fire('error', err);
        return;
      }
      const names = new Set(list.items.map((o) => o.metadata?.name ?? ''));
      for (const [name, old] of [...this.objects]) {
        if (!names.has(name)) this.apply('delete', old);
      }
      for (const o of list.items) {
        const known = this.objects.get(o.metadata?.name ?? '');
        if (known === undefined) this.apply('add', o);
        else if (known.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.apply('update', o);
      }
      this.resourceVersion = list.metadata?.resourceVersion ?? 'listed';
    }
    const failure = this.watchFailures.shift();
    if (failure !== undefined) this.fire('error', failure);
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
    this.onHeard();
    this.apply(type, obj);
  }

  /** A watch bookmark. */
  bookmark(): void {
    this.onHeard();
  }

  private apply(type: 'add' | 'update' | 'delete', obj: Obj): void {
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

function setup(lists: Array<KubernetesListObject<Obj> | Error>, trim?: (obj: Obj) => void) {
  let fake: FakeListWatch | undefined;
  const errors: Array<{ err: unknown; delay: number; relist: boolean }> = [];
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
    onWatchError: (err, delay, relist) => errors.push({ err, delay, relist }),
    watchTimeoutSeconds: 10,
    onHandlerError: (err) => handlerErrors.push(err),
    makeInformer: (list, onHeard) => (fake = new FakeListWatch(list, onHeard)),
    random: () => 0.5,
    ...(trim ? { trim } : {}),
  });
  if (fake === undefined) throw new Error('makeInformer was not called');
  return { informer, fake, errors, handlerErrors };
}

const podList = (...items: Obj[]): KubernetesListObject<Obj> => ({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '100' }, items });
const withRv = (list: KubernetesListObject<Obj>, resourceVersion: string): KubernetesListObject<Obj> => ({ ...list, metadata: { resourceVersion } });

/** What the apiserver answers a watch from a resourceVersion it has not reached (after an etcd restore). */
const tooLarge = (): Error =>
  Object.assign(new Error('Too large resource version: 99999999, current: 120'), {
    statusCode: 504,
    body: {
      kind: 'Status',
      status: 'Failure',
      message: 'Too large resource version: 99999999, current: 120',
      reason: 'Timeout',
      details: { causes: [{ type: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
      code: 504,
    },
  });
const httpError = (code: number): Error => Object.assign(new Error(`HTTP ${code}`), { statusCode: code });

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('restartDelayMs', () => {
  test.each([
    { attempt: 0, random: 0.5, want: 1000 },
    { attempt: 1, random: 0.5, want: 2000 },
    { attempt: 4, random: 0.5, want: 16000 },
    { attempt: 5, random: 0.5, want: 30000 },
    { attempt: 50, random: 0.5, want: 30000 },
    { attempt: 0, random: 0, want: 800 },
    { attempt: 0, random: 1, want: 1200 },
    { attempt: 9, random: 1, want: 30000 },
    { attempt: 9, random: 0, want: 24000 },
  ])('attempt $attempt with random $random waits $want ms', ({ attempt, random, want }) => {
    expect(restartDelayMs(attempt, () => random)).toBe(want);
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

  test('trim: listed and watched objects are trimmed in place before handlers see them and the cache keeps them', async () => {
    const trimmed = (name: string, rv: string): Obj => ({ ...pod(name, rv), kind: 'Pod', apiVersion: 'v1' });
    const fat = (name: string, rv: string): Obj => ({ ...pod(name, rv), spec: { volumes: [{ name: 'v' }] } } as Obj);
    const { informer, fake } = setup([podList(fat('a', '1'))], (o) => delete (o as { spec?: unknown }).spec);
    const seen: unknown[] = [];
    informer.onAdd((o) => seen.push(o));
    informer.onUpdate((o) => seen.push(o));
    await informer.start();
    fake.event('update', { ...fat('a', '2'), kind: 'Pod', apiVersion: 'v1' });
    expect(seen).toEqual([trimmed('a', '1'), trimmed('a', '2')]);
    // The inner cache holds the very object the handlers saw: trimmed, not a trimmed copy beside the fat one.
    expect(fake.get('a')).toBe(seen[1]);
    expect(informer.get('a', 'ns')).toEqual(trimmed('a', '2'));
    await informer.stop();
  });

  test('a throwing trim is contained: the object is cached untrimmed and the handlers still run', async () => {
    const { informer, handlerErrors } = setup([podList(pod('a', '1'))], () => {
      throw new Error('trim failed');
    });
    const added: string[] = [];
    informer.onAdd((o) => added.push(o.metadata?.name ?? ''));
    await informer.start();
    expect(added).toEqual(['a']);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('1');
    expect(handlerErrors).toEqual([new Error('trim failed')]);
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

  test('retryNow: a restart waiting out its back-off goes at once, with the back-off reset; a no-op while watching', async () => {
    const { informer, fake, errors } = setup([podList()]);
    fake.watchFailures = [new Error('down 1'), new Error('down 2'), new Error('down 3'), new Error('down 4')];
    await informer.start();
    for (const delay of [1000, 2000, 4000]) await jest.advanceTimersByTimeAsync(delay);
    expect(errors.map((e) => e.delay)).toEqual([1000, 2000, 4000, 8000]);
    expect(fake.starts).toBe(4);
    informer.retryNow();
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.starts).toBe(5);
    // The back-off starts over: the next failure waits the base delay, not 16 s.
    fake.fail(new Error('once more'));
    expect(errors.at(-1)?.delay).toBe(1000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.starts).toBe(6);
    informer.retryNow();
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.starts).toBe(6);
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

describe('needsRelist', () => {
  test.each<{ name: string; err: unknown; relist: boolean }>([
    { name: 'too large resource version (504 + cause)', err: tooLarge(), relist: true },
    {
      name: 'too large, as a generated client throws it (string body)',
      err: { code: 504, body: JSON.stringify({ message: 'Too large resource version: 9, current: 3', details: { causes: [{ type: 'ResourceVersionTooLarge' }] } }) },
      relist: true,
    },
    { name: 'our resourceVersion ahead of the server\'s (found after a silent watch)', err: new ResourceVersionAheadError('99999999', '120'), relist: true },
    { name: 'a bare 504 on a watch (no body to tell)', err: httpError(504), relist: true },
    { name: '410 Gone', err: httpError(410), relist: true },
    { name: '400 bad resourceVersion', err: httpError(400), relist: true },
    { name: '403 Forbidden', err: httpError(403), relist: true },
    { name: '429 throttled: resume', err: httpError(429), relist: false },
    { name: '500: resume', err: httpError(500), relist: false },
    { name: '503: resume', err: httpError(503), relist: false },
    { name: 'connection refused: resume', err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), relist: false },
    { name: 'client timeout: resume', err: new DOMException('aborted', 'TimeoutError'), relist: false },
  ])('$name', ({ err, relist }) => {
    expect(needsRelist(err)).toBe(relist);
  });

  test.each([
    { a: '99999999', b: '120', ahead: true },
    { a: '120', b: '120', ahead: false },
    { a: '119', b: '120', ahead: false },
    { a: '18446744073709551616', b: '9007199254740993', ahead: true }, // past Number's precision
    { a: 'abc', b: '1', ahead: false },
    { a: '5', b: '', ahead: false },
  ])('isAhead($a, $b) is $ahead', ({ a, b, ahead }) => {
    expect(isAhead(a, b)).toBe(ahead);
  });

  test('isTooLargeResourceVersion reads the cause or the message', () => {
    expect(isTooLargeResourceVersion(tooLarge())).toBe(true);
    expect(isTooLargeResourceVersion(new Error('Timeout: Too large resource version: 5, current: 4'))).toBe(true);
    expect(isTooLargeResourceVersion(httpError(504))).toBe(false);
    expect(isTooLargeResourceVersion(null)).toBe(false);
  });
});

describe('SupervisedInformer relists', () => {
  test('"Too large resource version" drops the resourceVersion: the restart lists again and replaces the cache', async () => {
    // The first list carries a resourceVersion from before an etcd restore; the server has never reached it.
    const { informer, fake, errors } = setup([
      withRv(podList(pod('a', '1'), pod('b', '1')), '99999999'),
      withRv(podList(pod('a', '2'), pod('c', '1')), '120'),
    ]);
    const seen: string[] = [];
    informer.onAdd((o) => seen.push(`add ${o.metadata?.name}`));
    informer.onUpdate((o, old) => seen.push(`update ${o.metadata?.name} ${old?.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`));
    informer.onDelete((o) => seen.push(`delete ${o.metadata?.name}`));
    fake.watchFailures = [tooLarge()];
    await informer.start();
    expect(errors.map((e) => e.relist)).toEqual([true]);
    expect(fake.resourceVersion).toBe('');
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.lists).toBe(2);
    expect(fake.resourceVersion).toBe('120');
    expect(seen).toEqual(['add a', 'add b', 'delete b', 'update a 1->2', 'add c']);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'c']);
    // and it goes on delivering what happens next
    fake.event('update', pod('c', '2'));
    expect(seen.at(-1)).toBe('update c 1->2');
    await informer.stop();
  });

  test('a network error resumes from the resourceVersion; failed resumes in a row end in a relist', async () => {
    const { informer, fake, errors } = setup([podList(pod('a', '1'))]);
    const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    fake.watchFailures = Array.from({ length: MAX_FAILED_RESUMES + 1 }, refused);
    await informer.start();
    for (let i = 0; i < MAX_FAILED_RESUMES; i++) await jest.advanceTimersByTimeAsync(errors.at(-1)?.delay ?? 0);
    expect(errors.map((e) => e.relist)).toEqual([...Array<boolean>(MAX_FAILED_RESUMES).fill(false), true]);
    expect(fake.lists).toBe(1); // every restart so far resumed
    await jest.advanceTimersByTimeAsync(errors.at(-1)?.delay ?? 0);
    expect(fake.lists).toBe(2);
    await informer.stop();
  });

  test('hearing from the watch between failures keeps resuming', async () => {
    const { informer, fake, errors } = setup([podList(pod('a', '1'))]);
    await informer.start();
    for (let i = 0; i < MAX_FAILED_RESUMES + 2; i++) {
      fake.bookmark();
      fake.fail(httpError(503));
      await jest.advanceTimersByTimeAsync(30_000);
    }
    expect(errors.every((e) => !e.relist)).toBe(true);
    expect(fake.lists).toBe(1);
    await informer.stop();
  });
});

describe('SupervisedInformer readiness', () => {
  test('not ready until synced, then while it hears nothing for over twice its watch timeout', async () => {
    const { informer, fake } = setup([new Error('down'), podList(pod('a', '1'))]);
    const started = informer.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(informer.notReadyReason()).toBe('/api/v1/namespaces/ns/pods: not synced');
    await jest.advanceTimersByTimeAsync(1000);
    await started;
    expect(informer.notReadyReason()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(15_000);
    fake.bookmark();
    await jest.advanceTimersByTimeAsync(20_000);
    expect(informer.notReadyReason()).toBeUndefined(); // 20 s of silence: the limit is 2 × 10 s
    await jest.advanceTimersByTimeAsync(1_000);
    expect(informer.notReadyReason()).toBe('/api/v1/namespaces/ns/pods: nothing heard for 21 s (limit 20 s)');
    fake.event('add', pod('b', '1'));
    expect(informer.notReadyReason()).toBeUndefined();
    await informer.stop();
  });

  test('a relist alone is not hearing from the watch: an informer stuck relisting goes not ready', async () => {
    const { informer, fake } = setup([withRv(podList(pod('a', '1')), '99999999')]);
    fake.watchFailures = Array.from({ length: 10 }, tooLarge);
    await informer.start();
    await jest.advanceTimersByTimeAsync(25_000);
    expect(fake.lists).toBeGreaterThan(3);
    expect(informer.notReadyReason()).toMatch(/nothing heard/);
    await informer.stop();
  });
});
