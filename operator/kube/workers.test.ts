import { runWorkers, type ReconcileResult } from './workers.js';
import { WorkQueue } from './workqueue.js';

// These tests use real timers with delays of a few milliseconds; they assert on outcomes, never on durations.

/** Resolves once cond() holds, polling on macrotasks; fails the test after a generous bound. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('runWorkers', () => {
  test('a success forgets the back-off', async () => {
    const q = new WorkQueue();
    q.addRateLimited('a'); // one earlier failure
    const seen: string[] = [];
    const done = runWorkers(q, 1, async (key) => {
      seen.push(key);
    });
    await until(() => seen.length === 1, 'the reconcile');
    await until(() => q.numRequeues('a') === 0, 'forget');
    q.shutDown();
    await done;
  });

  test('a thrown error re-adds the key rate-limited and reports it', async () => {
    const q = new WorkQueue({ baseDelayMs: 1 });
    let calls = 0;
    const errors: string[] = [];
    const done = runWorkers(
      q,
      1,
      async () => {
        calls++;
        if (calls < 3) throw new Error(`boom ${calls}`);
      },
      { onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`) },
    );
    q.add('a');
    await until(() => calls === 3, 'three attempts');
    await until(() => q.numRequeues('a') === 0, 'forget after the success');
    expect(errors).toEqual(['a: boom 1', 'a: boom 2']);
    q.shutDown();
    await done;
  });

  test('requeueAfterMs schedules the key again', async () => {
    const q = new WorkQueue();
    let calls = 0;
    const done = runWorkers(q, 1, async (): Promise<ReconcileResult> => {
      calls++;
      return calls === 1 ? { requeueAfterMs: 5 } : undefined;
    });
    q.add('a');
    await until(() => calls === 2, 'the requeue');
    q.shutDown();
    await done;
    expect(calls).toBe(2);
  });

  test('one key is never reconciled by two workers at once, while different keys run in parallel', async () => {
    const q = new WorkQueue();
    const running = new Set<string>();
    let overlap = false;
    let maxParallel = 0;
    let finished = 0;
    const done = runWorkers(q, 4, async (key) => {
      if (running.has(key)) overlap = true;
      running.add(key);
      maxParallel = Math.max(maxParallel, running.size);
      await new Promise((r) => setTimeout(r, 5));
      running.delete(key);
      finished++;
    });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await new Promise((r) => setTimeout(r, 1));
    q.add('a'); // 'a' is in flight: it must wait for its first run to finish
    await until(() => finished === 5, 'five reconciles');
    q.shutDown();
    await done;
    expect(overlap).toBe(false);
    expect(maxParallel).toBeGreaterThan(1);
  });

  test('resolves after shutdown once the in-flight reconcile has finished', async () => {
    const q = new WorkQueue();
    let release: () => void = () => undefined;
    let finished = false;
    const done = runWorkers(q, 2, async () => {
      await new Promise<void>((r) => (release = r));
      finished = true;
    });
    q.add('a');
    await until(() => q.len() === 0, 'pick-up');
    q.shutDown();
    let exited = false;
    void done.then(() => (exited = true));
    await new Promise((r) => setTimeout(r, 2));
    expect(exited).toBe(false);
    release();
    await done;
    expect(finished).toBe(true);
  });

  test('rejects a bad concurrency', async () => {
    await expect(runWorkers(new WorkQueue(), 0, async () => undefined)).rejects.toThrow(/concurrency/);
  });
});
