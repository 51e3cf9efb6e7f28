// Kubernetes Events (core/v1) about the operator's objects, written fire-and-forget: recording an Event never
// fails or slows the reconcile that records it. The same object + type + reason + message is written once per
// window (5 minutes): client-go would bump a count on the existing Event, which costs a write for no news.
import { hostname } from 'node:os';
import type { CoreV1Api, CoreV1Event, KubernetesObject } from '@kubernetes/client-node';

export type EventType = 'Normal' | 'Warning';

export const EVENT_SPAM_WINDOW_MS = 5 * 60 * 1000;
export const EVENT_SOURCE_COMPONENT = 'warmpool';

/** Remembers which keys were let through in the last window; pure over time passed in. */
export class EventSpamFilter {
  // Insertion order is first-seen order (a key is re-inserted when let through again), so the expired entries are
  // always at the front and pruning is cheap.
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number = EVENT_SPAM_WINDOW_MS) {}

  /** True when the key was not let through within the window before nowMs (and records it). */
  allow(key: string, nowMs: number): boolean {
    this.prune(nowMs);
    const last = this.seen.get(key);
    if (last !== undefined && nowMs - last < this.windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, nowMs);
    return true;
  }

  size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    for (const [key, at] of this.seen) {
      if (nowMs - at < this.windowMs) return;
      this.seen.delete(key);
    }
  }
}

/** The spam-filter key of an Event: which object, and what was said about it. */
export function eventKey(obj: KubernetesObject, type: EventType, reason: string, message: string): string {
  const m = obj.metadata;
  const who = m?.uid ?? `${obj.kind ?? ''}/${m?.namespace ?? ''}/${m?.name ?? ''}`;
  return JSON.stringify([who, type, reason, message]);
}

export interface EventSourceInfo {
  component: string;
  instance: string;
}

/**
 * The core/v1 Event for obj. eventTime is left out: set, it would switch the apiserver to the events.k8s.io rules
 * (reportingController, action and a 6-digit MicroTime all required). The name is unique per object and call.
 */
export function buildEvent(
  obj: KubernetesObject,
  type: EventType,
  reason: string,
  message: string,
  source: EventSourceInfo,
  nowMs: number,
  seq: number,
): CoreV1Event {
  const m = obj.metadata ?? {};
  const namespace = m.namespace ?? 'default';
  const at = new Date(nowMs);
  // Like client-go's "<name>.<unix nanos in hex>"; seq keeps two Events of the same millisecond apart.
  const nanos = BigInt(nowMs) * 1_000_000n + BigInt(seq % 1_000_000);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${m.name ?? 'unknown'}.${nanos.toString(16)}`, namespace },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
    },
    type,
    reason,
    // events.k8s.io caps a note at 1 KiB; stay within that so the same message fits either API.
    message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
    source: { component: source.component },
    reportingComponent: source.component,
    reportingInstance: source.instance,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

export interface EventRecorderOptions {
  core: Pick<CoreV1Api, 'createNamespacedEvent'>;
  /** source.component and reportingComponent; default 'warmpool'. */
  component?: string;
  /** reportingInstance, e.g. the pod name; default the host name. */
  instance?: string;
  /** A write failed (or the object could not be described); the caller's reconcile is not affected. */
  onError?(err: unknown, event: CoreV1Event | undefined): void;
  now?: () => number;
  spamWindowMs?: number;
}

export class EventRecorder {
  private readonly core: Pick<CoreV1Api, 'createNamespacedEvent'>;
  private readonly source: EventSourceInfo;
  private readonly filter: EventSpamFilter;
  private readonly now: () => number;
  private readonly onError: (err: unknown, event: CoreV1Event | undefined) => void;
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(opts: EventRecorderOptions) {
    this.core = opts.core;
    this.source = { component: opts.component ?? EVENT_SOURCE_COMPONENT, instance: opts.instance ?? hostname() };
    this.filter = new EventSpamFilter(opts.spamWindowMs);
    this.now = opts.now ?? (() => Date.now());
    this.onError = (err, event) => {
      try {
        opts.onError?.(err, event);
      } catch {
        // The error callback is the last stop.
      }
    };
  }

  /** Writes an Event about obj in the background, unless the same one was written within the window. */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    let event: CoreV1Event | undefined;
    try {
      const nowMs = this.now();
      if (!this.filter.allow(eventKey(obj, type, reason, message), nowMs)) return;
      event = buildEvent(obj, type, reason, message, this.source, nowMs, this.seq++);
      const body = event;
      const write = this.core
        .createNamespacedEvent({ namespace: body.metadata.namespace ?? 'default', body })
        .then(
          () => undefined,
          (err: unknown) => this.onError(err, body),
        )
        .finally(() => this.inFlight.delete(write));
      this.inFlight.add(write);
    } catch (err) {
      this.onError(err, event);
    }
  }

  /** Resolves once every Event recorded so far has been written or has failed (for shutdown and tests). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
