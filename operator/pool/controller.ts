// The pool controller's shell: observe one pool and its members from the caches, let planPool decide, carry out
// what it decided. Every decision is in plan.ts; this file only reads caches, writes to the API and remembers what
// a level-triggered loop must remember between passes (expectations, recent failures, its own status writes).
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { CachedPod } from '../member/cached-pod.js';
import { templateHash } from '../api/hash.js';
import {
  POOL_FINALIZER,
  POOL_RESOURCE,
  type InstancePool,
  type InstancePoolStatus,
  type PoolUtilization,
} from '../api/types.js';
import { poolResolver, resolveSpec, type PoolDoor } from '../api/resolve.js';
import type { EventRecorder } from '../kube/events.js';
import { CONFLICT_REPLAN_MS, errorMessage, isConflict, isNotFound, statusCode } from '../kube/errors.js';
import type { Expectations } from '../kube/expectations.js';
import type { CacheIndex } from '../kube/cache-index.js';
import type { Cache } from '../kube/informer-set.js';
import { customClient, podClient, removeFinalizerOps, type CustomClient, type PodClient } from '../kube/patch.js';
import type { ReconcileResult } from '../kube/workers.js';
import type { WorkQueue } from '../kube/workqueue.js';
import { OwnWrites } from '../kube/own-writes.js';
import { classifyMember, memberOwner, memberPoolKey, ownedMembers, poolCreated, type MemberOwner, type MemberView } from '../member/members.js';
import { joinKey, splitKey } from '../kube/key.js';
import { memberPod } from '../member/member-pod.js';
import { isBackoffFailure, TTL_RECYCLE_WINDOW_MS, type DeleteAction, type FailureRecord } from './model.js';
import { evictionFailure, planPool } from './plan.js';
import { OWNED_STATUS_FIELDS, ownedStatus, statusEqual, withAutoscaling, writtenStatus, type AutoscalingReport } from './status.js';
import { OWN_STATUS_TTL_MS, statusWritten } from './own-status.js';
import type { PoolObserver } from './observer.js';
import { DEFAULT_REFILL_YIELD_MS, NamespaceClaims, refillYield, refillYieldBoundMs } from './refill-yield.js';

/** Status writes of one pool are at least this far apart; the queue's de-duplication folds the events between. */
export const STATUS_MIN_INTERVAL_MS = 500;
/**
 * How long a yielding pool's next pass may wait. Short: if the claims take the last ready member meanwhile, the
 * creates wait this much longer (beside a warm-up, nothing).
 */
export const HOLD_WHILE_YIELDING_MS = 100;

export interface PoolControllerDeps {
  /** The door pools go through (api/resolve.ts), shared with the other controllers that read pools; else its own. */
  resolvePool?: PoolDoor;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  pools: Cache<InstancePool>;
  pods: Cache<CachedPod>;
  /** Member pods by their pool label: what one pass reads. */
  podsByPool: CacheIndex<CachedPod>;
  queue: WorkQueue;
  expectations: Expectations;
  events: Pick<EventRecorder, 'record'>;
  observer: PoolObserver;
  /** The operator-wide cap on one pool's members (`--max-members-per-pool`); default DEFAULT_MAX_MEMBERS_PER_POOL. */
  maxMembersPerPool?: number;
  /**
   * What status.utilization should say, given what the pool shows (utilization/store.ts statusFor): written with
   * the pool's status, so the pool has one status writer.
   */
  utilization?: (poolKey: string, shown: PoolUtilization | undefined) => PoolUtilization | undefined;
  /** How long a pool's replacement creates may wait for its claims to pause (refill-yield.ts); 0 never. */
  refillYieldMs?: number;
  /** What counts as a pause in a pool's claims (refill-yield.ts CLAIM_QUIET_MS); tests lengthen it. */
  claimQuietMs?: number;
  /**
   * What the autoscaler says of the pool (autoscale/controller.ts report): status.autoscaling and the
   * AutoscalingActive condition, written with the pool's status so the pool has one status writer. Undefined for a
   * pool without spec.autoscaling, whose status then carries neither.
   */
  autoscaling?: (poolKey: string) => AutoscalingReport | undefined;
  now?: () => number;
}

interface PoolMemory {
  uid: string;
  failures: FailureRecord[];
  ttlRecycles: number[];
  lastStatusWriteAt: number;
  warnedLabels: boolean;
  createError?: string;
  /** Pods carrying the pool's label that are not its members, already reported (an Event once per pod). */
  impostors: Set<string>;
  /** When a claim of the pool last arrived or bound (claimActivity), and since when its creates wait for that. */
  lastClaimAt?: number;
  refillWaitingSince?: number;
}

export class PoolController {
  private readonly memory = new Map<string, PoolMemory>();
  /** When a claim of any pool of a namespace last arrived or bound: the refill yields to those too. */
  private readonly namespaceClaims: NamespaceClaims;
  private readonly now: () => number;
  /** Our status writes the pool cache may not show yet, by pool key (see own-status.ts). */
  private readonly ownStatus: OwnWrites<InstancePool>;

  private readonly podsApi: PodClient;
  private readonly poolsApi: CustomClient<InstancePool>;
  /** The door, once per cached version of a pool: a burst's passes see the same object many times. */
  private readonly resolvePool: PoolDoor;

  constructor(private readonly d: PoolControllerDeps) {
    this.now = d.now ?? Date.now;
    this.resolvePool = d.resolvePool ?? poolResolver();
    this.namespaceClaims = new NamespaceClaims(
      d.claimQuietMs,
      (keys) => {
        for (const key of keys) d.queue.add(key);
      },
      () => this.now(),
    );
    this.ownStatus = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => this.now() });
    this.podsApi = podClient(d.core);
    this.poolsApi = customClient<InstancePool>(d.custom, POOL_RESOURCE);
  }

  /** Wires cache events to the queue and to expectations. */
  register(): void {
    const { pools, pods, queue, expectations } = this.d;
    const keyOf = (p: InstancePool): string | undefined =>
      p.metadata.namespace && p.metadata.name ? joinKey(p.metadata.namespace, p.metadata.name) : undefined;
    const enqueuePool = (p: InstancePool): void => {
      const key = keyOf(p);
      if (key) queue.add(key);
    };
    pools.onAdd(enqueuePool);
    pools.onUpdate((p, old) => {
      const key = keyOf(p);
      if (key && poolChangeMatters(p, old, this.ownStatus.isEcho(key, p))) queue.add(key);
    });
    pools.onDelete(enqueuePool);
    // Expectations move only for the pool's own members: a pod someone else labelled must not stand in for a
    // create of ours. Every labelled pod still enqueues the pool, which reports an impostor once.
    pods.onAdd((pod) => {
      const key = memberPoolKey(pod);
      if (!key) return;
      const { namespace, name } = splitKey(key);
      if (poolCreated(pod, this.d.pools.get(name, namespace)?.metadata.uid)) expectations.creationObserved(key);
      queue.add(key);
    });
    pods.onUpdate((pod, old) => {
      const key = memberPoolKey(pod);
      if (!key) return;
      if (pod.metadata?.deletionTimestamp && !old?.metadata?.deletionTimestamp) {
        expectations.deletionObserved(key, pod.metadata.uid ?? '');
        this.recordEviction(key, pod);
      }
      queue.add(key);
    });
    pods.onDelete((pod) => {
      const key = memberPoolKey(pod);
      if (!key) return;
      expectations.deletionObserved(key, pod.metadata?.uid ?? '');
      this.recordEviction(key, pod);
      queue.add(key);
    });
  }

  private ownerOf(key: string, pod: CachedPod): MemberOwner | undefined {
    const { namespace, name } = splitKey(key);
    return memberOwner(pod, this.d.pools.get(name, namespace)?.metadata.uid);
  }

  /**
   * A member the API server evicted and removed (Eviction API, preemption, taint) never passes through our deletes,
   * and may be gone before the next pass: record its failure when its deletion is seen (once per uid).
   */
  private recordEviction(key: string, pod: CachedPod): void {
    const { namespace, name } = splitKey(key);
    const pool = this.d.pools.get(name, namespace);
    const uid = pod.metadata?.uid;
    if (!pool || !uid || memberOwner(pod, pool.metadata.uid) === undefined) return;
    const failure = evictionFailure(classifyMember(pod), resolveSpec(pool.spec).lifecycleClass, this.now());
    if (!failure) return;
    const mem = this.memoryFor(key, pool.metadata.uid ?? '');
    if (!mem.failures.some((f) => f.uid === uid)) mem.failures.push(failure);
  }

  /** A Warning Event once per pod that carries the pool's label without being its member; it is left alone. */
  private reportImpostors(pool: InstancePool, impostors: readonly CachedPod[], mem: PoolMemory): void {
    const seen = new Set<string>();
    for (const pod of impostors) {
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      if (mem.impostors.has(uid)) continue;
      mem.impostors.add(uid);
      this.d.events.record(
        pool,
        'Warning',
        'ImpostorPod',
        `pod ${pod.metadata?.name ?? ''} carries the pool's labels but is not its member (its controller is not ` +
          'this pool nor a claim of it): it is not counted, claimed or deleted',
      );
    }
    for (const uid of mem.impostors) if (!seen.has(uid)) mem.impostors.delete(uid);
  }

  /**
   * A claim of the pool with this key arrived or bound (the claim controller's call): replacement creates of the pool
   * and of its namespace's other recently claimed pools wait for the claims to pause (refill-yield.ts). A pool this
   * process has not planned yet has no refill to hold back.
   */
  claimActivity(key: string, atMs: number): void {
    this.namespaceClaims.record(splitKey(key).namespace, atMs);
    const mem = this.memory.get(key);
    if (mem) mem.lastClaimAt = Math.max(mem.lastClaimAt ?? 0, atMs);
  }

  private memoryFor(key: string, uid: string): PoolMemory {
    let m = this.memory.get(key);
    if (!m || m.uid !== uid) {
      m = { uid, failures: [], ttlRecycles: [], lastStatusWriteAt: 0, warnedLabels: false, impostors: new Set() };
      this.memory.set(key, m);
    }
    return m;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.d.pools.get(name, namespace);
    if (!cached) {
      this.memory.delete(key);
      this.ownStatus.forget(key);
      this.d.expectations.clear(key);
      this.d.observer.forget(namespace, name);
      return;
    }
    return this.d.observer.reconcile(cached, () => this.sync(key, cached));
  }

  private async sync(key: string, cached: InstancePool): Promise<ReconcileResult> {
    const { expectations, events } = this.d;
    const { namespace, name } = splitKey(key);
    const uid = cached.metadata.uid ?? '';
    const deleting = Boolean(cached.metadata.deletionTimestamp);
    const finalizers = cached.metadata.finalizers ?? [];

    // The finalizer first: it is what lets the pool wait for its claimed members when it is deleted.
    if (!deleting && !finalizers.includes(POOL_FINALIZER)) {
      await this.poolsApi.mergePatch(
        { namespace, name },
        { metadata: { finalizers: [...finalizers, POOL_FINALIZER] } },
        cached.metadata.resourceVersion,
      );
      return; // the update event brings us back with the finalizer in the cache
    }

    // The door: from here on the pass sees the pool validated and defaulted, and its spec resolved.
    const verdict = this.resolvePool(cached);
    const { spec } = verdict;
    // The pool as our own last status write leaves it, until the cache shows that write.
    const pool = this.ownStatus.view(key, verdict.pool, undefined);
    const validationErrors = verdict.ok ? [] : verdict.errors;
    const mem = this.memoryFor(key, uid);
    if (verdict.ok && !mem.warnedLabels) {
      if (verdict.warnings.length > 0) events.record(pool, 'Warning', 'ReservedLabels', verdict.warnings.join('; '));
      mem.warnedLabels = true;
    }
    if (!verdict.ok) {
      events.record(pool, 'Warning', 'InvalidSpec', verdict.message);
    }

    const now = this.now();
    // Members by controller reference (the pool, or for a bound member its claim), never by label: anyone who can
    // create a pod can label one, and such a pod is reported, never counted, planned or deleted.
    const labelled = this.d.podsByPool.list(namespace, name);
    const owned = ownedMembers(labelled, uid);
    if (owned.length !== labelled.length) {
      const ownedSet = new Set(owned);
      this.reportImpostors(pool, labelled.filter((p) => !ownedSet.has(p)), mem);
    } else if (mem.impostors.size > 0) {
      mem.impostors.clear();
    }
    const members = owned.map(classifyMember);
    mem.failures = mem.failures.filter((f) => now - f.at < 10 * 60_000);
    mem.ttlRecycles = mem.ttlRecycles.filter((t) => now - t < TTL_RECYCLE_WINDOW_MS);
    const hash = templateHash(pool.spec.template);
    const plan = planPool({
      pool,
      spec,
      members,
      now,
      templateHash: hash,
      expectationsSatisfied: expectations.satisfied(key, now),
      failureHistory: mem.failures,
      recyclesInWindow: mem.ttlRecycles.length,
      random: Math.random,
      validationErrors,
      createError: mem.createError,
      maxMembersPerPool: this.d.maxMembersPerPool,
    });

    let requeueAfterMs: number | undefined;
    const deletes: DeleteAction[] = [];
    const markReady: Promise<void>[] = [];
    let create = 0;
    for (const a of plan.actions) {
      if (a.kind === 'delete') deletes.push(a);
      else if (a.kind === 'create') create = a.count;
      else if (a.kind === 'requeue') requeueAfterMs = a.afterMs;
      else {
        markReady.push(
          this.podsApi.jsonPatch({ namespace, name: a.pod }, a.patch).then(
            () => {
              if (a.warmupSeconds !== undefined) this.d.observer.warmedUp(pool, a.warmupSeconds);
            },
            (err: unknown) => {
              // 422 (a test failed) or 409: the member changed under us (a claim bound it); the next pass sees it.
              if (!isConflict(err) && !isNotFound(err) && statusCode(err) !== 422) throw err;
            },
          ),
        );
      }
    }

    const wait = this.yieldToClaims(key, pool, create, members, mem, now);
    if (wait !== undefined) {
      create = 0;
      requeueAfterMs = Math.min(requeueAfterMs ?? wait, wait);
    }
    // While the refill yields, each bind of a burst would wake a pass over every member only to hold the creates
    // back again: the next pass waits for the claims to pause (at most HOLD_WHILE_YIELDING_MS), folding those events.
    const holdMs = wait === undefined ? 0 : Math.min(wait, HOLD_WHILE_YIELDING_MS);

    const results = await Promise.allSettled([
      this.deleteMembers(key, pool, deletes, mem, now),
      ...markReady,
      create > 0 ? this.createMembers(key, pool, hash, create, mem) : Promise.resolve(),
    ]);

    // pool is read through ownStatus: its utilization is the one we last wrote, until the cache shows it.
    const utilization = this.d.utilization ? this.d.utilization(key, pool.status?.utilization) : pool.status?.utilization;
    const measured = utilization === undefined ? plan.status : { ...plan.status, utilization };
    const status = this.d.autoscaling ? withAutoscaling(measured, this.d.autoscaling(key), cached.metadata.generation, now) : measured;
    const delay = await this.writeStatus(key, pool, verdict.pool.status, status, mem, now);
    if (delay !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? delay, delay);

    if (plan.finalizerRemovable && finalizers.includes(POOL_FINALIZER)) {
      // Guarded by the finalizers this pass read (a JSON Patch test), not by the cache's resourceVersion: that one
      // moves with every status write, ours included, and the removal met a 409 after most of them (make bench-scale:
      // 87 of 100 pools deleted logged two warnings each and went a pass later).
      const finalized = await this.poolsApi.jsonPatch({ namespace, name }, removeFinalizerOps(finalizers, POOL_FINALIZER)).then(
        () => true,
        (err: unknown) => {
          // 422, a failed test: someone changed the finalizers since; the next pass plans from their list.
          if (statusCode(err) === 422 || isConflict(err)) return false;
          if (!isNotFound(err)) throw err;
          return true;
        },
      );
      if (finalized) events.record(pool, 'Normal', 'Finalized', 'no members left; the pool can go');
      else requeueAfterMs = Math.min(requeueAfterMs ?? CONFLICT_REPLAN_MS, CONFLICT_REPLAN_MS);
    }

    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (holdMs > 0) return requeueAfterMs === undefined ? { holdMs } : { requeueAfterMs, holdMs };
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** Undefined: create the deficit now; else hold it back and plan again after this many ms (refill-yield.ts). */
  private yieldToClaims(key: string, pool: InstancePool, count: number, members: readonly MemberView[], mem: PoolMemory, now: number): number | undefined {
    if (count <= 0) {
      mem.refillWaitingSince = undefined;
      return undefined;
    }
    const { namespace } = splitKey(key);
    const decision = refillYield({
      now,
      lastClaimAt: mem.lastClaimAt,
      namespaceClaimAt: this.namespaceClaims.lastAt(namespace),
      deferredSince: mem.refillWaitingSince,
      readyMembers: members.filter((m) => m.phase === 'ready').length,
      maxMs: refillYieldBoundMs(pool.spec.autoscaling?.mode, this.d.refillYieldMs ?? DEFAULT_REFILL_YIELD_MS),
      quietMs: this.d.claimQuietMs,
    });
    if (decision.kind === 'create') {
      mem.refillWaitingSince = undefined;
      return undefined;
    }
    mem.refillWaitingSince ??= now;
    // Woken when the namespace's claims pause (they include the pool's own); the bound needs no wake.
    this.namespaceClaims.waitFor(namespace, key);
    return decision.boundMs;
  }

  private async deleteMembers(key: string, pool: InstancePool, deletes: DeleteAction[], mem: PoolMemory, now: number): Promise<void> {
    if (deletes.length === 0) return;
    const { expectations, events, observer } = this.d;
    const namespace = pool.metadata.namespace ?? '';
    expectations.expectDeletions(key, deletes.map((d) => d.uid), now);
    const outcomes = await Promise.allSettled(
      deletes.map((d) =>
        this.podsApi.delete({ namespace, name: d.pod }, { uid: d.uid, resourceVersion: d.resourceVersion }),
      ),
    );
    const errors: unknown[] = [];
    outcomes.forEach((o, i) => {
      const d = deletes[i];
      if (!d) return;
      if (o.status === 'fulfilled') {
        observer.recycled(pool, d.reason);
        const lifecycleClass = resolveSpec(pool.spec).lifecycleClass;
        if (d.errored && isBackoffFailure(d.reason, lifecycleClass) && !mem.failures.some((f) => f.uid === d.uid)) {
          mem.failures.push({ at: now, reason: d.reason, uid: d.uid });
        }
        if (d.reason === 'ttl') mem.ttlRecycles.push(now);
        if (d.reason !== 'scale-down' && d.reason !== 'pool-deleting') {
          events.record(pool, d.errored ? 'Warning' : 'Normal', 'MemberRecycled', `deleted member ${d.pod}: ${d.reason}`);
        }
        return;
      }
      // Not deleted: the expectation will never be observed, so lower it now.
      expectations.deletionObserved(key, d.uid);
      if (isNotFound(o.reason) || isConflict(o.reason)) return; // gone already, or changed (claimed): next pass decides
      errors.push(o.reason);
    });
    if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
  }

  /** Creates in slow-start batches (1, 2, 4, ...): a template the apiserver refuses costs one failed call, not N. */
  private async createMembers(key: string, pool: InstancePool, hash: string, count: number, mem: PoolMemory): Promise<void> {
    const { expectations, events } = this.d;
    const namespace = pool.metadata.namespace ?? '';
    expectations.expectCreations(key, count, this.now());
    let created = 0;
    for (const batch of slowStartBatches(count)) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: batch }, () => this.podsApi.create(namespace, memberPod(pool, hash, new Date(this.now())))),
      );
      const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      created += batch - failures.length;
      const first = failures[0];
      if (created > 0 || !first) mem.createError = undefined;
      if (first) {
        // A refusal a retry will not fix (invalid pod, forbidden by admission or quota) stalls the pool, so GitOps
        // tools and people see why it does not fill instead of waiting forever.
        const code = statusCode(first.reason);
        if (code !== undefined && code >= 400 && code < 500 && code !== 409 && code !== 429) {
          mem.createError = `creating members failed (${code}): ${errorMessage(first.reason)}`;
        }
        expectations.lowerCreations(key, count - created);
        if (created > 0) events.record(pool, 'Normal', 'MemberCreated', `created ${created} member(s)`);
        events.record(pool, 'Warning', 'CreateFailed', `creating members failed: ${errorMessage(first.reason)}`);
        throw first.reason;
      }
    }
    events.record(pool, 'Normal', 'MemberCreated', `created ${created} member(s)`);
  }

  /** Events for the transitions a person asks about: paused, resumed, drain started and finished. */
  private phaseEvents(pool: InstancePool, before: InstancePoolStatus | undefined, after: InstancePoolStatus): void {
    const { events } = this.d;
    const was = before?.phase;
    const now = after.phase;
    if (now !== was) {
      if (now === 'Paused') events.record(pool, 'Normal', 'Paused', 'replenishment stopped; members stay');
      else if (now === 'Draining') events.record(pool, 'Normal', 'DrainStarted', 'deleting every unclaimed member; claimed members keep running');
      else if (now === 'Active' && (was === 'Paused' || was === 'Draining')) events.record(pool, 'Normal', 'Resumed', 'replenishing again');
    }
    const drained = (s: InstancePoolStatus | undefined): boolean =>
      s?.phase === 'Draining' && (s.warmingCount ?? 0) + (s.readyCount ?? 0) === 0;
    if (drained(after) && !drained(before)) {
      events.record(pool, 'Normal', 'DrainFinished', `no unclaimed member left (${after.claimedCount ?? 0} claimed still running)`);
    }
  }

  /**
   * Writes the controller's own status fields (and utilization) when they differ from the cache's, at most every
   * STATUS_MIN_INTERVAL_MS. `pool` is the pool as our last write leaves it (ownStatus), `cachedStatus` the cache's.
   */
  private async writeStatus(
    key: string,
    pool: InstancePool,
    cachedStatus: InstancePoolStatus | undefined,
    status: InstancePoolStatus,
    mem: PoolMemory,
    now: number,
  ): Promise<number | undefined> {
    this.d.observer.status(pool, status);
    if (statusEqual(status, writtenStatus(cachedStatus))) return undefined;
    this.phaseEvents(pool, pool.status, status);
    // Our last write may not be in the cache yet: do not write the same status again while it catches up.
    if (statusEqual(status, writtenStatus(pool.status)) && now - mem.lastStatusWriteAt < 5_000) return undefined;
    const wait = mem.lastStatusWriteAt + STATUS_MIN_INTERVAL_MS - now;
    if (wait > 0) return wait;
    const { namespace, name } = splitKey(key);
    try {
      await this.poolsApi.mergePatchStatus({ namespace, name }, withRemovals(status, cachedStatus, this.d.autoscaling ? ['autoscaling'] : []));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    this.ownStatus.record(key, statusWritten(pool.metadata.uid ?? '', status));
    mem.lastStatusWriteAt = now;
    return undefined;
  }
}

/**
 * The status merge patch: our fields, and null for each field of ours the cache still has that this status drops
 * (blockingClaims once no claim blocks, drainStartedAt once the drain is over, and `also`: status.autoscaling once
 * the pool has no autoscaling); a merge patch would keep them.
 */
export function withRemovals(
  status: InstancePoolStatus,
  cached: InstancePoolStatus | undefined,
  also: readonly (keyof InstancePoolStatus)[] = [],
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...status };
  for (const field of [...OWNED_STATUS_FIELDS, ...also]) {
    if (status[field] === undefined && cached?.[field] !== undefined) patch[field] = null;
  }
  return patch;
}

/** Batch sizes 1, 2, 4, ... summing to count: createMembers stops at the first batch with an error. */
export function slowStartBatches(count: number, initial = 1): number[] {
  const batches: number[] = [];
  let remaining = Math.max(0, Math.floor(count));
  let size = Math.max(1, initial);
  while (remaining > 0) {
    const batch = Math.min(size, remaining);
    batches.push(batch);
    remaining -= batch;
    size *= 2;
  }
  return batches;
}

/**
 * Whether a pool update can change what a pass decides. Our own status write coming back through the watch cannot
 * (the pass that wrote it planned from the same members), nor can status fields the planner does not compute
 * (pendingClaims, the claim controller's; utilization: the scraper wakes the pool itself when its figures move);
 * without this filter every status write cost a second pass of the whole pool.
 * A status someone else changed does matter: the next pass writes ours back. `ownWrite`: this version is our own
 * status write coming back (OwnWrites.isEcho).
 */
export function poolChangeMatters(p: InstancePool, old: InstancePool | undefined, ownWrite: boolean): boolean {
  if (!old) return true;
  const meta = (x: InstancePool): string =>
    JSON.stringify([
      x.metadata.uid,
      x.metadata.generation,
      Boolean(x.metadata.deletionTimestamp),
      x.metadata.finalizers ?? [],
      x.metadata.labels ?? {},
      x.metadata.annotations ?? {},
    ]);
  if (meta(p) !== meta(old)) return true;
  const owned = ownedStatus(p.status);
  if (statusEqual(owned, ownedStatus(old.status))) return false;
  return !ownWrite;
}
