// Active-active shards, the shell: every replica runs one loop over all the shard Leases of its group. Each round it
// lists them (one request, by label, with the replicas' heartbeat Leases), lets planShards decide, and writes: its
// heartbeat, a renewal of each shard it keeps, a guarded takeover of each shard it takes, a release of each it gives
// back. Expiry is judged as in lease.ts: by how long this process has seen a Lease's version unchanged.
//
// A held shard ends when the list shows another holder, when it is given back (its work is stopped first, then the
// Lease released), or when renewals failed for renewDeadline (an outage: the shard's write fence has closed by
// then anyway). Writes are guarded by the resourceVersion listed, so two replicas racing for a shard get one 200 and
// one 409.
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict } from './errors.js';
import { acquiredSpec, decideLease, leaseBody, releasedSpec, renewedSpec } from './lease.js';
import { timeoutOptions } from './request-options.js';
import {
  LABEL_LEASE_ROLE,
  LABEL_SHARD_GROUP,
  heartbeatSlot,
  planShards,
  replicaLeaseName,
  shardGroupLabel,
  shardLeaseName,
  shardOfLeaseName,
  slotOfLeaseName,
  validateSharding,
  type SlotSeen,
  type ShardPlan,
  type ShardSeen,
} from './shards.js';
import { Callbacks } from './callbacks.js';
import { clampDelayMs } from './timers.js';

export type ShardLeaseClient = Pick<CoordinationV1Api, 'listNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

/** 'released': given back to even out the shares; 'taken': another holder was seen; 'unreachable': renewals failed. */
export type ShardLoss = 'released' | 'taken' | 'unreachable' | 'stopped';

export interface ShardElectorOptions {
  kc: KubeConfig;
  coordination?: ShardLeaseClient;
  namespace: string;
  /** The leader election Lease name the shard and heartbeat Lease names derive from. */
  name: string;
  identity: string;
  shards: number;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Shard taken: this replica may write for it until signal aborts. Not awaited. */
  onGained(shard: number, signal: AbortSignal): void;
  /** Shard ended (signal already aborted); awaited before a released Lease is written. */
  onLost(shard: number, reason: ShardLoss): void | Promise<void>;
  /** Shard acquired or renewed: its writes may go out until untilMs (local clock), the write fence's bound. */
  onRenewed(shard: number, untilMs: number): void;
  /** Each round's plan, for logs and metrics. */
  onPlan?(plan: ShardPlan, held: readonly number[]): void;
  onError?(err: unknown): void;
}

const JITTER = 0.2;

interface Held {
  abort: AbortController;
  lastRenewMs: number;
}

export class ShardElector {
  private readonly o: ShardElectorOptions;
  private readonly api: ShardLeaseClient;
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly group: string;
  /** The heartbeat slot's Lease this replica holds or is taking; re-picked each round. */
  private heartbeatName: string | undefined;
  private readonly held = new Map<number, Held>();
  /** Lease name -> the version last seen and when this process first saw it. */
  private readonly observed = new Map<string, { version: string | undefined; atMs: number }>();
  /** Leases as last listed or written, by name: the next guarded write carries their resourceVersion. */
  private readonly leases = new Map<string, V1Lease>();
  private rounds = 0;
  private stopping = false;
  private running: Promise<void> | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  private readonly callbacks: Callbacks;

  constructor(opts: ShardElectorOptions) {
    validateSharding(opts.name, opts.shards);
    this.o = opts;
    this.callbacks = new Callbacks((err) => opts.onError?.(err));
    this.durationS = opts.leaseDurationSeconds ?? 15;
    const renewDeadlineS = opts.renewDeadlineSeconds ?? 10;
    const retryS = opts.retryPeriodSeconds ?? 2;
    if (!(this.durationS > renewDeadlineS && renewDeadlineS > retryS * (1 + JITTER) && retryS > 0)) {
      throw new Error(`shards: need leaseDuration > renewDeadline > ${1 + JITTER} * retryPeriod > 0 (got ${this.durationS}, ${renewDeadlineS}, ${retryS})`);
    }
    this.renewDeadlineMs = renewDeadlineS * 1000;
    this.retryMs = retryS * 1000;
    this.api = opts.coordination ?? opts.kc.makeApiClient(CoordinationV1Api);
    this.group = shardGroupLabel(opts.name);
  }

  /** The shards this replica holds now. */
  heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  holds(shard: number): boolean {
    return this.held.has(shard);
  }

  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops every shard's work (onLost awaited), then releases its Leases and the heartbeat, so peers take over at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      await this.round();
      this.rounds++;
      await this.sleep(this.retryMs * (1 + JITTER * Math.random()));
    }
    const shards = this.heldShards();
    await Promise.all(shards.map((i) => this.lose(i, 'stopped')));
    const heartbeat = this.heartbeatName === undefined ? [] : [this.heartbeatName];
    await Promise.all([...shards.map((i) => shardLeaseName(this.o.name, i)), ...heartbeat].map((name) => this.release(name)));
  }

  private async round(): Promise<void> {
    const options = timeoutOptions(this.renewDeadlineMs / 2);
    let items: V1Lease[];
    try {
      const list = await this.api.listNamespacedLease(
        { namespace: this.o.namespace, labelSelector: `${LABEL_SHARD_GROUP}=${this.group}` },
        options,
      );
      items = list.items;
    } catch (err) {
      this.callbacks.report(err);
      await this.dropStale();
      return;
    }
    if (this.stopping) return;
    const now = Date.now();
    this.leases.clear();
    const byShard = new Map<number, V1Lease>();
    const peers: string[] = [];
    const slots: SlotSeen[] = [];
    for (const lease of items) {
      const name = lease.metadata?.name ?? '';
      this.observe(name, lease, now);
      this.leases.set(name, lease);
      const shard = shardOfLeaseName(this.o.name, name, this.o.shards);
      const slot = slotOfLeaseName(this.o.name, name);
      if (shard !== undefined) byShard.set(shard, lease);
      else if (slot !== undefined && lease.metadata?.labels?.[LABEL_LEASE_ROLE] === 'replica') {
        const live = this.isLiveOther(name, lease, now);
        if (live) peers.push(lease.spec?.holderIdentity ?? '');
        slots.push({ slot, holder: lease.spec?.holderIdentity ?? '', live });
      }
    }
    const slot = heartbeatSlot(this.o.identity, slots);
    this.heartbeatName = slot === undefined ? undefined : replicaLeaseName(this.o.name, slot);
    if (slot === undefined) this.callbacks.report(new Error(`shards: all heartbeat slots of ${this.o.name} are live; this replica takes no shard`));
    // A held shard whose Lease shows another holder (or is gone) was taken: stop before anything else is written.
    for (const i of this.heldShards()) {
      if (byShard.get(i)?.spec?.holderIdentity !== this.o.identity) await this.lose(i, 'taken');
    }
    const seen: ShardSeen[] = Array.from({ length: this.o.shards }, (_, shard) => {
      const lease = byShard.get(shard);
      if (this.held.has(shard)) return { shard, state: 'self' };
      const name = shardLeaseName(this.o.name, shard);
      return this.isLiveOther(name, lease, now) ? { shard, state: 'other', holder: lease?.spec?.holderIdentity } : { shard, state: 'free' };
    });
    const plan = planShards({ shards: this.o.shards, self: this.o.identity, peers, seen, settled: this.rounds > 0 && slot !== undefined });
    for (const i of plan.release) await this.lose(i, 'released');
    if (this.stopping) return;
    await Promise.all([
      this.heartbeat(),
      ...plan.release.map((i) => this.release(shardLeaseName(this.o.name, i))),
      ...this.heldShards().map((i) => this.renew(i)),
      ...plan.acquire.map((i) => this.acquire(i)),
    ]);
    await this.dropStale();
    this.callbacks.call(() => this.o.onPlan?.(plan, this.heldShards()));
  }

  // Held by someone else, as far as this process can tell: a holder, and the version not yet expired.
  private isLiveOther(name: string, lease: V1Lease | undefined, now: number): boolean {
    if (lease === undefined) return false;
    const at = this.observed.get(name)?.atMs ?? now;
    return decideLease(lease, this.o.identity, now, this.durationS, at).action === 'wait';
  }

  private observe(name: string, lease: V1Lease, now: number): void {
    const version = lease.metadata?.resourceVersion;
    if (this.observed.get(name)?.version !== version) this.observed.set(name, { version, atMs: now });
  }

  private async heartbeat(): Promise<void> {
    const name = this.heartbeatName;
    if (name === undefined) return;
    const now = Date.now();
    const prev = this.leases.get(name);
    const spec = prev?.spec?.holderIdentity === this.o.identity
      ? renewedSpec(prev.spec, this.o.identity, now, this.durationS)
      : acquiredSpec(prev?.spec, this.o.identity, now, this.durationS);
    await this.write(name, 'replica', spec, prev).catch((err: unknown) => this.reportUnlessRace(err));
  }

  private async renew(shard: number): Promise<void> {
    const name = shardLeaseName(this.o.name, shard);
    const sentMs = Date.now();
    try {
      await this.write(name, 'shard', renewedSpec(this.leases.get(name)?.spec, this.o.identity, sentMs, this.durationS), this.leases.get(name));
    } catch (err) {
      this.reportUnlessRace(err);
      return;
    }
    const held = this.held.get(shard);
    if (held === undefined) return;
    held.lastRenewMs = sentMs;
    // Counted from before the request went out: nobody can take the Lease over before then + leaseDuration.
    this.callbacks.call(() => this.o.onRenewed(shard, sentMs + this.renewDeadlineMs));
  }

  private async acquire(shard: number): Promise<void> {
    const name = shardLeaseName(this.o.name, shard);
    const prev = this.leases.get(name);
    const sentMs = Date.now();
    try {
      await this.write(name, 'shard', acquiredSpec(prev?.spec, this.o.identity, sentMs, this.durationS), prev);
    } catch (err) {
      this.reportUnlessRace(err);
      return;
    }
    if (this.stopping) return;
    const abort = new AbortController();
    this.held.set(shard, { abort, lastRenewMs: sentMs });
    this.callbacks.call(() => this.o.onRenewed(shard, sentMs + this.renewDeadlineMs));
    this.callbacks.call(() => this.o.onGained(shard, abort.signal));
  }

  /** Leaves the Lease without a holder (and a 1 s duration), if this replica still holds it as last seen. */
  private async release(name: string): Promise<void> {
    const prev = this.leases.get(name);
    if (prev?.spec?.holderIdentity !== this.o.identity) return;
    await this.write(name, 'shard', releasedSpec(prev.spec, Date.now()), prev).catch((err: unknown) => this.reportUnlessRace(err));
  }

  // Create when none was listed, else replace the listed version (a 409 means another writer came first).
  private async write(name: string, role: 'shard' | 'replica', spec: V1Lease['spec'], prev: V1Lease | undefined): Promise<void> {
    const { namespace } = this.o;
    const options = timeoutOptions(this.renewDeadlineMs / 2);
    let written: V1Lease;
    if (prev === undefined) {
      const body = leaseBody(namespace, name, spec ?? {});
      body.metadata = { ...body.metadata, labels: { [LABEL_SHARD_GROUP]: this.group, [LABEL_LEASE_ROLE]: role } };
      written = await this.api.createNamespacedLease({ namespace, body }, options);
    } else {
      written = await this.api.replaceNamespacedLease({ namespace, name, body: leaseBody(namespace, name, spec ?? {}, prev) }, options);
    }
    this.leases.set(name, written);
  }

  // Renewals that failed for renewDeadline: the fence has closed by the clock; stop the shard's work too.
  private async dropStale(): Promise<void> {
    const now = Date.now();
    for (const [i, h] of [...this.held]) if (now - h.lastRenewMs >= this.renewDeadlineMs) await this.lose(i, 'unreachable');
  }

  private async lose(shard: number, reason: ShardLoss): Promise<void> {
    const held = this.held.get(shard);
    if (held === undefined) return;
    this.held.delete(shard);
    held.abort.abort();
    try {
      await this.o.onLost(shard, reason);
    } catch (err) {
      this.callbacks.report(err);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.sleepTimer = setTimeout(this.wake, clampDelayMs(ms));
    });
  }

  private reportUnlessRace(err: unknown): void {
    if (!isConflict(err) && !isAlreadyExists(err)) this.callbacks.report(err);
  }
}
