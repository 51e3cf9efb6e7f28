// The door every pool goes through before anything plans from it: validated (the CRD schema's checks, again: the
// installed CRD may be older, the object may not come from the API server), defaulted, and resolved into the
// numbers the planner works with. The verdict is either a valid pool or an invalid one with its message; either
// way the planner gets a ResolvedSpec whose numbers are safe (an invalid spec's garbage reads as zero).
import { withPoolDefaults } from './defaults.js';
import type { InstancePool, InstancePoolSpec, LifecycleClass } from './types.js';
import { reservedLabelWarnings, validatePool } from './validate.js';

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
  };
}

/** A pool as it comes through the door. */
export type PoolVerdict =
  | {
      ok: true;
      /** Pruned and defaulted as the API server would store it. */
      pool: InstancePool;
      spec: ResolvedSpec;
      /** The operator's own keys in the template (an older CRD let them in); reported, never copied to members. */
      warnings: string[];
    }
  | {
      ok: false;
      /** As cached: there is no valid form of it. */
      pool: InstancePool;
      spec: ResolvedSpec;
      /** One "field: message" per error. */
      errors: string[];
      message: string;
    };

export function resolvePool(cached: InstancePool): PoolVerdict {
  const validation = validatePool(cached);
  if (validation.ok) {
    return { ok: true, pool: validation.pool, spec: resolveSpec(validation.pool.spec), warnings: reservedLabelWarnings(validation.pool) };
  }
  const errors = validation.errors.map((e) => `${e.field}: ${e.message}`);
  return { ok: false, pool: cached, spec: resolveSpec(cached.spec), errors, message: errors.join('; ') };
}
