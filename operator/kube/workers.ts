// The worker loop of a controller: take a key, reconcile it, and translate the outcome into queue operations the way
// controller-runtime does (success forgets the back-off, RequeueAfter schedules, an error retries rate-limited).
import type { WorkQueue } from './workqueue.js';

/**
 * requeueAfterMs: plan the key again after this long. holdMs: its next pass, whatever wakes it, can wait this long
 * (WorkQueue.done); an error forgets the hold.
 */
export type ReconcileResult = { requeueAfterMs?: number; holdMs?: number } | void;

export interface RunWorkersOptions {
  /** Called with every error a reconcile throws, after the key was re-added rate-limited. */
  onError?(key: string, err: unknown): void;
}

/** Runs `concurrency` workers over the queue; resolves once the queue is shut down and every worker has exited. */
export async function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  handler: (key: string) => Promise<ReconcileResult>,
  opts: RunWorkersOptions = {},
): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`runWorkers: concurrency must be a positive integer (got ${concurrency})`);
  }
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      let holdMs = 0;
      try {
        const result = await handler(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        holdMs = result?.holdMs ?? 0;
      } catch (err) {
        queue.addRateLimited(key);
        opts.onError?.(key, err);
      } finally {
        queue.done(key, holdMs);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
