// claim(): one PoolClaim, created with generateName, followed on ONE watch from the create's resourceVersion (so no
// event between the create and the watch is missed, and nothing is polled) until the operator binds it. The claim is
// the lease: release() deletes it, and so does every way of giving up (abort, timeout, a failure while waiting), so
// no abandoned claim ever holds a member. API calls per claim: create, watch, delete; a second watch only when the
// first ends early (the server closes watches after a few minutes; a network error).
import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { CLAIM_KIND, CLAIM_PLURAL, GROUP, VERSION, API_VERSION } from '../operator/api/types.js';
import type { PoolClaim, PoolClaimSpec, ReclaimPolicy } from '../operator/api/types.js';
import { errorMessage, isNotFound, statusCode } from '../operator/kube/errors.js';
import { clampDelayMs } from '../operator/kube/timers.js';
import {
  ClaimAbortedError,
  ClaimFailedError,
  ClaimTimeoutError,
  WarmpoolError,
  errorForReason,
} from './errors.js';
import { kubeFor, type Kube, type KubeOptions } from './kube.js';
import { validateClaimRequest } from './validate.js';
import { viewClaim, type ClaimView } from './view.js';

export interface ClaimOptions extends KubeOptions {
  /** Namespace of the pool and the claim; default: the kubeconfig context's namespace, else "default". */
  namespace?: string;
  /** Give up after this long (ClaimTimeoutError); the claim is deleted. Unset: wait until bound or failed. */
  timeoutMs?: number;
  /** Abort the wait (ClaimAbortedError, name AbortError); the claim is deleted. */
  signal?: AbortSignal;
  /** spec.priority: higher is served first (int32). */
  priority?: number;
  /** spec.acquiredBy: who claims (stamped on the member; FairShare rotates over it). */
  acquiredBy?: string;
  /** spec.acquiredFor: what for (stamped on the member). */
  acquiredFor?: string;
  /** spec.reclaimPolicy: Delete (default) deletes the member on release, Return gives it back to the pool. */
  reclaimPolicy?: ReclaimPolicy;
  /** spec.waitTimeoutSeconds: the operator's own deadline (NoReadyMembersError, PoolNotFoundError). */
  waitTimeoutSeconds?: number;
  /** spec.ttlSecondsAfterBound: the operator releases the member after this long. */
  ttlSecondsAfterBound?: number;
  /** Prefix of the claim's name (generateName); default "<pool>-". */
  generateName?: string;
  /** Called whenever the operator reports a new wait state (Queued and its position, PoolNotFound). */
  onPending?: (pending: { claimName: string; reason: string | undefined; queuePosition: number | undefined }) => void;
}

/** A bound member. Release it with release(), or let `await using` do it at the end of the scope. */
export interface ClaimedMember extends AsyncDisposable {
  /** The member pod's name. */
  readonly name: string;
  readonly uid: string;
  readonly podIP: string | undefined;
  readonly nodeName: string | undefined;
  readonly namespace: string;
  readonly pool: string;
  /** The PoolClaim's name. */
  readonly claimName: string;
  /** The PoolClaim as last seen on the watch. */
  readonly claim: PoolClaim;
  /**
   * Aborted when the claim stops holding the member while you hold it: reason a MemberLostError (the member failed
   * or vanished), or a ClaimFailedError (Expired by ttlSecondsAfterBound, ClaimDeleted by someone else). Pass it to
   * the work that uses the member. Never aborted by release() or detach().
   */
  readonly signal: AbortSignal;
  /** Deletes the claim (the operator deletes or returns the member). Idempotent; resolves once the API accepted it. */
  release(): Promise<void>;
  /** Stops following the claim without releasing it (it stays bound; release it later, e.g. `kubectl warmpool release`). */
  detach(): void;
}

/** Watch tuning: the server ends a watch after timeoutSeconds; client-node's own inactivity timer must outlast it. */
const WATCH_SERVER_TIMEOUT_S = 290;
const WATCH_INACTIVITY_MS = 330_000;
/** Back-off between watch retries after a failure; gives up after this many failures in a row with no event. */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5_000;
const WATCH_MAX_FAILURES = 6;
const DELETE_ATTEMPTS = 4;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, clampDelayMs(ms)));
const backoff = (attempt: number): number => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);

/** A failure retrying cannot fix: the request is refused as such. */
function permanent(code: number | undefined): boolean {
  return code !== undefined && code >= 400 && code < 500 && code !== 408 && code !== 429 && code !== 410;
}

function claimPath(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${CLAIM_PLURAL}`;
}

/** Deletes the claim, precondition on its uid (never someone else's object of the same name). 404 counts as done. */
async function deleteClaim(kube: Kube, namespace: string, name: string, uid: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await kube.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: CLAIM_PLURAL,
        name,
        body: { preconditions: { uid } },
      });
      return;
    } catch (e) {
      // 409: the uid precondition failed, so the object of that name is not ours any more: ours is gone.
      if (isNotFound(e) || statusCode(e) === 409) return;
      if (permanent(statusCode(e)) || attempt + 1 >= DELETE_ATTEMPTS) {
        throw new WarmpoolError('DeleteFailed', `deleting PoolClaim ${namespace}/${name}: ${errorMessage(e)}`, { cause: e });
      }
      await sleep(backoff(attempt));
    }
  }
}

type Settle = { kind: 'bound' } | { kind: 'error'; error: Error };

/** Follows one claim on a watch: the promise `settled` says how the wait ends; after Bound it keeps watching for loss. */
class ClaimFollower {
  claim: PoolClaim;
  private resourceVersion: string;
  private controller: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private lastReason: string | undefined;
  private lastPosition: number | undefined;
  private bound = false;
  private settle!: (s: Settle) => void;
  readonly settled: Promise<Settle>;
  /** Aborted when the claim leaves Bound on its own; the member's signal. */
  readonly lost = new AbortController();

  constructor(
    private readonly kc: KubeConfig,
    created: PoolClaim,
    private readonly onPending: ClaimOptions['onPending'],
  ) {
    this.claim = created;
    this.resourceVersion = created.metadata.resourceVersion ?? '';
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }

  get name(): string {
    return this.claim.metadata.name ?? '';
  }

  get waitReason(): string | undefined {
    return this.lastReason;
  }

  start(): void {
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    this.controller = undefined;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const watch = new Watch(this.kc);
    // client-node aborts a watch after 30 s without a byte (a private field, typed so); a claim may wait quietly for
    // minutes. If the field ever goes away, the idle watch is just reopened (see reopen).
    Reflect.set(watch, 'requestTimeoutMs', WATCH_INACTIVITY_MS);
    const query: Record<string, string | number | boolean> = {
      fieldSelector: `metadata.name=${this.name}`,
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_SERVER_TIMEOUT_S,
    };
    // From the create's (or the last event's) resourceVersion: every change after it, none missed. Without one
    // (after a 410) the watch begins with the claim as it is now.
    if (this.resourceVersion !== '') query.resourceVersion = this.resourceVersion;
    let ended = false;
    const done = (err: unknown): void => {
      if (ended) return;
      ended = true;
      void this.reopen(err);
    };
    try {
      const controller = await watch.watch(claimPath(this.claim.metadata.namespace ?? ''), query, (type, obj) => this.event(type, obj), done);
      if (this.stopped) controller.abort();
      else this.controller = controller;
    } catch (e) {
      done(e);
    }
  }

  private async reopen(err: unknown): Promise<void> {
    if (this.stopped) return;
    this.controller = undefined;
    // An idle watch timed out by client-node: quiet is not a failure, reopen from where it was.
    const idle = err instanceof Error && err.name === 'TimeoutError';
    if (err !== null && err !== undefined && !idle) {
      const code = statusCode(err);
      if (permanent(code)) return this.fail(new WarmpoolError('WatchFailed', `watching PoolClaim ${this.name}: ${errorMessage(err)}`, { cause: err }));
      if (code === 410) this.resourceVersion = '';
      this.failures++;
      if (this.failures >= WATCH_MAX_FAILURES) {
        return this.fail(new WarmpoolError('WatchFailed', `watching PoolClaim ${this.name}: ${errorMessage(err)} (${this.failures} attempts)`, { cause: err }));
      }
      await sleep(backoff(this.failures - 1));
    }
    await this.open();
  }

  /** While waiting a watch failure ends the wait; once bound it only ends the following (the member is still held). */
  private fail(error: Error): void {
    if (!this.bound) this.settle({ kind: 'error', error });
    this.stop();
  }

  private event(type: string, obj: unknown): void {
    if (this.stopped || typeof obj !== 'object' || obj === null) return;
    const claim = obj as PoolClaim;
    const rv = claim.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    if (type === 'ERROR') {
      // A Status: 410 Gone means the resourceVersion is too old; start again from the claim as it is now.
      const code = (obj as { code?: unknown }).code;
      if (code === 410) this.resourceVersion = '';
      this.controller?.abort();
      return;
    }
    if (claim.metadata?.uid !== this.claim.metadata.uid) return;
    this.failures = 0;
    this.claim = claim;
    const view: ClaimView = type === 'DELETED' ? { kind: 'ended', reason: 'ClaimDeleted', message: `PoolClaim ${this.name} was deleted` } : viewClaim(claim);
    this.apply(view);
  }

  private apply(view: ClaimView): void {
    if (view.kind === 'waiting') {
      if (view.reason !== this.lastReason || view.queuePosition !== this.lastPosition) {
        this.lastReason = view.reason ?? this.lastReason;
        this.lastPosition = view.queuePosition;
        this.onPending?.({ claimName: this.name, reason: view.reason, queuePosition: view.queuePosition });
      }
      return;
    }
    if (view.kind === 'bound') {
      if (!this.bound) {
        this.bound = true;
        this.settle({ kind: 'bound' });
      }
      return;
    }
    const error = errorForReason(view.reason, view.message, this.claim);
    if (this.bound) this.lost.abort(error);
    else this.settle({ kind: 'error', error });
    this.stop();
  }
}

class Member implements ClaimedMember {
  private released: Promise<void> | undefined;
  constructor(
    private readonly kube: Kube,
    private readonly follower: ClaimFollower,
    readonly pool: string,
  ) {}
  private get m(): NonNullable<NonNullable<PoolClaim['status']>['member']> {
    return this.follower.claim.status?.member ?? { name: '', uid: '' };
  }
  get name(): string {
    return this.m.name;
  }
  get uid(): string {
    return this.m.uid;
  }
  get podIP(): string | undefined {
    return this.m.podIP;
  }
  get nodeName(): string | undefined {
    return this.m.nodeName;
  }
  get namespace(): string {
    return this.follower.claim.metadata.namespace ?? '';
  }
  get claimName(): string {
    return this.follower.name;
  }
  get claim(): PoolClaim {
    return this.follower.claim;
  }
  get signal(): AbortSignal {
    return this.follower.lost.signal;
  }
  release(): Promise<void> {
    this.follower.stop();
    this.released ??= deleteClaim(this.kube, this.namespace, this.claimName, this.follower.claim.metadata.uid ?? '');
    return this.released;
  }
  detach(): void {
    this.follower.stop();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** The PoolClaim claim() creates for these options (validated first: nothing reaches the API unchecked). */
export function claimManifest(pool: string, namespace: string, opts: ClaimOptions): PoolClaim {
  validateClaimRequest(pool, namespace, opts);
  const spec: PoolClaimSpec = { poolName: pool };
  if (opts.acquiredBy !== undefined) spec.acquiredBy = opts.acquiredBy;
  if (opts.acquiredFor !== undefined) spec.acquiredFor = opts.acquiredFor;
  if (opts.reclaimPolicy !== undefined) spec.reclaimPolicy = opts.reclaimPolicy;
  if (opts.waitTimeoutSeconds !== undefined) spec.waitTimeoutSeconds = opts.waitTimeoutSeconds;
  if (opts.ttlSecondsAfterBound !== undefined) spec.ttlSecondsAfterBound = opts.ttlSecondsAfterBound;
  if (opts.priority !== undefined) spec.priority = opts.priority;
  return {
    apiVersion: API_VERSION,
    kind: CLAIM_KIND,
    // The claim's name lands in the member's warmpool.dev/claim label: at most 63 characters, and the API server
    // appends 5 to generateName.
    metadata: { generateName: opts.generateName ?? `${pool.slice(0, 57)}-`, namespace },
    spec,
  };
}

/** Creates the claim; the API's own refusal (no CRD, RBAC, schema) becomes a ClaimFailedError naming the cause. */
export async function createClaim(kube: Kube, body: PoolClaim): Promise<PoolClaim> {
  const namespace = body.metadata.namespace ?? '';
  try {
    return (await kube.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: CLAIM_PLURAL, body })) as PoolClaim;
  } catch (e) {
    throw new ClaimFailedError('CreateFailed', `creating a PoolClaim of pool ${body.spec.poolName} in ${namespace}: ${errorMessage(e)}`, undefined, { cause: e });
  }
}

/**
 * Claims one member of `pool`: creates a PoolClaim and waits until the operator binds it. Rejects with the typed
 * error for what the operator reports (NoReadyMembersError, QueueFullError, PoolNotFoundError, PoolDrainingError,
 * ClaimFailedError), ClaimTimeoutError or ClaimAbortedError; in every such case the claim has been deleted.
 *
 *   await using member = await claim('ci-runners', { timeoutMs: 30_000 });
 */
export async function claim(pool: string, opts: ClaimOptions = {}): Promise<ClaimedMember> {
  const kube = kubeFor(opts);
  const namespace = opts.namespace ?? kube.namespace;
  const body = claimManifest(pool, namespace, opts);
  const signal = opts.signal;
  if (signal?.aborted) throw new ClaimAbortedError(`claim of pool ${pool} aborted before it was created`, '', signal.reason);
  const started = Date.now();
  // The create is not cancelled midway: a claim the server created but whose name never reached us could not be
  // deleted. An abort during it is acted on right after.
  const created = await createClaim(kube, body);
  const name = created.metadata.name ?? '';
  const follower = new ClaimFollower(kube.kc, created, opts.onPending);

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const gaveUp = new Promise<Settle>((resolve) => {
    if (signal !== undefined) {
      onAbort = () => resolve({ kind: 'error', error: new ClaimAbortedError(`claim ${namespace}/${name} of pool ${pool} aborted`, name, signal.reason) });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    if (opts.timeoutMs !== undefined) {
      const deadline = started + opts.timeoutMs;
      const arm = (): void => {
        const left = deadline - Date.now();
        if (left > 0) {
          // Clamped: a long deadline wakes early and re-arms rather than overflow setTimeout.
          timer = setTimeout(arm, clampDelayMs(left));
          return;
        }
        const why = follower.waitReason === undefined ? '' : ` (last reported: ${follower.waitReason})`;
        resolve({ kind: 'error', error: new ClaimTimeoutError(`claim ${namespace}/${name} of pool ${pool} not bound within ${opts.timeoutMs} ms${why}`, name, follower.waitReason) });
      };
      arm();
    }
  });
  if (!signal?.aborted) follower.start();
  const outcome = await Promise.race([follower.settled, gaveUp]);
  if (timer !== undefined) clearTimeout(timer);
  if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  if (outcome.kind === 'bound') return new Member(kube, follower, pool);

  follower.stop();
  // Abandoned: delete it, so a bind racing this decision is undone (Delete policy: the member goes with it).
  try {
    await deleteClaim(kube, namespace, name, created.metadata.uid ?? '');
  } catch (e) {
    (outcome.error as Error & { cleanupError?: unknown }).cleanupError = e;
  }
  throw outcome.error;
}

/** Members from claimMany: an array that releases all of them at once (and with `await using`). */
export type ClaimedMembers = ClaimedMember[] & AsyncDisposable & { release(): Promise<void> };

/** The most members one claimMany asks for: a bound on what one call puts in flight (creates and open watches). */
export const CLAIM_MANY_MAX = 256;

/**
 * Claims `count` members of `pool` at once, all or nothing: if any claim fails, every other is released (or
 * abandoned) and the first error is thrown.
 */
export async function claimMany(pool: string, count: number, opts: ClaimOptions = {}): Promise<ClaimedMembers> {
  if (!Number.isInteger(count) || count < 1 || count > CLAIM_MANY_MAX) {
    throw new RangeError(`count: must be an integer from 1 to ${CLAIM_MANY_MAX}, got ${String(count)}`);
  }
  // One failure aborts the rest, which then delete their own claims.
  const all = new AbortController();
  const signal = opts.signal === undefined ? all.signal : AbortSignal.any([opts.signal, all.signal]);
  const results = await Promise.allSettled(
    Array.from({ length: count }, () =>
      claim(pool, { ...opts, signal }).catch((e: unknown) => {
        all.abort(e);
        throw e;
      }),
    ),
  );
  const members = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (members.length < count) {
    await Promise.allSettled(members.map((m) => m.release()));
    // The first real failure, not the aborts it caused in the others.
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw failures.find((e) => !(e instanceof ClaimAbortedError && e.cause === all.signal.reason)) ?? failures[0];
  }
  const release = async (): Promise<void> => {
    const out = await Promise.allSettled(members.map((m) => m.release()));
    const failed = out.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) throw new AggregateError(failed, `releasing ${failed.length} of ${members.length} claims failed`);
  };
  return Object.assign(members, { release, [Symbol.asyncDispose]: release });
}

/** Deletes a claim by name (what release() does, for a claim this process did not create). */
export async function releaseClaim(name: string, opts: KubeOptions & { namespace?: string } = {}): Promise<void> {
  const kube = kubeFor(opts);
  const namespace = opts.namespace ?? kube.namespace;
  try {
    await kube.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: CLAIM_PLURAL, name });
  } catch (e) {
    if (isNotFound(e)) throw new ClaimFailedError('NotFound', `PoolClaim ${namespace}/${name} not found`, undefined, { cause: e });
    throw new WarmpoolError('DeleteFailed', `deleting PoolClaim ${namespace}/${name}: ${errorMessage(e)}`, { cause: e });
  }
}
