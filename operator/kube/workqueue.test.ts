import { jest } from '@jest/globals';
import { MAX_HOLD_MS, WorkQueue, type WorkQueueHooks } from './workqueue.js';

// Every test drives time with jest's modern fake timers, which also fake Date.now, so nothing depends on wall time.
beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

const PENDING = Symbol('pending');

/** Resolves with what get() yields, or PENDING when it is still waiting after the microtask queue settles. */
async function peek(p: Promise<string | undefined>): Promise<string | undefined | typeof PENDING> {
  return Promise.race([p, Promise.resolve().then((): typeof PENDING => PENDING)]);
}

describe('WorkQueue de-duplication', () => {
  test('a key added while queued is not duplicated', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  test('hands keys out in FIFO order', async () => {
    const q = new WorkQueue();
    for (const k of ['c', 'a', 'b']) q.add(k);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'a', 'b']);
  });

  test('a key added while processing is not handed to a second worker but re-queued on done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await peek(q.get())).toBe(PENDING);
    q.done('a');
    expect(q.len()).toBe(0); // handed straight to the waiting get() above
  });

  test('done() without a re-add does not re-queue', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    expect(await peek(q.get())).toBe(PENDING);
  });

  test('done() of a key never handed out is a no-op', () => {
    const q = new WorkQueue();
    q.add('a');
    q.done('a');
    expect(q.len()).toBe(1);
  });

  test('get() waits for the next add', async () => {
    const q = new WorkQueue();
    const p = q.get();
    expect(await peek(p)).toBe(PENDING);
    q.add('x');
    expect(await p).toBe('x');
  });

  test('several waiting workers each get a different key', async () => {
    const q = new WorkQueue();
    const p1 = q.get();
    const p2 = q.get();
    q.add('a');
    q.add('b');
    expect(await Promise.all([p1, p2])).toEqual(['a', 'b']);
  });
});

describe('WorkQueue delays', () => {
  test('addAfter adds the key once the delay has passed', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 100);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(99);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });

  test('addAfter keeps the earliest time when added again', () => {
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.addAfter('a', 100);
    q.addAfter('a', 500);
    jest.advanceTimersByTime(100);
    expect(q.len()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(q.len()).toBe(1); // the later timers were dropped, not merely outrun
    expect(jest.getTimerCount()).toBe(0);
  });

  test('addAfter with a zero or negative delay adds at once', () => {
    const q = new WorkQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  test('a delayed key that is already queued is not duplicated when its timer fires', () => {
    const q = new WorkQueue();
    q.add('a');
    q.addAfter('a', 10);
    jest.advanceTimersByTime(10);
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue delays past setTimeout\'s limit', () => {
  const THIRTY_DAYS_MS = 2_592_000_000;
  const HOUR_MS = 3_600_000;

  /** A level-triggered controller over the queue: each pass of 'a' asks to come back when the deadline is due. */
  function requeueingUntil(q: WorkQueue, deadlineMs: number): { passes: () => number } {
    let passes = 0;
    const loop = async (): Promise<void> => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        passes++;
        // Past the deadline the planner has done its work and asks for nothing more.
        if (Date.now() < deadlineMs) q.addAfter(key, deadlineMs - Date.now());
        q.done(key);
      }
    };
    void loop();
    return { passes: () => passes };
  }

  test('a 30-day requeue does not come back within a minute (setTimeout alone would fire in 1 ms)', async () => {
    const q = new WorkQueue();
    const c = requeueingUntil(q, Date.now() + THIRTY_DAYS_MS);
    q.add('a');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(c.passes()).toBe(1);
    q.shutDown();
  });

  test('a clamped key is recomputed within an hour, then once an hour', async () => {
    const q = new WorkQueue();
    const c = requeueingUntil(q, Date.now() + THIRTY_DAYS_MS);
    q.add('a');
    await jest.advanceTimersByTimeAsync(HOUR_MS - 1);
    expect(c.passes()).toBe(1);
    await jest.advanceTimersByTimeAsync(1 + 10);
    expect(c.passes()).toBe(2);
    await jest.advanceTimersByTimeAsync(3 * HOUR_MS);
    expect(c.passes()).toBe(5);
    expect(jest.getTimerCount()).toBe(1); // one timer per key, never a pile of them
    q.shutDown();
  });

  test('the deadline itself is honoured once it is within reach', async () => {
    const q = new WorkQueue();
    const c = requeueingUntil(q, Date.now() + HOUR_MS + 5_000);
    q.add('a');
    await jest.advanceTimersByTimeAsync(HOUR_MS);
    expect(c.passes()).toBe(2); // woke at the clamp, asked again for the 5 s left
    await jest.advanceTimersByTimeAsync(5_000);
    expect(c.passes()).toBe(3);
    q.shutDown();
  });

  test.each([
    { name: 'Infinity', ms: Infinity },
    { name: 'NaN', ms: NaN },
    { name: 'int32 max seconds in ms', ms: 2_147_483_647_000 },
  ])('addAfter($name) sleeps the clamp, not 1 ms', ({ ms }) => {
    const q = new WorkQueue();
    q.addAfter('a', ms);
    jest.advanceTimersByTime(HOUR_MS - 1);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });

  test('of two clamped requeues the earlier still wins', () => {
    const q = new WorkQueue();
    q.addAfter('a', THIRTY_DAYS_MS);
    q.addAfter('a', 10 * HOUR_MS);
    q.addAfter('a', 2_000);
    jest.advanceTimersByTime(2_000);
    expect(q.len()).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('WorkQueue rate limiting', () => {
  test('the per-key back-off doubles with each failure and forget() resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = Date.now();
      q.addRateLimited('a');
      // Step the clock 1 ms at a time until the key shows up, to measure the delay that was applied.
      while (q.len() === 0) jest.advanceTimersByTime(1);
      delays.push(Date.now() - before);
      // Hand it out and finish it so the next add is accepted.
      void q.get();
      q.done('a');
    }
    expect(delays).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(q.numRequeues('a')).toBe(9);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('a');
    jest.advanceTimersByTime(9);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });

  test('keys back off independently', () => {
    const q = new WorkQueue({ baseDelayMs: 10 });
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addRateLimited('b');
    expect(q.numRequeues('a')).toBe(2);
    expect(q.numRequeues('b')).toBe(1);
    jest.advanceTimersByTime(10); // b's first delay; a is still waiting at its first (earliest) time
    expect(q.len()).toBe(2);
  });

  test('the global bucket spaces retries once its burst is used up', () => {
    const q = new WorkQueue({ baseDelayMs: 1, qps: 10, burst: 2 });
    for (const k of ['a', 'b', 'c', 'd']) q.addRateLimited(k);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(2); // a and b had tokens
    jest.advanceTimersByTime(99);
    expect(q.len()).toBe(3); // c waited 100 ms for its token
    jest.advanceTimersByTime(100);
    expect(q.len()).toBe(4);
  });

  test('plain add() and addAfter() are not rate limited', () => {
    const q = new WorkQueue({ qps: 1, burst: 1 });
    for (let i = 0; i < 50; i++) q.add(`k${i}`);
    expect(q.len()).toBe(50);
  });
});

describe('WorkQueue pacing', () => {
  /** A queue with these options whose key a has been in its pass for passMs. */
  async function inPass(options: ConstructorParameters<typeof WorkQueue>[0], passMs: number): Promise<WorkQueue> {
    const q = new WorkQueue(options);
    q.add('a');
    expect(await q.get()).toBe('a');
    jest.advanceTimersByTime(passMs);
    return q;
  }

  test('after a pass of d ms, the same key waits factor × d before its next pass; each wait covers every add', async () => {
    const q = await inPass({ pace: { factor: 2, maxMs: 1000 } }, 10);
    q.add('a');
    q.add('a');
    q.done('a');
    expect(q.len()).toBe(0); // held for 20 ms
    jest.advanceTimersByTime(19);
    q.add('a');
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a'); // a pass of 0 ms: no pause
    q.add('a');
    expect(q.len()).toBe(1);
  });

  test('the pause is capped at maxMs and only holds back the key that ran', async () => {
    const q = await inPass({ pace: { factor: 10, maxMs: 50 } }, 100);
    q.done('a');
    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('b');
    jest.advanceTimersByTime(49);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(await q.get()).toBe('a');
  });

  test('a key added once its pause is over goes in line at once', async () => {
    const q = await inPass({ pace: { factor: 1, maxMs: 1000 } }, 30);
    q.done('a');
    jest.advanceTimersByTime(30);
    q.add('a');
    expect(q.len()).toBe(1);
  });

  test('shutDown drops keys held by pacing', async () => {
    const q = await inPass({ pace: { factor: 1, maxMs: 1000 } }, 30);
    q.add('a');
    q.done('a');
    q.shutDown();
    expect(jest.getTimerCount()).toBe(0);
  });

  test('without pace, a key re-added during its pass is back in line when the pass ends', async () => {
    const q = await inPass({}, 100);
    q.add('a');
    q.done('a');
    expect(q.len()).toBe(1);
  });

  test('a pass may hold its key longer than its pacing: every add meanwhile folds into one pass after the hold', async () => {
    const q = await inPass({ pace: { factor: 1, maxMs: 1000 } }, 10);
    q.done('a', 100);
    for (let i = 0; i < 5; i++) {
      q.add('a');
      jest.advanceTimersByTime(19);
    }
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(5);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    q.add('a');
    expect(q.len()).toBe(1); // the hold was for one pass only
  });

  test('a hold shorter than the pacing changes nothing, and holds work without pacing too', async () => {
    const paced = await inPass({ pace: { factor: 2, maxMs: 1000 } }, 10);
    paced.done('a', 5);
    paced.add('a');
    jest.advanceTimersByTime(19);
    expect(paced.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(paced.len()).toBe(1);
    const unpaced = await inPass({}, 10);
    unpaced.done('a', 50);
    unpaced.add('a');
    jest.advanceTimersByTime(49);
    expect(unpaced.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(unpaced.len()).toBe(1);
  });

  test('a hold that is not a finite number holds nothing; a huge one is capped', async () => {
    const q = await inPass({}, 10);
    q.done('a', Number.NaN);
    q.add('a');
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a', 1e12);
    q.add('a');
    jest.advanceTimersByTime(MAX_HOLD_MS);
    expect(q.len()).toBe(1);
  });

  test('a negative pace is refused', () => {
    expect(() => new WorkQueue({ pace: { factor: -1, maxMs: 10 } })).toThrow(/pace/);
  });
});

describe('WorkQueue shutdown', () => {
  test('shutDown wakes waiting workers with undefined and later gets return undefined', async () => {
    const q = new WorkQueue();
    const p1 = q.get();
    const p2 = q.get();
    q.shutDown();
    expect(await p1).toBeUndefined();
    expect(await p2).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  test('shutDown stops handing out keys that were still queued', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.shutDown();
    expect(await q.get()).toBeUndefined();
  });

  test('shutDown clears delayed adds so no timer keeps the process alive', () => {
    const q = new WorkQueue();
    q.addAfter('a', 10_000);
    q.addRateLimited('b');
    expect(jest.getTimerCount()).toBe(2);
    q.shutDown();
    expect(jest.getTimerCount()).toBe(0);
    q.addAfter('c', 10);
    q.addRateLimited('d');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a key re-added while processing is not re-queued after shutdown', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.add('a');
    q.shutDown();
    q.done('a');
    expect(q.len()).toBe(0);
  });

  test('drain shuts down and resolves once in-flight keys are done', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    let drained = false;
    const d = q.drain().then(() => {
      drained = true;
    });
    expect(q.isShuttingDown()).toBe(true);
    q.done('a');
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('b');
    await d;
    expect(drained).toBe(true);
  });

  test('drain with nothing in flight resolves at once', async () => {
    await expect(new WorkQueue().drain()).resolves.toBeUndefined();
  });
});

describe('WorkQueue hooks', () => {
  test('report adds, depth, latency, work duration and retries', async () => {
    const calls: string[] = [];
    const hooks: WorkQueueHooks = {
      onAdd: (n) => calls.push(`add:${n}`),
      onDepth: (n, d) => calls.push(`depth:${n}:${d}`),
      onLatency: (n, s) => calls.push(`latency:${n}:${s}`),
      onWorkDuration: (n, s) => calls.push(`work:${n}:${s}`),
      onRetry: (n) => calls.push(`retry:${n}`),
    };
    const q = new WorkQueue({ name: 'pool', hooks });
    q.add('a');
    q.add('a'); // de-duplicated: no add, no depth
    jest.advanceTimersByTime(250);
    await q.get();
    jest.advanceTimersByTime(1500);
    q.done('a');
    q.addRateLimited('a');
    expect(calls).toEqual([
      'add:pool',
      'depth:pool:1',
      'latency:pool:0.25',
      'depth:pool:0',
      'work:pool:1.5',
      'retry:pool',
    ]);
  });
});
