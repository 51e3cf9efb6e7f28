// The claim controller's shell, keyed by POOL (namespace/poolName): one worker plans all claims of a pool at a time,
// so claims never race each other for a member. It reads the caches, lets planClaims decide, and carries out the
// actions: binds of one pass go out in parallel, each a member patch guarded by the pod's resourceVersion followed
// by one claim status write. A 409 means another writer won: the pool is planned again from fresh caches.
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { CachedPod } from '../member/cached-pod.js';
import { templateHash } from '../api/hash.js';
import { claimResolver, poolResolver, type PoolDoor } from '../api/resolve.js';
import {
  ANN_CLAIM_UID,
  API_VERSION,
  CLAIM_RESOURCE,
  LABEL_CLAIM,
  LABEL_POOL,
  LABEL_STATE,
  POOL_RESOURCE,
  type InstancePool,
  type PoolClaim,
  type PoolClaimStatus,
} from '../api/types.js';
import { errorMessage, isNotFound, statusCode } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { withRequestClass } from '../kube/priority.js';
import type { CacheIndex } from '../kube/cache-index.js';
import type { Cache } from '../kube/informer-set.js';
import { customClient, podClient, type CustomClient, type PodClient } from '../kube/patch.js';
import { guardedWrite, PlanAgain } from '../kube/guarded.js';
import { OwnWrites, type OwnWrite } from '../kube/own-writes.js';
import type { ReconcileResult } from '../kube/workers.js';
import type { WorkQueue } from '../kube/workqueue.js';
import { clampDelayMs } from '../kube/timers.js';
import { memberOwner, memberPoolKey, toMillis } from '../member/members.js';
import { joinKey, splitKey } from '../kube/key.js';
import { Arrivals } from './arrivals.js';
import { recordBindFailure, type BindFailure } from './bind-failure.js';
import { heldMembers, statusMergePatch, type ClaimAction } from './model.js';
import type { ClaimObserver } from './observer.js';
import { planClaims } from './plan.js';
import { PoolPendingWrites } from './pool-pending.js';

/** After a lost race for a member, plan the pool again this soon (the informer delivers the winner's write). */
const CONFLICT_REQUEUE_MS = 50;
/** How long a bind we made may be missing from the pod cache before we stop covering for the cache. */
const BIND_MEMORY_MS = 30_000;

export interface ClaimControllerDeps {
  /** The door pools go through (api/resolve.ts), shared with the other controllers that read pools; else its own. */
  resolvePool?: PoolDoor;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  pools: Cache<InstancePool>;
  claims: Cache<PoolClaim>;
  pods: Cache<CachedPod>;
  /** Member pods by pool label, and claims by spec.poolName: what one pass reads. */
  podsByPool: CacheIndex<CachedPod>;
  claimsByPool: CacheIndex<PoolClaim>;
  queue: WorkQueue;
  /**
   * The pool controller's queue: a bind (once its claim status is written) or a return has it plan the pool rather
   * than wait for the pod watch to deliver the member's change (measured: without it, the 100-claimer bench sent ~7%
   * more member patches).
   */
  poolQueue: WorkQueue;
  events: Pick<EventRecorder, 'record'>;
  observer: ClaimObserver;
  /** A new claim arrived for the pool with this key, first seen at `atMs` (Arrivals.seen): the autoscaler's input. */
  onArrival?: (poolKey: string, atMs: number) => void;
  /** A claim of the pool with this key bound its member at `atMs`: the pool's refill yields to it (pool/refill-yield.ts). */
  onBound?: (poolKey: string, atMs: number) => void;
  now?: () => number;
}

export class ClaimController {
  private readonly now: () => number;
  /**
   * Binds this process made that the pod cache may not show yet, by member name. Without them a pass that runs
   * before the cache catches up would see the claim still pending and the member still ready, and pair the claim
   * with a second member. The member side is safe anyway (resourceVersion precondition); this guards the claim side.
   * The context is the pass's claim uids: a member is shown bound only to a claim the pass still lists.
   */
  private readonly ownBinds = new OwnWrites<CachedPod, ReadonlySet<string>>({ ttlMs: BIND_MEMORY_MS, now: () => this.now() });
  /** What this process last wrote to each pool's status.pendingClaims, which paces the next write. */
  private readonly poolPending = new PoolPendingWrites();
  /** Binds under way, by claim uid: later passes leave their claims alone until they finish. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /**
   * Claims as our last write to them returned them, by uid, while the cache still shows the version before that
   * write. Without them the next pass, seconds of cache lag or not, would plan from the old status and write the
   * same status again: a write too many on the claim path.
   */
  private readonly ownClaimWrites = new OwnWrites<PoolClaim>({ ttlMs: BIND_MEMORY_MS, now: () => this.now() });
  /**
   * Claims whose bind failed, by claim uid, until they bind or are deleted: the planner holds each back for its own
   * back-off, or fails it (BindFailed) when the API server refused it for good. Per claim, so one claim in trouble
   * neither hot-loops nor delays the pool's other claims (a rate-limited requeue of the pool key did both).
   */
  private readonly bindFailures = new Map<string, BindFailure>();
  /**
   * Claims whose cold members (fallback Cold) this process created, by uid, with the time: until the pod cache shows
   * them, a pass would see the claim still waiting and create them again (a 409 each time, names are fixed).
   */
  private readonly coldCreated = new Map<string, number>();
  /** When this process first saw each new claim, for the latency metrics (creationTimestamp has 1 s resolution). */
  private readonly arrivals = new Arrivals();

  /** The doors, remembering each cached version's verdict: a pass resolves its pool and every claim of it. */
  private readonly resolveClaim = claimResolver();
  private readonly resolvePool: PoolDoor;

  private readonly podsApi: PodClient;
  private readonly claimsApi: CustomClient<PoolClaim>;
  private readonly poolsApi: CustomClient<InstancePool>;

  constructor(private readonly d: ClaimControllerDeps) {
    this.resolvePool = d.resolvePool ?? poolResolver();
    this.now = d.now ?? Date.now;
    this.podsApi = podClient(d.core);
    this.claimsApi = customClient<PoolClaim>(d.custom, CLAIM_RESOURCE);
    this.poolsApi = customClient<InstancePool>(d.custom, POOL_RESOURCE);
  }

  register(): void {
    const { pools, claims, pods, queue } = this.d;
    const byPool = (o: InstancePool): void => {
      if (o.metadata.namespace && o.metadata.name) queue.add(joinKey(o.metadata.namespace, o.metadata.name));
    };
    pools.onAdd(byPool);
    pools.onUpdate((p, old) => {
      if (poolChangeMattersToClaims(p, old)) byPool(p);
    });
    pools.onDelete(byPool);
    const byClaim = (c: PoolClaim): void => {
      if (c.metadata.namespace && c.spec?.poolName) queue.add(joinKey(c.metadata.namespace, c.spec.poolName));
    };
    claims.onAdd((c) => {
      const now = this.now();
      if (this.arrivals.seen(c, now) && c.metadata.namespace && c.spec?.poolName) {
        this.d.onArrival?.(joinKey(c.metadata.namespace, c.spec.poolName), now);
      }
      byClaim(c);
    });
    claims.onUpdate((c, old) => {
      // Our own write coming back through the watch: the pass that wrote it already planned from it.
      if (this.ownClaimWrites.isEcho(c.metadata.uid ?? '', c)) return;
      if (claimChangeMatters(c, old)) byClaim(c);
    });
    claims.onDelete((c) => {
      this.arrivals.forget(c.metadata.uid ?? '');
      this.bindFailures.delete(c.metadata.uid ?? '');
      byClaim(c);
    });
    const byPod = (p: CachedPod): void => {
      const key = memberPoolKey(p);
      if (key) queue.add(key);
    };
    pods.onAdd(byPod);
    pods.onUpdate((p, old) => {
      if (podChangeMatters(p, old)) byPod(p);
    });
    pods.onDelete(byPod);
  }

  reconcile(key: string): Promise<ReconcileResult> {
    // Claim path first (kube/priority.ts): the requests of this pass, and of the binds it pipelines, go before the
    // refill's when they wait for the client's token bucket.
    return withRequestClass('claim', () => this.pass(key));
  }

  private async pass(key: string): Promise<ReconcileResult> {
    // Observe: the caches as our own writes leave them (see OwnWrites).
    const { namespace, name: poolName } = splitKey(key);
    const pool = this.d.pools.get(poolName, namespace);
    const claims = this.ownClaimWrites.viewAll(this.d.claimsByPool.list(namespace, poolName), (c) => c.metadata.uid ?? '', undefined);
    const pods = this.d.podsByPool.list(namespace, poolName);
    const members =
      this.ownBinds.size === 0 ? [...pods] : this.ownBinds.viewAll(pods, (p) => p.metadata?.name ?? '', new Set(claims.map((c) => c.metadata.uid ?? '')));
    if (claims.length === 0 && !pool) return;
    // Plan, from the pool and claims as resolved at the door: validated and defaulted. An invalid one is planned
    // from its stored spec with the same defaults, as it always was (see api/resolve.ts).
    const now = this.now();
    const resolved = pool && this.resolvePool(pool).resolved;
    const actions = planClaims({
      pool: resolved,
      claims: claims.map((c) => this.resolveClaim(c).claim),
      members,
      // The resolved template, as the pool controller hashes it: the same object from one status write to the next
      // (api/resolve.ts), so its hash is worked out once per generation, not on every pass.
      templateHash: resolved ? templateHash(resolved.spec.template) : undefined,
      now,
      bindFailures: this.bindFailures,
    });
    // Act: all but the claims whose binds are still under way.
    for (const [uid, at] of this.coldCreated) if (now - at > BIND_MEMORY_MS) this.coldCreated.delete(uid);
    const planned =
      this.inFlight.size === 0 && this.coldCreated.size === 0
        ? actions
        : actions.filter((a) => !('claim' in a) || (!this.inFlight.has(a.claim.uid) && !(a.kind === 'create-cold' && this.coldCreated.has(a.claim.uid))));
    if (planned.length === 0) return;
    return this.d.observer.pass(namespace, poolName, () => this.act(namespace, poolName, claims, planned, now));
  }

  private async claimExists(namespace: string, ref: { name: string; uid: string }): Promise<boolean> {
    if (!ref.name) return false;
    try {
      const live = await this.claimsApi.get({ namespace, name: ref.name });
      return live.metadata.uid === ref.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Waits for the binds under way (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async memberStillRecords(namespace: string, claim: PoolClaim, name: string | undefined): Promise<boolean> {
    // The member the verdict is about: one of a claim's several (status.members), else its one member.
    const named = heldMembers(claim.status).find((m) => m.name === name) ?? claim.status?.member;
    if (!named) return false;
    try {
      const pod = await this.podsApi.get({ namespace, name: named.name });
      // A pod that lost its pool label is out of the pod cache for good: no longer a member, whatever it records.
      return (
        memberOwner(pod, this.d.pools.get(claim.spec.poolName, namespace)?.metadata.uid) !== undefined &&
        pod.metadata?.uid === named.uid &&
        pod.metadata.labels?.[LABEL_POOL] === claim.spec.poolName &&
        pod.metadata.annotations?.[ANN_CLAIM_UID] === claim.metadata.uid &&
        !pod.metadata.deletionTimestamp
      );
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private remember(before: PoolClaim | undefined, written: PoolClaim | undefined): void {
    const uid = before?.metadata.uid;
    const staleRv = before?.metadata.resourceVersion;
    if (!uid || !staleRv || typeof written !== 'object' || written === null) return;
    this.ownClaimWrites.record(uid, claimWritten(staleRv, written));
  }

  private async act(
    namespace: string,
    poolName: string,
    claims: readonly PoolClaim[],
    actions: readonly ClaimAction[],
    now: number,
  ): Promise<ReconcileResult> {
    // Actions of one claim run in plan order (e.g. Released, then delete the member, then drop the finalizer);
    // different claims run in parallel.
    const groups = new Map<string, ClaimAction[]>();
    let requeueAfterMs: number | undefined;
    let pending: number | undefined;
    for (const a of actions) {
      if (a.kind === 'requeue') requeueAfterMs = a.afterMs;
      else if (a.kind === 'set-pool-pending') pending = a.pendingClaims;
      else {
        const list = groups.get(a.claim.uid) ?? [];
        list.push(a);
        groups.set(a.claim.uid, list);
      }
    }
    const claimByUid = new Map(claims.map((c) => [c.metadata.uid ?? '', c]));
    const key = joinKey(namespace, poolName);
    const chain = async (list: ClaimAction[]): Promise<void> => {
      for (const a of list) {
        if (a.kind === 'requeue' || a.kind === 'set-pool-pending') continue;
        const carryOut = (): Promise<void> => this.carryOut(namespace, poolName, a, claimByUid.get(a.claim.uid));
        await (a.kind === 'bind' ? this.d.observer.bind(namespace, poolName, a.claim.name, a.member.name, carryOut) : carryOut());
      }
    };
    const awaited: Promise<void>[] = [];
    for (const [uid, list] of groups) {
      if (!list.some((a) => a.kind === 'bind' || a.kind === 'create-cold')) {
        awaited.push(chain(list));
        continue;
      }
      // Binds are pipelined: the pass does not wait for its binds' two round trips, so the next claims of the pool
      // are planned while they are in flight. Their claims and members stay out of later passes until they finish
      // (inFlight here, ownBinds for the member); a failed bind has the pool planned again.
      // The claim leaves inFlight before the pool is planned again: a pass planned while it is still there would
      // leave the claim alone.
      const running = chain(list).then(
        () => {
          this.inFlight.delete(uid);
          this.bindFailures.delete(uid);
          // No pass on success: the claim is done and its member is no longer anyone else's. Planning the whole
          // pool again after every bind made a burst of n claims cost n passes over n claims.
        },
        (err: unknown) => {
          this.inFlight.delete(uid);
          if (err instanceof PlanAgain) {
            this.d.queue.addAfter(key, CONFLICT_REQUEUE_MS);
            return;
          }
          // The planner decides what the failure means (retry after the claim's back-off, or fail it); plan the
          // pool again now so its other claims are not held up.
          const failure = recordBindFailure(this.bindFailures.get(uid), { code: statusCode(err), message: errorMessage(err) }, this.now());
          this.bindFailures.set(uid, failure);
          this.d.observer.failed(namespace, poolName, err);
          this.d.queue.add(key);
        },
      );
      this.inFlight.set(uid, running);
    }
    const results = await Promise.allSettled(awaited);
    if (pending !== undefined) await this.writePoolPending(namespace, poolName, pending, now);

    let conflict = false;
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (r.reason instanceof PlanAgain) conflict = true;
      else throw r.reason;
    }
    // Another writer won a member, or our cache was behind: plan again shortly, once the cache has moved. Not a
    // rate-limited retry: the rest of the pass succeeded, and a growing back-off would stall a busy pool.
    if (conflict) return { requeueAfterMs: Math.min(requeueAfterMs ?? CONFLICT_REQUEUE_MS, CONFLICT_REQUEUE_MS) };
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs: clampDelayMs(requeueAfterMs) };
  }

  private async carryOut(namespace: string, poolName: string, a: ClaimAction, claim: PoolClaim | undefined): Promise<void> {
    const { events, observer } = this.d;
    switch (a.kind) {
      case 'bind': {
        const t0 = this.now();
        // Before the patch: a pass planned while it is in flight must not offer this member to another claim.
        // A claim of count > 1 patches all its members at once; the status follows only if every patch landed, and
        // a set left partial is handed back by the next pass (plan.ts planMany).
        const binds = [{ member: a.member, patch: a.patch }, ...(a.extra ?? [])];
        for (const b of binds) this.ownBinds.record(b.member.name, memberBound(a.claim));
        const patched = await Promise.allSettled(
          binds.map((b) => guardedWrite(() => this.podsApi.mergePatch({ namespace, name: b.member.name }, b.patch), 'plan-again')),
        );
        patched.forEach((r, i) => {
          if (r.status === 'rejected') this.ownBinds.forget(binds[i]?.member.name ?? '');
        });
        // The first refusal as it came (PlanAgain on a 409), so the caller reads it as it reads a claim of one's.
        const refused = patched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (refused !== undefined) throw refused.reason;
        this.d.onBound?.(joinKey(namespace, poolName), this.now());
        // Guarded by the claim's resourceVersion: if another operator bound this claim to another member
        // meanwhile, its status stands and ours is refused; the next pass finds our member recording a claim
        // that names another, and hands it back. Without the guard each side could keep its own member.
        // The pool is planned once the status is written: a pass woken before it ran on this event loop ahead of
        // the status request, a few milliseconds of CPU inside every claim.
        try {
          await guardedWrite(() => this.writeClaimStatus(namespace, a.claim.name, claim, a.status, true), 'throw');
        } finally {
          this.d.poolQueue.add(joinKey(namespace, poolName));
        }
        const arrived = this.arrivals.take(a.claim.uid, toMillis(claim?.metadata.creationTimestamp)) ?? t0;
        const done = this.now();
        observer.bound(namespace, poolName, {
          queueSeconds: Math.max(0, (t0 - arrived) / 1000),
          bindSeconds: (done - t0) / 1000,
          totalSeconds: Math.max(0, (done - arrived) / 1000),
        });
        return;
      }
      case 'create-cold': {
        // Born bound: each create is the member's one write; names are fixed per claim, so a repeat is a 409.
        const created = await Promise.allSettled(a.pods.map((pod) => guardedWrite(() => this.podsApi.create(namespace, pod), 'plan-again')));
        const made = created.filter((r) => r.status === 'fulfilled').length;
        if (made > 0) {
          this.coldCreated.set(a.claim.uid, this.now());
          observer.cold(namespace, poolName, made);
          this.d.poolQueue.add(joinKey(namespace, poolName));
        }
        const refused = created.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (refused !== undefined) throw refused.reason;
        return;
      }
      case 'repair-status':
        // Guarded like a bind's status write: when two writers raced, exactly one member gets named.
        await guardedWrite(() => this.writeClaimStatus(namespace, a.claim.name, claim, a.status, true), 'throw');
        return;
      case 'update-ready':
        await this.writeClaimStatus(namespace, a.claim.name, claim, a.status);
        return;
      case 'set-pending':
        await this.writeClaimStatus(namespace, a.claim.name, claim, a.status);
        if (a.event) events.record(claim ?? refObject(namespace, a.claim), a.event.type, a.event.reason, a.event.message);
        return;
      case 'mark-lost':
        // Lost is final, so a member missing from our cache is looked up before we believe it gone: the pod cache
        // can lag the claim cache (a bind by another replica, a member created moments ago).
        if (a.unseen && claim?.status?.member && (await this.memberStillRecords(namespace, claim, a.member))) {
          throw new PlanAgain(`member ${a.member ?? claim.status.member.name} exists; the pod cache is behind`);
        }
        await this.writeClaimStatus(namespace, a.claim.name, claim, a.status);
        events.record(claim ?? refObject(namespace, a.claim), a.event.type, a.event.reason, a.event.message);
        observer.ended(namespace, poolName, 'lost');
        return;
      case 'fail':
      case 'release':
        await this.writeClaimStatus(namespace, a.claim.name, claim, a.status);
        events.record(claim ?? refObject(namespace, a.claim), a.event.type, a.event.reason, a.event.message);
        observer.ended(
          namespace,
          poolName,
          a.kind === 'fail' ? (a.reason === 'QueueFull' ? 'rejected' : 'failed') : a.reason === 'Idle' ? 'idle' : a.reason === 'Drained' ? 'drained' : 'expired',
        );
        return;
      case 'return-member':
        await guardedWrite(() => this.podsApi.mergePatch({ namespace, name: a.member.name }, a.patch), 'ignore');
        this.d.poolQueue.add(joinKey(namespace, poolName));
        observer.ended(namespace, poolName, 'released');
        return;
      case 'delete-member':
        // The claim cache can lag the pod cache: a member bound moments ago (by another replica, or before a
        // restart) may record a claim this cache has not seen yet. Read the claim before deleting its member.
        if (a.reason === 'claim-gone' && (await this.claimExists(namespace, a.claim))) {
          throw new PlanAgain(`claim ${a.claim.name} exists; the claim cache is behind`);
        }
        await guardedWrite(
          () => this.podsApi.delete({ namespace, name: a.member.name }, { uid: a.member.uid, resourceVersion: a.member.resourceVersion }),
          'ignore',
        );
        observer.recycled(namespace, poolName);
        if (a.reason === 'released') observer.ended(namespace, poolName, 'released');
        return;
      case 'add-finalizer':
      case 'remove-finalizer':
        {
          this.remember(claim, await guardedWrite(() => this.claimsApi.mergePatch({ namespace, name: a.claim.name }, a.patch), 'ignore'));
        }
        return;
      case 'set-pool-pending':
      case 'requeue':
        return; // handled by the caller
    }
  }

  /** A merge patch from the claim's cached status to the planned one (fields the plan drops are nulled). */
  private async writeClaimStatus(
    namespace: string,
    name: string,
    claim: PoolClaim | undefined,
    status: PoolClaimStatus,
    guarded = false,
  ): Promise<void> {
    const body = statusMergePatch(claim?.status, status).status as object;
    const rv = guarded ? claim?.metadata.resourceVersion : undefined;
    try {
      this.remember(claim, await this.claimsApi.mergePatchStatus({ namespace, name }, body, rv));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async writePoolPending(namespace: string, poolName: string, value: number, now: number): Promise<void> {
    const key = joinKey(namespace, poolName);
    this.d.observer.pending(namespace, poolName, value);
    const pool = this.d.pools.get(poolName, namespace);
    const decision = this.poolPending.decide(key, pool && (pool.status?.pendingClaims ?? 0), value, now);
    if (decision.kind === 'later') this.d.queue.addAfter(key, decision.afterMs);
    if (decision.kind !== 'write') return;
    await this.poolsApi.mergePatchStatus({ namespace, name: poolName }, { pendingClaims: value }).catch(
      (err: unknown) => {
        if (!isNotFound(err)) throw err;
      },
    );
    this.poolPending.wrote(key, value, now);
  }
}

/** Our claim write, as the pass sees it until the cache moves off the version it was written over. */
function claimWritten(staleRv: string, written: PoolClaim): OwnWrite<PoolClaim> {
  return {
    apply: () => written,
    shown: (cached) => cached.metadata.resourceVersion !== staleRv,
    echo: (cached) => cached.metadata.resourceVersion === written.metadata.resourceVersion,
  };
}

/**
 * Our bind of a member, as the pass sees it until the pod cache records the claim: claimed by the claim, so the
 * planner neither offers it again nor pairs its claim with another member.
 */
function memberBound(claim: { name: string; uid: string }): OwnWrite<CachedPod, ReadonlySet<string>> {
  return {
    apply: (p, claimUids) =>
      claimUids.has(claim.uid)
        ? {
            ...p,
            metadata: {
              ...p.metadata,
              labels: { ...p.metadata?.labels, [LABEL_STATE]: 'claimed', [LABEL_CLAIM]: claim.name },
              annotations: { ...p.metadata?.annotations, [ANN_CLAIM_UID]: claim.uid },
            },
          }
        : undefined,
    shown: (p) => p.metadata?.annotations?.[ANN_CLAIM_UID] === claim.uid,
  };
}

function refObject(namespace: string, ref: { name: string; uid: string }): PoolClaim {
  return {
    apiVersion: API_VERSION,
    kind: 'PoolClaim',
    metadata: { namespace, name: ref.name, uid: ref.uid },
    spec: { poolName: '' },
  };
}

/**
 * Whether a pool update can change a claim decision: its spec (queue policy, claim order, template, drain), its
 * deletion, or the pendingClaims the planner compares with. The pool controller's status writes, several a second
 * while a pool refills, cannot.
 */
export function poolChangeMattersToClaims(p: InstancePool, old: InstancePool | undefined): boolean {
  if (!old) return true;
  return (
    p.metadata.uid !== old.metadata.uid ||
    p.metadata.generation !== old.metadata.generation ||
    Boolean(p.metadata.deletionTimestamp) !== Boolean(old.metadata.deletionTimestamp) ||
    (p.status?.pendingClaims ?? 0) !== (old.status?.pendingClaims ?? 0) ||
    // The drain deadline counts from it.
    p.status?.drainStartedAt !== old.status?.drainStartedAt
  );
}

/**
 * Whether a claim update can change what the planner decides. A pass plans every claim of the pool, so passes per
 * event make a burst quadratic; status-only updates (our own writes, mostly) change nothing the planner acts on.
 */
export function claimChangeMatters(c: PoolClaim, old: PoolClaim | undefined): boolean {
  if (!old) return true;
  return (
    c.metadata.generation !== old.metadata.generation ||
    Boolean(c.metadata.deletionTimestamp) !== Boolean(old.metadata.deletionTimestamp) ||
    (c.metadata.finalizers ?? []).join() !== (old.metadata.finalizers ?? []).join() ||
    c.status?.phase !== old.status?.phase
  );
}

/**
 * Whether a member pod update can change a claim decision: it became claimable or stopped being so, its health
 * changed (Lost, the Ready mirror), or it went away. A bind of ours shows up as ready -> claimed with the claim we
 * already know about: nothing to plan.
 */
export function podChangeMatters(p: CachedPod, old: CachedPod | undefined): boolean {
  if (!old) return true;
  const ready = (x: CachedPod): boolean => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const claimUid = (x: CachedPod): string | undefined => x.metadata?.annotations?.[ANN_CLAIM_UID];
  const state = (x: CachedPod): string | undefined => x.metadata?.labels?.[LABEL_STATE];
  const bound = state(old) === 'ready' && state(p) === 'claimed' && claimUid(old) === undefined && claimUid(p) !== undefined;
  return (
    ready(p) !== ready(old) ||
    p.status?.phase !== old.status?.phase ||
    Boolean(p.metadata?.deletionTimestamp) !== Boolean(old.metadata?.deletionTimestamp) ||
    (!bound && (state(p) !== state(old) || claimUid(p) !== claimUid(old)))
  );
}
