// The door every pool goes through before anything plans from it: validated (the CRD schema's checks, again: the
// installed CRD may be older, the object may not come from the API server), defaulted, and resolved into the
// numbers the planner works with. The verdict is either a valid pool or an invalid one with its message; either
// way the planner gets a ResolvedSpec whose numbers are safe (an invalid spec's garbage reads as zero).
// Claims go through the same door (resolveClaim), so the claim planner never applies a default itself.
import { isRecord } from './conform.js';
import { withClaimDefaults, withPoolDefaults, type ResolvedClaimSpec, type ResolvedPoolSpec } from './defaults.js';
import type { InstancePool, InstancePoolSpec, LifecycleClass, PoolClaim, PoolClaimSpec } from './types.js';
import { reservedLabelWarnings, revalidateClaim, revalidatePool, validateClaim, validatePool } from './validate.js';

/** The spec with defaults applied and the target clamped into its bounds. */
export interface ResolvedSpec {
  /** spec.targetSize clamped to [minSize, maxSize]. */
  target: number;
  minSize: number;
  /** The cost ceiling: caps every non-terminating member, claimed ones included. */
  maxSize: number;
  lifecycleClass: LifecycleClass;
  warmingTimeoutMs: number;
  /** 0 means ready members never go stale. */
  readyTtlMs: number;
  paused: boolean;
  drain: boolean;
  /** Keep the pool's PodDisruptionBudget over its claimed members (anything but an explicit false). */
  evictionProtection: boolean;
  /** reuse.cooldownSeconds: a returned member is cooling this long. */
  cooldownMs: number;
  /** reuse.requireReset: a returned member is resetting until its readiness went False and True again. */
  requireReset: boolean;
}

/** A non-negative count; anything else (a spec that failed validation) reads as 0, so no NaN reaches status. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : 0;
}

/** The API defaults (maxSize = targetSize + 10 among them), then targetSize clamped into [minSize, maxSize]. */
export function resolveSpec(spec: InstancePoolSpec): ResolvedSpec {
  const d = withPoolDefaults(spec);
  const minSize = count(d.minSize);
  const maxSize = count(d.maxSize);
  return {
    target: Math.min(Math.max(count(d.targetSize), minSize), maxSize),
    minSize,
    maxSize,
    lifecycleClass: d.lifecycleClass === 'spot' ? 'spot' : 'ephemeral',
    warmingTimeoutMs: count(d.warmingTimeoutSeconds) * 1000,
    readyTtlMs: count(d.readyTTLSeconds) * 1000,
    paused: d.paused === true,
    drain: d.drain === true,
    evictionProtection: d.evictionProtection !== false,
    cooldownMs: count(d.reuse.cooldownSeconds) * 1000,
    requireReset: d.reuse.requireReset === true,
  };
}

/**
 * A pool as the claim planner reads it: metadata and status as cached, the spec with every default applied (the
 * queue policy, the claim order, drain). The spec of a valid pool is the validated one; an invalid pool's is its
 * stored spec with the same defaults, which is how the claim planner read it before the door: its claims keep
 * binding the members it has, as they did.
 */
export type ResolvedPool = InstancePool & { spec: ResolvedPoolSpec };

/** A pool as it comes through the door. */
export type PoolVerdict =
  | {
      ok: true;
      /** Pruned and defaulted as the API server would store it. */
      pool: InstancePool;
      spec: ResolvedSpec;
      /** What the claim planner reads. */
      resolved: ResolvedPool;
      /** The operator's own keys in the template (an older CRD let them in); reported, never copied to members. */
      warnings: string[];
    }
  | {
      ok: false;
      /** As cached: there is no valid form of it. */
      pool: InstancePool;
      spec: ResolvedSpec;
      resolved: ResolvedPool;
      /** One "field: message" per error. */
      errors: string[];
      message: string;
    };

export function resolvePool(cached: InstancePool): PoolVerdict {
  const validation = validatePool(cached);
  if (validation.ok) {
    const { pool } = validation;
    return {
      ok: true,
      pool,
      spec: resolveSpec(pool.spec),
      resolved: { ...cached, spec: withPoolDefaults(pool.spec) },
      warnings: reservedLabelWarnings(pool),
    };
  }
  const errors = validation.errors.map((e) => `${e.field}: ${e.message}`);
  return {
    ok: false,
    pool: cached,
    spec: resolveSpec(cached.spec),
    resolved: { ...cached, spec: withPoolDefaults(cached.spec) },
    errors,
    message: errors.join('; '),
  };
}

/** A claim as the claim planner reads it: metadata and status as cached, the spec with every default applied. */
export type ResolvedClaim = PoolClaim & { spec: ResolvedClaimSpec };

/**
 * A claim as it comes through the door. Either way the planner gets a ResolvedClaim; an invalid one (stored before a
 * CRD upgrade, or not from the API server) is its stored spec with the same defaults, which is exactly how the
 * planner read it before the door, so it is planned as it always was. The verdict says why it is invalid.
 */
export type ClaimVerdict =
  | { ok: true; claim: ResolvedClaim }
  | {
      ok: false;
      claim: ResolvedClaim;
      /** One "field: message" per error. */
      errors: string[];
      message: string;
    };

export function resolveClaim(cached: PoolClaim): ClaimVerdict {
  const validation = validateClaim(cached);
  if (validation.ok) return { ok: true, claim: { ...cached, spec: withClaimDefaults(validation.claim.spec) } };
  const errors = validation.errors.map((e) => `${e.field}: ${e.message}`);
  // A spec that is not even an object was never plannable; it resolves to one that names no pool.
  const stored: unknown = cached.spec;
  const spec: PoolClaimSpec = isRecord(stored) ? cached.spec : { poolName: '' };
  return { ok: false, claim: { ...cached, spec: withClaimDefaults(spec) }, errors, message: errors.join('; ') };
}

/** Spec verdicts remembered across versions (by uid), at most: past this the oldest go (a deleted pool's, say). */
export const SPEC_VERDICTS_MAX = 10_000;

/**
 * A door that remembers its verdict per cached object, and its verdict on the spec per uid and generation. The claim
 * controller resolves its pool and every claim of it on each pass, and validation is not free (measured here: ~40 us
 * a claim, ~0.5 ms a pool with a small template, and a fifth of what the operator allocated per claim at 10,000
 * members, make bench-scale). Cached objects are never changed in place (an update replaces them), so each version is
 * validated once; and a status write makes a new version with the same spec, which the API server tells by
 * metadata.generation (it moves with every change of spec, and only then): such a version has only its metadata and
 * status checked again (`again`), and keeps the spec the verdict already has. An object without a uid and a
 * generation (not from the API server) is validated whole.
 */
function remembered<T extends { metadata?: { uid?: string; generation?: number } }, V>(
  resolve: (cached: T) => V,
  again: (cached: T, prior: V) => V | undefined,
  max: number,
): (cached: T) => V {
  const verdicts = new WeakMap<T, V>();
  const bySpec = new Map<string, { generation: number; verdict: V }>();
  return (cached) => {
    let verdict = verdicts.get(cached);
    if (verdict !== undefined) return verdict;
    const uid = cached.metadata?.uid;
    const generation = cached.metadata?.generation;
    const keyed = typeof uid === 'string' && uid !== '' && typeof generation === 'number';
    const prior = keyed ? bySpec.get(uid) : undefined;
    verdict = (prior !== undefined && prior.generation === generation ? again(cached, prior.verdict) : undefined) ?? resolve(cached);
    verdicts.set(cached, verdict);
    if (keyed) {
      bySpec.delete(uid); // re-inserted last: the oldest entry is the least recently seen
      bySpec.set(uid, { generation, verdict });
      if (bySpec.size > max) bySpec.delete(bySpec.keys().next().value as string);
    }
    return verdict;
  };
}

/** A later version of the claim `prior` resolved, with the same spec: the stored object around the resolved spec. */
function claimAgain(cached: PoolClaim, prior: ClaimVerdict): ClaimVerdict | undefined {
  if (!prior.ok) return undefined;
  return revalidateClaim(cached) ? { ok: true, claim: { ...cached, spec: prior.claim.spec } } : undefined;
}

/** A later version of the pool `prior` resolved, with the same spec: metadata and status checked, the spec kept. */
function poolAgain(cached: InstancePool, prior: PoolVerdict): PoolVerdict | undefined {
  if (!prior.ok) return undefined;
  const validation = revalidatePool(cached, prior.pool);
  if (!validation.ok) return undefined;
  return { ...prior, pool: validation.pool, resolved: { ...cached, spec: prior.resolved.spec } };
}

/** resolveClaim, remembered per cached object and per spec. */
export function claimResolver(max = SPEC_VERDICTS_MAX): (cached: PoolClaim) => ClaimVerdict {
  return remembered(resolveClaim, claimAgain, max);
}

/** A pool door: resolvePool remembered (poolResolver). */
export type PoolDoor = (cached: InstancePool) => PoolVerdict;

/** resolvePool, remembered per cached object and per spec. */
export function poolResolver(max = SPEC_VERDICTS_MAX): PoolDoor {
  return remembered(resolvePool, poolAgain, max);
}

/**
 * What the CRD cannot check, since it cannot see the pool: a claim's memberMetadata may not set a key the pool's
 * template sets (the member would lose the template's value, and a Return would strip it). One "field: message" per
 * key; a claim with any is not bound (the claim planner fails it, reason InvalidSpec).
 */
export function memberMetadataConflicts(claim: ResolvedClaim, pool: ResolvedPool): string[] {
  const wanted = claim.spec.memberMetadata;
  if (wanted === undefined) return [];
  const template = pool.spec.template.metadata;
  return (['labels', 'annotations'] as const).flatMap((field) => {
    const own = wanted[field];
    const theirs = template?.[field];
    if (!isRecord(own) || !isRecord(theirs)) return [];
    return Object.keys(own)
      .filter((key) => Object.hasOwn(theirs, key))
      .map((key) => `spec.memberMetadata.${field}: ${key}: set by the template of pool ${pool.metadata.name ?? ''}`);
  });
}
