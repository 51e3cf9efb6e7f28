import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { buildEvent, EVENT_SPAM_WINDOW_MS, EventRecorder, EventSpamFilter, eventKey } from './events.js';

const pool: KubernetesObject = {
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'web', namespace: 'ns1', uid: 'uid-1' },
};
const other: KubernetesObject = { ...pool, metadata: { name: 'api', namespace: 'ns1', uid: 'uid-2' } };

/** A fake core API that records created Events and fails when told to. */
function fakeCore(fail?: (event: CoreV1Event) => Error | undefined) {
  const created: CoreV1Event[] = [];
  return {
    created,
    api: {
      async createNamespacedEvent(param: { namespace: string; body: CoreV1Event }): Promise<CoreV1Event> {
        const err = fail?.(param.body);
        if (err) throw err;
        expect(param.namespace).toBe(param.body.metadata.namespace);
        created.push(param.body);
        return param.body;
      },
    },
  };
}

describe('EventSpamFilter', () => {
  test('lets a key through once per window', () => {
    const f = new EventSpamFilter(1000);
    expect(f.allow('a', 0)).toBe(true);
    expect(f.allow('a', 999)).toBe(false);
    expect(f.allow('b', 999)).toBe(true);
    expect(f.allow('a', 1000)).toBe(true);
    expect(f.allow('a', 1500)).toBe(false); // the window restarted at 1000
  });

  test('forgets keys once their window has passed', () => {
    const f = new EventSpamFilter(1000);
    for (let i = 0; i < 100; i++) f.allow(`k${i}`, i);
    expect(f.size()).toBe(100);
    f.allow('late', 1050);
    expect(f.size()).toBe(50); // k0..k50 expired at 1050; k51..k99 and 'late' remain
  });
});

describe('eventKey', () => {
  test('tells objects, types, reasons and messages apart', () => {
    const keys = new Set([
      eventKey(pool, 'Normal', 'Created', 'm'),
      eventKey(other, 'Normal', 'Created', 'm'),
      eventKey(pool, 'Warning', 'Created', 'm'),
      eventKey(pool, 'Normal', 'Deleted', 'm'),
      eventKey(pool, 'Normal', 'Created', 'n'),
      // separators inside fields cannot make two different events collide
      eventKey(pool, 'Normal', 'a|b', 'c'),
      eventKey(pool, 'Normal', 'a', 'b|c'),
    ]);
    expect(keys.size).toBe(7);
  });

  test('falls back to kind/namespace/name without a uid', () => {
    const noUid = { kind: 'Pod', metadata: { name: 'p', namespace: 'n' } };
    expect(eventKey(noUid, 'Normal', 'r', 'm')).toContain('Pod/n/p');
  });
});

describe('buildEvent', () => {
  test('fills the core/v1 fields', () => {
    const e = buildEvent(pool, 'Warning', 'InvalidSpec', 'bad', { component: 'warmpool', instance: 'op-0' }, 1_700_000_000_123, 7);
    expect(e).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `web.${(1_700_000_000_123n * 1_000_000n + 7n).toString(16)}`, namespace: 'ns1' },
      involvedObject: { apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'web', namespace: 'ns1', uid: 'uid-1' },
      type: 'Warning',
      reason: 'InvalidSpec',
      message: 'bad',
      source: { component: 'warmpool' },
      reportingComponent: 'warmpool',
      reportingInstance: 'op-0',
      firstTimestamp: new Date(1_700_000_000_123),
      lastTimestamp: new Date(1_700_000_000_123),
      count: 1,
    });
    expect(e.eventTime).toBeUndefined();
  });

  test('names differ within one millisecond and long messages are cut', () => {
    const src = { component: 'c', instance: 'i' };
    const a = buildEvent(pool, 'Normal', 'r', 'x'.repeat(5000), src, 1000, 0);
    const b = buildEvent(pool, 'Normal', 'r', 'm', src, 1000, 1);
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.message).toHaveLength(1024);
  });
});

describe('EventRecorder', () => {
  test('writes an Event once per object, reason and message within the window', async () => {
    let now = 1_000_000;
    const core = fakeCore();
    const r = new EventRecorder({ core: core.api, instance: 'op-0', now: () => now });
    r.record(pool, 'Normal', 'MemberCreated', 'created m1');
    r.record(pool, 'Normal', 'MemberCreated', 'created m1');
    r.record(pool, 'Normal', 'MemberCreated', 'created m2');
    r.record(other, 'Normal', 'MemberCreated', 'created m1');
    now += EVENT_SPAM_WINDOW_MS - 1;
    r.record(pool, 'Normal', 'MemberCreated', 'created m1');
    now += 1;
    r.record(pool, 'Normal', 'MemberCreated', 'created m1');
    await r.flush();
    expect(core.created.map((e) => `${e.involvedObject.name}:${e.message}`)).toEqual([
      'web:created m1',
      'web:created m2',
      'api:created m1',
      'web:created m1', // the window had passed
    ]);
    expect(core.created).toHaveLength(4);
    expect(new Set(core.created.map((e) => e.metadata.name)).size).toBe(4);
    expect(core.created.every((e) => e.reportingInstance === 'op-0' && e.source?.component === 'warmpool')).toBe(true);
  });

  test('a failed write goes to onError, never to the caller', async () => {
    const core = fakeCore(() => new Error('apiserver down'));
    const errors: string[] = [];
    const r = new EventRecorder({
      core: core.api,
      onError: (err, event) => errors.push(`${(err as Error).message} (${event?.reason ?? '?'})`),
    });
    expect(() => r.record(pool, 'Warning', 'CreateFailed', 'x')).not.toThrow();
    await r.flush();
    expect(errors).toEqual(['apiserver down (CreateFailed)']);
  });

  test('an API that throws synchronously, or a throwing onError, does not reach the caller either', async () => {
    const r = new EventRecorder({
      core: {
        createNamespacedEvent: () => {
          throw new Error('sync');
        },
      },
      onError: () => {
        throw new Error('callback');
      },
    });
    expect(() => r.record(pool, 'Normal', 'r', 'm')).not.toThrow();
    await r.flush();
  });

  test('an object without metadata is still described', async () => {
    const core = fakeCore();
    const r = new EventRecorder({ core: core.api });
    r.record({ kind: 'Thing' }, 'Normal', 'r', 'm');
    await r.flush();
    expect(core.created[0]?.metadata.namespace).toBe('default');
  });
});
