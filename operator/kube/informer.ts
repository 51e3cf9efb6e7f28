// A supervised informer over client-node's ListWatch. client-node's informer stops for good on any error other than
// 410 Gone or a client-side timeout (it calls its error callbacks and returns), so this wrapper restarts it with
// jittered back-off; it also keeps the previous object for update handlers, fills in the kind and apiVersion that
// list items lack, asks for watch bookmarks and tracks when the watch last showed signs of life.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { clampDelayMs } from './timers.js';

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

export type ListFn<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;
type WatchCallback = Parameters<Watch['watch']>[2];
type WatchDone = Parameters<Watch['watch']>[3];

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The watch path, e.g. /api/v1/namespaces/ns/pods or /apis/warmpool.dev/v1alpha1/instancepools. */
  path: string;
  /** Lists the same objects; it must apply the same label and field selectors. */
  list: ListFn<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** The informer stopped on an error and restarts in restartInMs. */
  onWatchError?(err: unknown, restartInMs: number): void;
  /** An event handler threw; the informer carries on. */
  onHandlerError?(err: unknown): void;
  /** Builds the underlying informer; tests pass a fake. Defaults to a ListWatch over a bookmark-asking Watch. */
  makeInformer?(list: ListFn<T>, onWatchOpen: () => void): Informer<T> & ObjectCache<T>;
  now?: () => number;
  random?: () => number;
}

type AddHandler<T> = (obj: T) => void;
type UpdateHandler<T> = (obj: T, old: T | undefined) => void;
type DeleteHandler<T> = (obj: T) => void;

// Back-off resets after this long without an error, as well as on any object event.
const QUIET_RESET_MS = 2 * RESTART_MAX_DELAY_MS;

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly inner: Informer<T> & ObjectCache<T>;
  private readonly opts: SupervisedInformerOptions<T>;
  private readonly now: () => number;
  private readonly addHandlers: AddHandler<T>[] = [];
  private readonly updateHandlers: UpdateHandler<T>[] = [];
  private readonly deleteHandlers: DeleteHandler<T>[] = [];
  // The last object each handler saw per namespace/name; references only, so the old object costs nothing.
  private readonly known = new Map<string, T>();
  private started: Promise<void> | undefined;
  private resolveSynced: () => void = () => undefined;
  private rejectSynced: (err: Error) => void = () => undefined;
  private isSynced = false;
  private listed = false;
  private stopped = false;
  private attempt = 0;
  private lastErrorMs: number | undefined;
  private lastActivityMs: number | undefined;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(opts: SupervisedInformerOptions<T>) {
    this.opts = opts;
    this.now = opts.now ?? (() => Date.now());
    const list: ListFn<T> = async () => {
      const result = stampTypeMeta(await opts.list());
      this.listed = true;
      this.touch();
      return result;
    };
    const onWatchOpen = (): void => this.touch();
    this.inner = opts.makeInformer
      ? opts.makeInformer(list, onWatchOpen)
      : new ListWatch<T>(
          opts.path,
          new SupervisedWatch(opts.kc, onWatchOpen),
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
      this.lastActivityMs = this.now();
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

  list(namespace?: string): ReadonlyArray<T> {
    return this.inner.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  /**
   * Seconds since the informer last showed it is live: an object event, a bookmark, a completed list or a watch
   * stream opened. client-node re-opens a quiet watch every 30 s, so a healthy informer stays near or below that;
   * a growing value means it is failing or stuck. 0 before start().
   */
  lastEventAgeSeconds(): number {
    return this.lastActivityMs === undefined ? 0 : Math.max(0, (this.now() - this.lastActivityMs) / 1000);
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
    this.opts.onWatchError?.(err, delay);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.run();
    }, clampDelayMs(delay));
    this.restartTimer.unref();
  }

  private touch(): void {
    this.lastActivityMs = this.now();
  }

  private objectEvent(): void {
    this.touch();
    this.attempt = 0;
  }

  private dispatchAdd(obj: T): void {
    this.objectEvent();
    forgetManagedFields(obj);
    this.known.set(cacheKey(obj), obj);
    for (const fn of this.addHandlers) this.safely(() => fn(obj));
  }

  private dispatchUpdate(obj: T): void {
    this.objectEvent();
    forgetManagedFields(obj);
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

/**
 * client-node's Watch with three changes: it asks for bookmarks, so a quiet resource's resourceVersion stays fresh
 * and a reconnect does not turn into a 410 and a full relist; it reports each stream that opened; and it turns a
 * throw before the request (which client-node would leave as an unhandled rejection on a reconnect) into an error
 * passed to done.
 */
class SupervisedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly onOpen: () => void,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: WatchDone,
  ): Promise<AbortController> {
    let failed = false;
    const observedDone: WatchDone = (err: unknown) => {
      if (err !== null && err !== undefined) failed = true;
      done(err);
    };
    const observedCallback: WatchCallback = (phase, apiObj, watchObj) => {
      if (phase === 'BOOKMARK') this.onOpen();
      callback(phase, apiObj, watchObj);
    };
    try {
      const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, observedCallback, observedDone);
      if (!failed) this.onOpen();
      return controller;
    } catch (err) {
      done(err);
      return new AbortController();
    }
  }
}
