// What this process wrote that the cache has not shown yet: the role client-go's MutationCache and a ReplicaSet's
// expectations play. An informer delivers our own write some milliseconds to seconds after the API server took it;
// a pass planned in between would see the object as it was and decide the same thing again (a second bind of one
// claim, the same status written twice). Each write we make that a later pass must not miss is recorded here, and
// a pass reads the cache through view(): the object as our write leaves it, until the cache shows the write, moves
// past it, or the record expires (a write the cache never shows must not mask the cache for ever).

/** One write of ours, as a later pass must see it. C is what the pass knows that the overlay may depend on. */
export interface OwnWrite<T, C = undefined> {
  /** The cached object with our write applied; undefined: not now (show the cache as it is, keep the record). */
  apply(cached: T, context: C): T | undefined;
  /** The cache shows the write or has moved past it: it knows better now, and the record goes. */
  shown(cached: T): boolean;
  /** This cached version is our write coming back through the watch (optional). */
  echo?(cached: T): boolean;
}

export interface OwnWritesOptions {
  /** How long a write may stay unshown before the cache is believed again. */
  ttlMs: number;
  now: () => number;
}

export class OwnWrites<T, C = undefined> {
  private readonly records = new Map<string, { write: OwnWrite<T, C>; at: number }>();

  constructor(private readonly opts: OwnWritesOptions) {}

  get size(): number {
    return this.records.size;
  }

  /** Records a write to the object with this id (replacing an earlier one); before sending it where a pass may run meanwhile. */
  record(id: string, write: OwnWrite<T, C>): void {
    this.records.set(id, { write, at: this.opts.now() });
  }

  /** The write failed, or the object is gone: nothing to cover for. */
  forget(id: string): void {
    this.records.delete(id);
  }

  /** Whether this cached version is our own write coming back (an event the pass that wrote it already planned). */
  isEcho(id: string, cached: T): boolean {
    return this.records.get(id)?.write.echo?.(cached) ?? false;
  }

  /** The cached object as our writes leave it. */
  view(id: string, cached: T, context: C): T {
    const r = this.records.get(id);
    if (r === undefined) return cached;
    if (this.opts.now() - r.at >= this.opts.ttlMs || r.write.shown(cached)) {
      this.records.delete(id);
      return cached;
    }
    return r.write.apply(cached, context) ?? cached;
  }

  /** view() over a list; records past their time go even when their object is no longer listed. */
  viewAll(cached: readonly T[], idOf: (o: T) => string, context: C): T[] {
    if (this.records.size === 0) return [...cached];
    const now = this.opts.now();
    for (const [id, r] of this.records) if (now - r.at >= this.opts.ttlMs) this.records.delete(id);
    return cached.map((o) => this.view(idOf(o), o, context));
  }
}
