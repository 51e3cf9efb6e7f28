// The template hash members carry (label warmpool.dev/template-hash), to tell members of an older template apart.
import { createHash } from 'node:crypto';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';

const HASH_LENGTH = 10;

// By template object: a pool's template is hashed on every pass of both controllers, and the informer gives a new
// object when the pool changes (cached objects are never mutated).
const hashes = new WeakMap<V1PodTemplateSpec, string>();

/** 10 hex digits of sha256 over the template's canonical JSON: key order does not matter, every field does. */
export function templateHash(template: V1PodTemplateSpec): string {
  let hash = hashes.get(template);
  if (hash === undefined) {
    hash = createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, HASH_LENGTH);
    hashes.set(template, hash);
  }
  return hash;
}

/** JSON with the keys of every object sorted, so equal templates serialize equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
