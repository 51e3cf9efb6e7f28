// Active-active shards, the pure half: which shard an object key belongs to, the Lease names, and which shards a
// replica takes or gives back given the Leases it saw. The shell (shard-elector.ts) reads and writes the Leases.
//
// Every replica computes the same fair share, ceil(shards / live replicas), from what it sees; it takes free shards
// until it holds that many and releases what it holds beyond it, so the others can take those. Live replicas are
// the holders of unexpired Leases: each replica's heartbeat Lease (so a replica that holds nothing yet still counts)
// and the shard Leases' holders.
import { createHash } from 'node:crypto';

/** Most shards: each is a Lease renewed every retry period by its holder; far above any useful count. */
export const MAX_SHARDS = 256;

/** The label every Lease of one shard group carries (shard and heartbeat Leases), so one list reads them all. */
export const LABEL_SHARD_GROUP = 'warmpool.dev/shard-group';
/** 'shard' or 'replica' (the heartbeat). */
export const LABEL_LEASE_ROLE = 'warmpool.dev/lease-role';

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The shard of an object key ("namespace/name"): a stable hash, the same in every replica and every release. */
export function shardOf(key: string, shards: number): number {
  if (shards <= 1) return 0;
  return sha256(key).readUInt32BE(0) % shards;
}

/** Name of shard i's Lease: the leader election Lease's name with the shard index. */
export function shardLeaseName(base: string, shard: number): string {
  return `${base}-shard-${shard}`;
}

/**
 * Most heartbeat slots: replicas live at once. Heartbeat Leases are slots a replica reuses once their holder has
 * expired, so rollouts (new pod names) do not pile up Leases.
 */
export const MAX_REPLICA_SLOTS = 1024;

/** Name of heartbeat slot i's Lease. */
export function replicaLeaseName(base: string, slot: number): string {
  return `${base}-replica-${slot}`;
}

/** The slot of a heartbeat Lease name, or undefined for any other name. */
export function slotOfLeaseName(base: string, name: string): number | undefined {
  return indexAfter(`${base}-replica-`, name, MAX_REPLICA_SLOTS);
}

function indexAfter(prefix: string, name: string, limit: number): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,3})$/.test(rest)) return undefined;
  const i = Number(rest);
  return i < limit ? i : undefined;
}

/** A heartbeat slot as last seen: its holder, and whether that holder is live (not expired, not released). */
export interface SlotSeen {
  slot: number;
  holder: string;
  live: boolean;
}

/**
 * The heartbeat slot to renew or take: the one we hold; else the lowest whose holder expired or left; else the
 * lowest never used. Undefined when all MAX_REPLICA_SLOTS are live.
 */
export function heartbeatSlot(self: string, seen: readonly SlotSeen[]): number | undefined {
  const bySlot = [...seen].sort((a, b) => a.slot - b.slot);
  const mine = bySlot.find((s) => s.holder === self);
  if (mine !== undefined) return mine.slot;
  const free = bySlot.find((s) => !s.live);
  if (free !== undefined) return free.slot;
  const used = new Set(seen.map((s) => s.slot));
  for (let i = 0; i < MAX_REPLICA_SLOTS; i++) if (!used.has(i)) return i;
  return undefined;
}

/** The shard index of a shard Lease name, or undefined for any other name (or an index out of range). */
export function shardOfLeaseName(base: string, name: string, shards: number): number | undefined {
  return indexAfter(`${base}-shard-`, name, shards);
}

/** The shard group label's value: the base name when it is a valid label value, else a hash of it. */
export function shardGroupLabel(base: string): string {
  return base.length <= 63 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(base) ? base : sha256(base).toString('hex').slice(0, 40);
}

/** Refuses a base name that leaves no room for the suffixes, or a shard count out of range; errors name the flag. */
export function validateSharding(base: string, shards: number): void {
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new Error(`--shards: want a whole number from 1 to ${MAX_SHARDS}, got ${shards}`);
  }
  // The longest derived name: the highest heartbeat slot's or the highest shard's.
  const longest = Math.max(replicaLeaseName(base, MAX_REPLICA_SLOTS - 1).length, shardLeaseName(base, shards - 1).length);
  if (shards > 1 && longest > 253) {
    const room = 253 - (longest - base.length);
    throw new Error(`--leader-election-id: with --shards the derived Lease names need it at most ${room} characters long, got ${base.length}`);
  }
}

/** One shard as a replica last saw its Lease. */
export interface ShardSeen {
  shard: number;
  /** 'self': we hold it; 'other': a live holder other than us; 'free': no Lease, released, or expired. */
  state: 'self' | 'other' | 'free';
  holder?: string;
}

export interface ShardView {
  shards: number;
  self: string;
  /** Identities whose heartbeat Lease is unexpired, besides self (order does not matter). */
  peers: readonly string[];
  seen: readonly ShardSeen[];
  /** False in a replica's first round: replicas started together see each other's heartbeats before taking. */
  settled: boolean;
}

export interface ShardPlan {
  /** ceil(shards / live replicas). */
  share: number;
  live: number;
  /** Free shards to try to take, best first (at most share - held). */
  acquire: number[];
  /** Shards we hold beyond our share, to give back. */
  release: number[];
}

/**
 * Each replica prefers the shards from a point on the ring derived from its identity, so replicas starting together
 * try different shards first instead of racing for shard 0; it gives back the shards last in that order.
 */
export function preferenceOrder(self: string, shards: number): number[] {
  const start = shards <= 1 ? 0 : sha256(self).readUInt32BE(0) % shards;
  return Array.from({ length: shards }, (_, i) => (start + i) % shards);
}

export function planShards(view: ShardView): ShardPlan {
  const live = new Set([view.self, ...view.peers]);
  for (const s of view.seen) if (s.state === 'other' && s.holder !== undefined && s.holder !== '') live.add(s.holder);
  const share = Math.ceil(view.shards / live.size);
  const state = new Map(view.seen.map((s) => [s.shard, s.state]));
  const order = preferenceOrder(view.self, view.shards);
  const held = order.filter((i) => state.get(i) === 'self');
  if (held.length > share) return { share, live: live.size, acquire: [], release: held.slice(share).reverse() };
  if (!view.settled) return { share, live: live.size, acquire: [], release: [] };
  // A shard not seen at all has no Lease yet: free.
  const free = order.filter((i) => (state.get(i) ?? 'free') === 'free');
  return { share, live: live.size, acquire: free.slice(0, share - held.length), release: [] };
}
