// The template hash members carry (label warmpool.dev/template-hash), to tell members of an older template apart.
import { createHash } from 'node:crypto';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';

const HASH_LENGTH = 10;

/** 10 hex digits of sha256 over the template's canonical JSON: key order does not matter, every field does. */
export function templateHash(template: V1PodTemplateSpec): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, HASH_LENGTH);
}

/** JSON with the keys of every object sorted, so equal templates serialize equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
