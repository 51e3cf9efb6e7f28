// The load: open-loop claims at a fixed rate (a new claim every 1/rate s whatever the earlier ones are doing, up to
// `concurrency` in flight) against a few pools, Delete and Return mixed, each released (deleted) a few seconds after
// it is Bound. Claim phases are read from the invariant watcher's snapshots (the API server's view), and every
// API call is retried with a back-off through faults, up to a deadline.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { InvariantWatcher } from './watcher.js';

export interface LoadOptions {
  kubeconfig: string;
  namespace: string;
  pools: readonly string[];
  count: number;
  ratePerSecond: number;
  concurrency: number;
  holdMs: { min: number; max: number };
  /** How long a claim may take to be Bound (or end Failed/Lost) before it counts as stuck. */
  bindDeadlineMs: number;
  /** How long a deleted claim may take to go away (Return claims wait on the operator's finalizer). */
  goneDeadlineMs: number;
  seed: number;
  log?: (line: string) => void;
}

export type Outcome = 'released' | 'lost' | 'failed' | 'stuck-pending' | 'stuck-deleting' | 'create-failed';

export interface ClaimResult {
  name: string;
  pool: string;
  reclaimPolicy: 'Delete' | 'Return';
  createdAt: number;
  boundAfterMs?: number;
  outcome: Outcome;
  /** The claim's last phase and reason as the watcher saw them. */
  phase?: string;
  reason?: string;
}

export interface LoadResult {
  started: number;
  finished: number;
  claims: ClaimResult[];
  /** Times the open loop had to wait for a free slot (concurrency reached). */
  slotWaits: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries fn with a back-off (100 ms doubling to 2 s) until it succeeds or the deadline passes; ok(e) ends early. */
async function retry<T>(deadline: number, fn: () => Promise<T>, done: (e: unknown) => boolean = () => false): Promise<T | undefined> {
  let wait = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (done(e)) return undefined;
      if (Date.now() + wait > deadline) throw e;
      await sleep(wait);
      wait = Math.min(wait * 2, 2000);
    }
  }
}

const statusCode = (e: unknown): number | undefined => (e as { code?: number }).code;

export async function runLoad(o: LoadOptions, watcher: InvariantWatcher): Promise<LoadResult> {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const api = kc.makeApiClient(CustomObjectsApi);
  let seed = o.seed;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const results: ClaimResult[] = [];
  const started = Date.now();
  let inFlight = 0;
  let slotWaits = 0;
  const slotFreed: (() => void)[] = [];
  const all: Promise<void>[] = [];
  const base = { group: 'warmpool.dev', version: 'v1alpha1', namespace: o.namespace, plural: 'poolclaims' };

  const waitFor = async (name: string, pred: (phase: string | undefined) => boolean, deadline: number): Promise<boolean> => {
    for (;;) {
      if (pred(watcher.claim(name)?.phase)) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  };

  const one = async (i: number): Promise<void> => {
    const pool = o.pools[i % o.pools.length] ?? '';
    const reclaimPolicy = rand() < 0.5 ? 'Delete' : 'Return';
    const hold = o.holdMs.min + Math.floor(rand() * (o.holdMs.max - o.holdMs.min));
    const name = `load-${String(i).padStart(6, '0')}`;
    const createdAt = Date.now();
    const r: ClaimResult = { name, pool, reclaimPolicy, createdAt, outcome: 'create-failed' };
    results.push(r);
    const body = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', metadata: { name, namespace: o.namespace }, spec: { poolName: pool, reclaimPolicy, acquiredBy: `tenant-${i % 7}` } };
    try {
      // A create that timed out may have happened: 409 AlreadyExists means it did.
      await retry(createdAt + o.bindDeadlineMs, () => api.createNamespacedCustomObject({ ...base, body }), (e) => statusCode(e) === 409);
    } catch {
      return;
    }
    const settled = await waitFor(name, (p) => p === 'Bound' || p === 'Lost' || p === 'Failed', createdAt + o.bindDeadlineMs);
    const seen = watcher.claim(name);
    r.phase = seen?.phase;
    r.reason = seen?.reason;
    if (!settled) r.outcome = 'stuck-pending';
    else if (seen?.phase === 'Bound') {
      r.boundAfterMs = Date.now() - createdAt;
      await sleep(hold);
      const after = watcher.claim(name);
      r.phase = after?.phase;
      r.reason = after?.reason;
      r.outcome = after?.phase === 'Lost' ? 'lost' : 'released';
    } else r.outcome = seen?.phase === 'Lost' ? 'lost' : 'failed';
    const delAt = Date.now();
    try {
      await retry(delAt + o.goneDeadlineMs, () => api.deleteNamespacedCustomObject({ ...base, name }), (e) => statusCode(e) === 404);
    } catch {
      r.outcome = 'stuck-deleting';
      return;
    }
    if (!(await waitFor(name, () => watcher.claim(name) === undefined, delAt + o.goneDeadlineMs))) r.outcome = 'stuck-deleting';
  };

  const intervalMs = 1000 / o.ratePerSecond;
  for (let i = 0; i < o.count; i++) {
    const due = started + i * intervalMs;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight >= o.concurrency) {
      slotWaits++;
      await new Promise<void>((r) => slotFreed.push(r));
    }
    inFlight++;
    all.push(
      one(i).finally(() => {
        inFlight--;
        slotFreed.shift()?.();
      }),
    );
    if (i > 0 && i % 100 === 0) o.log?.(`load: ${i} claims started, ${inFlight} in flight`);
  }
  await Promise.all(all);
  return { started, finished: Date.now(), claims: results, slotWaits };
}
