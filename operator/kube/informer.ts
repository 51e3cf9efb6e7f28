// A supervised informer over client-node's ListWatch. client-node's informer stops for good on any error other than
// 410 Gone or a client-side timeout (it calls its error callbacks and returns), so this wrapper restarts it with
// jittered back-off, from its resourceVersion when the error allows it and from a fresh list otherwise; it also keeps
// the previous object for update handlers, fills in the kind and apiVersion that list items lack, asks for watch
// bookmarks and a server-side watch timeout, and tracks when it last heard from the watch (readiness).
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { statusCode } from './errors.js';
import { clampDelayMs } from './timers.js';
import { StringTable } from './intern.js';

export const RESTART_BASE_DELAY_MS = 1000;
export const RESTART_MAX_DELAY_MS = 30_000;

/** Delay before restart number attempt+1: 1 s doubling to 30 s, spread by ±20% so replicas do not stampede. */
export function restartDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RESTART_BASE_DELAY_MS * 2 ** attempt, RESTART_MAX_DELAY_MS);
  return Math.min(Math.round(base * (0.8 + 0.4 * random())), RESTART_MAX_DELAY_MS);
}

/**
 * Gives list items the kind and apiVersion of their list ("PodList" -> "Pod"): the apiserver omits them on the
 * items of a list but sends them on watch events, and Events and ownerReferences need them.
 */
export function stampTypeMeta<T extends KubernetesObject>(list: KubernetesListObject<T>): KubernetesListObject<T> {
  const kind = list.kind?.endsWith('List') ? list.kind.slice(0, -'List'.length) : undefined;
  for (const item of list.items) {
    if (item.kind === undefined && kind !== undefined && kind !== '') item.kind = kind;
    if (item.apiVersion === undefined && list.apiVersion !== undefined) item.apiVersion = list.apiVersion;
  }
  return list;
}

/**
 * Drops metadata.managedFields from a cached object (in place: the informer's cache holds this very object). Nothing
 * in the operator reads them, and they are a large share of a pod's size: with 1,000 members, megabytes of heap.
 */
export function forgetManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
}

/** Lists the informer's objects; with a limit, only the first ones (the informer asks for 1 to learn the server's
 * current resourceVersion). */
export type ListFn<T extends KubernetesObject> = (options?: { limit?: number }) => Promise<KubernetesListObject<T>>;
type WatchCallback = Parameters<Watch['watch']>[2];
type WatchDone = Parameters<Watch['watch']>[3];

/** Seconds the apiserver keeps one watch open (it sends a bookmark 2 s before closing); under client-node's 30 s
 * inactivity timeout, so a quiet watch ends cleanly on the server's side instead of being aborted on ours. */
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 25;
/** Failed restarts from the same resourceVersion after which the informer relists anyway. */
export const MAX_FAILED_RESUMES = 3;

/**
 * The informer's resourceVersion is ahead of the server's own. kube-apiserver 1.37 holds a watch from a
 * resourceVersion it has not reached (after an etcd restore) open without a word until the watch times out, instead
 * of refusing it: the informer finds out by asking the server's current resourceVersion after a silent watch.
 */
export class ResourceVersionAheadError extends Error {
  constructor(ours: string, theirs: string) {
    super(`resourceVersion ${ours} is ahead of the server's ${theirs} (was etcd restored?)`);
    this.name = 'ResourceVersionAheadError';
  }
}

/** Whether resourceVersion a is ahead of b. They are opaque strings by contract; etcd's are decimal integers, and
 * anything else is never called ahead. */
export function isAhead(a: string, b: string): boolean {
  return /^\d{1,30}$/.test(a) && /^\d{1,30}$/.test(b) && BigInt(a) > BigInt(b);
}

/** Whether the API server says a resourceVersion it was given is ahead of its own (after an etcd restore). */
export function isTooLargeResourceVersion(err: unknown): boolean {
  const body = (err as { body?: unknown } | null)?.body;
  const status = typeof body === 'object' && body !== null ? (body as { details?: { causes?: unknown } }) : undefined;
  const causes = Array.isArray(status?.details?.causes) ? (status.details.causes as Array<{ type?: unknown }>) : [];
  if (causes.some((c) => c.type === 'ResourceVersionTooLarge')) return true;
  const message = err instanceof Error ? err.message : (status as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && /too large resource version/i.test(message);
}

/**
 * Whether an informer must drop its resourceVersion and list from scratch after this error, rather than watch again
 * from where it was. The apiserver answers a resourceVersion it cannot serve with 410 Gone (compacted), a 504 whose
 * cause is ResourceVersionTooLarge (it has not reached it: an etcd restore) or, for a watch, silence until the watch
 * times out (ResourceVersionAheadError, once asked); resuming repeats any of them forever. A 504
 * on a watch comes without a body, so every 504 relists. Network errors, throttling (429) and the apiserver's
 * transient 500/502/503 say nothing against the resourceVersion: resume. Any other answer (400, 401, 403, 404...)
 * relists too: a fresh list costs little next to a cache that may have stopped following.
 */
export function needsRelist(err: unknown): boolean {
  if (err instanceof ResourceVersionAheadError || isTooLargeResourceVersion(err)) return true;
  const code = statusCode(err);
  if (code === undefined) return false;
  return ![429, 500, 502, 503].includes(code);
}

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The watch path, e.g. /api/v1/namespaces/ns/pods or /apis/warmpool.dev/v1alpha1/instancepools. */
  path: string;
  /** Lists the same objects; it must apply the same label and field selectors. */
  list: ListFn<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** The informer stopped on an error and restarts in restartInMs, from a fresh list when relist is true. */
  onWatchError?(err: unknown, restartInMs: number, relist: boolean): void;
  /** An event handler threw; the informer carries on. */
  onHandlerError?(err: unknown): void;
  /**
   * Seconds the apiserver keeps one watch open; default DEFAULT_WATCH_TIMEOUT_SECONDS, bounded to [1, 1800]. An
   * informer that heard nothing from its watch for twice this long is not ready.
   */
  watchTimeoutSeconds?: number;
  /**
   * Trims an object before it is cached, in place: drops what no reader needs (the pod cache keeps only what the
   * operator reads of a member). Runs before the repeated strings are shared.
   */
  trim?(obj: T): void;
  /**
   * Builds the underlying informer; tests pass a fake. Defaults to a ListWatch over a bookmark-asking Watch. It calls
   * onHeard for each event and bookmark of a watch.
   */
  makeInformer?(list: ListFn<T>, onHeard: () => void): InnerInformer<T>;
  now?: () => number;
  random?: () => number;
}

/** The ListWatch as the supervisor drives it: a cache, events, and a way to make its next start list from scratch. */
export type InnerInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T> & { forgetResourceVersion(): void };

type AddHandler<T> = (obj: T) => void;
type UpdateHandler<T> = (obj: T, old: T | undefined) => void;
type DeleteHandler<T> = (obj: T) => void;

// Back-off resets after this long without an error, as well as on any object event.
const QUIET_RESET_MS = 2 * RESTART_MAX_DELAY_MS;

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly inner: InnerInformer<T>;
  private readonly opts: SupervisedInformerOptions<T>;
  private readonly now: () => number;
  private readonly addHandlers: AddHandler<T>[] = [];
  private readonly updateHandlers: UpdateHandler<T>[] = [];
  private readonly deleteHandlers: DeleteHandler<T>[] = [];
  // The last object each handler saw per namespace/name; references only, so the old object costs nothing.
  private readonly known = new Map<string, T>();
  /** The cached objects' repeated strings, shared (intern.ts). */
  private readonly strings = new StringTable();
  private started: Promise<void> | undefined;
  private resolveSynced: () => void = () => undefined;
  private rejectSynced: (err: Error) => void = () => undefined;
  private isSynced = false;
  private listed = false;
  private stopped = false;
  private attempt = 0;
  private failedResumes = 0;
  private lastErrorMs: number | undefined;
  private lastHeardMs: number | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly watchTimeoutSeconds: number;

  constructor(opts: SupervisedInformerOptions<T>) {
    this.opts = opts;
    this.now = opts.now ?? (() => Date.now());
    const timeout = Math.round(opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS);
    this.watchTimeoutSeconds = Number.isFinite(timeout) ? Math.min(Math.max(timeout, 1), 1800) : DEFAULT_WATCH_TIMEOUT_SECONDS;
    const list: ListFn<T> = async () => {
      const result = stampTypeMeta(await opts.list());
      this.listed = true;
      return result;
    };
    const onHeard = (): void => this.heard();
    const serverResourceVersion = async (): Promise<string> => (await opts.list({ limit: 1 })).metadata?.resourceVersion ?? '';
    this.inner = opts.makeInformer
      ? opts.makeInformer(list, onHeard)
      : new RelistableListWatch<T>(
          opts.path,
          new SupervisedWatch(opts.kc, onHeard, this.watchTimeoutSeconds, serverResourceVersion),
          list,
          false,
          opts.labelSelector,
          opts.fieldSelector,
        );
    this.inner.on('add', (obj) => this.dispatchAdd(obj));
    this.inner.on('update', (obj) => this.dispatchUpdate(obj));
    this.inner.on('delete', (obj) => this.dispatchDelete(obj));
    this.inner.on('error', (err: unknown) => this.onInnerError(err));
  }

  /** Handlers see every object from the first list on; register them before start(). */
  onAdd(fn: AddHandler<T>): void {
    this.addHandlers.push(fn);
  }

  /** Called with the new object and, when the cache had it, the previous one. */
  onUpdate(fn: UpdateHandler<T>): void {
    this.updateHandlers.push(fn);
  }

  /** Called with the last known state of the object. */
  onDelete(fn: DeleteHandler<T>): void {
    this.deleteHandlers.push(fn);
  }

  /** Starts the informer (once); resolves after the first list is in the cache, however many restarts it takes. */
  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('informer: start after stop'));
    if (this.started === undefined) {
      this.started = new Promise<void>((resolve, reject) => {
        this.resolveSynced = resolve;
        this.rejectSynced = reject;
      });
      this.lastHeardMs = this.now();
      void this.run();
    }
    return this.started;
  }

  /** Stops for good: a start() still waiting for its first sync rejects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!this.isSynced) this.rejectSynced(new Error(`informer ${this.opts.path}: stopped before its first sync`));
    await this.inner.stop();
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /**
   * The API server is known to answer again (the leader elector just renewed after an outage): a restart waiting
   * out its back-off goes now, with the back-off reset. Without this, an informer that failed through a 12 s outage
   * waits up to 16 s more before it looks again. A no-op while the watch runs.
   */
  retryNow(): void {
    if (this.stopped || this.restartTimer === undefined) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.attempt = 0;
    void this.run();
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.inner.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  /**
   * Seconds since the informer last heard from its watch: an event, a bookmark, or (after a watch that timed out
   * without either) the server's word that it has reached the informer's resourceVersion; counted from start() until
   * the first. A healthy informer hears one of these at least once per watch timeout; a growing value means it is
   * failing or stuck. 0 before start().
   */
  lastEventAgeSeconds(): number {
    return this.lastHeardMs === undefined ? 0 : Math.max(0, (this.now() - this.lastHeardMs) / 1000);
  }

  /** Why the informer is not ready (not synced yet, or silent for over twice its watch timeout); undefined if it is. */
  notReadyReason(): string | undefined {
    if (!this.isSynced) return `${this.opts.path}: not synced`;
    const age = this.lastEventAgeSeconds();
    const limit = 2 * this.watchTimeoutSeconds;
    return age > limit ? `${this.opts.path}: nothing heard for ${Math.floor(age)} s (limit ${limit} s)` : undefined;
  }

  private async run(): Promise<void> {
    try {
      await this.inner.start();
    } catch (err) {
      // ListWatch reports most failures through its error callbacks, but a throw before its request starts (for
      // example failed authentication) rejects start() instead.
      this.onInnerError(err);
    }
    if (this.listed && !this.isSynced && !this.stopped) {
      this.isSynced = true;
      this.resolveSynced();
    }
  }

  private onInnerError(err: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    const nowMs = this.now();
    if (this.lastErrorMs !== undefined && nowMs - this.lastErrorMs > QUIET_RESET_MS) this.attempt = 0;
    this.lastErrorMs = nowMs;
    const delay = restartDelayMs(this.attempt, this.opts.random);
    this.attempt++;
    // Resuming from a resourceVersion the server refuses repeats the refusal forever; so does an error we cannot
    // classify, which a few failed resumes in a row reveal.
    const relist = needsRelist(err) || this.failedResumes >= MAX_FAILED_RESUMES;
    if (relist) {
      this.inner.forgetResourceVersion();
      this.failedResumes = 0;
    } else {
      this.failedResumes++;
    }
    this.opts.onWatchError?.(err, delay, relist);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.run();
    }, clampDelayMs(delay));
    this.restartTimer.unref();
  }

  private heard(): void {
    this.lastHeardMs = this.now();
    this.failedResumes = 0;
  }

  private objectEvent(): void {
    this.attempt = 0;
  }

  /** What the cache keeps of an object, made in place before any handler sees it: less, and sharing its strings. */
  private prepare(obj: T): void {
    forgetManagedFields(obj);
    if (this.opts.trim) this.safely(() => this.opts.trim?.(obj));
    this.strings.share(obj);
  }

  private dispatchAdd(obj: T): void {
    this.objectEvent();
    this.prepare(obj);
    this.known.set(cacheKey(obj), obj);
    for (const fn of this.addHandlers) this.safely(() => fn(obj));
  }

  private dispatchUpdate(obj: T): void {
    this.objectEvent();
    this.prepare(obj);
    const key = cacheKey(obj);
    const old = this.known.get(key);
    this.known.set(key, obj);
    for (const fn of this.updateHandlers) this.safely(() => fn(obj, old));
  }

  private dispatchDelete(obj: T): void {
    this.objectEvent();
    this.known.delete(cacheKey(obj));
    for (const fn of this.deleteHandlers) this.safely(() => fn(obj));
  }

  // A throw inside a ListWatch callback would be swallowed by client-node's line parser and cut the event short for
  // the remaining handlers; contain it here.
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.onHandlerError?.(err);
    }
  }
}

function cacheKey(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** ListWatch whose next start lists from scratch once told to (client-node does that by itself only after a 410). */
class RelistableListWatch<T extends KubernetesObject> extends ListWatch<T> {
  forgetResourceVersion(): void {
    // ListWatch keeps its resourceVersion private and lists whenever it is empty; informer-http.test.ts checks this
    // against the real ListWatch, so an upgrade that renames the field fails there.
    (this as unknown as { resourceVersion: string }).resourceVersion = '';
  }
}

/** The apiserver's Status from a watch ERROR event, as an error the informer can classify and log. */
function watchStatusError(status: unknown): Error {
  const s = (typeof status === 'object' && status !== null ? status : {}) as { code?: unknown; message?: unknown };
  const error = new Error(typeof s.message === 'string' ? s.message : 'watch error event') as Error & { statusCode?: number; body?: unknown };
  if (typeof s.code === 'number') error.statusCode = s.code;
  error.body = status;
  return error;
}

/**
 * client-node's Watch with these changes. It asks for bookmarks and for a server-side timeout (under client-node's
 * own 30 s inactivity abort). It reports what it heard: events and bookmarks. It turns an ERROR event (a Status:
 * client-node ignores all but 410 and watches again from the same resourceVersion forever) into an error passed to
 * done, for the supervisor to decide on. A watch that timed out without a word is either quiet or stuck on a
 * resourceVersion the server has not reached (the apiserver sends a bookmark only once it has moved past the watch's
 * resourceVersion): it asks the server's current resourceVersion (a list of 1) and ends with
 * ResourceVersionAheadError if ours is ahead, or else counts that answer as heard and lets ListWatch reconnect at
 * once. And it turns a throw before the request (which client-node would leave as an unhandled rejection on a
 * reconnect) into an error passed to done.
 */
class SupervisedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly onHeard: () => void,
    private readonly timeoutSeconds: number,
    private readonly serverResourceVersion: () => Promise<string>,
  ) {
    super(config);
  }

  private quietEnd(ours: string, done: WatchDone): void {
    this.serverResourceVersion().then(
      (theirs) => {
        if (isAhead(ours, theirs)) return done(new ResourceVersionAheadError(ours, theirs));
        this.onHeard();
        // The server ending a quiet watch at its timeout is client-node's own inactivity timeout by another name: it
        // reconnects at once only for an error of this name (a clean end would wait a growing back-off).
        done(new DOMException('watch timed out without events', 'TimeoutError'));
      },
      (err: unknown) => done(err),
    );
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: WatchDone,
  ): Promise<AbortController> {
    const openedAt = Date.now();
    let errorEvent: unknown;
    let heard = false;
    const observedDone: WatchDone = (err: unknown) => {
      if (err !== null && err !== undefined) return done(err);
      // A 410 event already made ListWatch drop its resourceVersion; it relists by itself on this clean end.
      if (errorEvent !== undefined && statusCode(watchStatusError(errorEvent)) !== 410) return done(watchStatusError(errorEvent));
      if (errorEvent === undefined && !heard && (Date.now() - openedAt) * 2 >= this.timeoutSeconds * 1000) {
        return this.quietEnd(String(queryParams.resourceVersion ?? ''), done);
      }
      done(null);
    };
    const observedCallback: WatchCallback = (phase, apiObj, watchObj) => {
      if (phase === 'ERROR') {
        errorEvent = apiObj;
      } else {
        heard = true;
        this.onHeard();
      }
      callback(phase, apiObj, watchObj);
    };
    try {
      const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds };
      return await super.watch(path, params, observedCallback, observedDone);
    } catch (err) {
      done(err);
      return new AbortController();
    }
  }
}
