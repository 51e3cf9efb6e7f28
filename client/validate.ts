// Every option is checked before a request is built: a bad value fails here with the field's name, not as a 422 from
// the API server (or worse, as a claim the operator can never bind).
import type { ClaimOptions } from './claim.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const INT32_MAX = 2 ** 31 - 1;
/** acquiredBy/acquiredFor are stamped on the member as annotations: keep them to a readable size. */
export const STAMP_MAX = 1024;

function int(field: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${field}: must be an integer from ${min} to ${max}, got ${String(v)}`);
}

function stamp(field: string, v: string | undefined): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || v.length > STAMP_MAX) throw new RangeError(`${field}: must be a string of at most ${STAMP_MAX} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new RangeError(`${field}: must not contain control characters`);
}

export function validateClaimRequest(pool: string, namespace: string, opts: ClaimOptions): void {
  if (typeof pool !== 'string' || pool.length === 0 || pool.length > 63 || !DNS1123_SUBDOMAIN.test(pool)) {
    throw new RangeError(`pool: must be an InstancePool name (a DNS-1123 subdomain of at most 63 characters), got ${JSON.stringify(pool)}`);
  }
  if (typeof namespace !== 'string' || namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    throw new RangeError(`namespace: must be a DNS-1123 label, got ${JSON.stringify(namespace)}`);
  }
  if (opts.timeoutMs !== undefined && (typeof opts.timeoutMs !== 'number' || Number.isNaN(opts.timeoutMs) || opts.timeoutMs <= 0)) {
    throw new RangeError(`timeoutMs: must be a positive number of milliseconds, got ${String(opts.timeoutMs)}`);
  }
  int('priority', opts.priority, -INT32_MAX - 1, INT32_MAX);
  int('waitTimeoutSeconds', opts.waitTimeoutSeconds, 0, INT32_MAX);
  int('ttlSecondsAfterBound', opts.ttlSecondsAfterBound, 0, INT32_MAX);
  stamp('acquiredBy', opts.acquiredBy);
  stamp('acquiredFor', opts.acquiredFor);
  if (opts.reclaimPolicy !== undefined && opts.reclaimPolicy !== 'Delete' && opts.reclaimPolicy !== 'Return') {
    throw new RangeError(`reclaimPolicy: must be Delete or Return, got ${JSON.stringify(opts.reclaimPolicy)}`);
  }
  if (opts.generateName !== undefined) {
    const g = opts.generateName;
    // The API server appends 5 characters; the result names the member's warmpool.dev/claim label (63 at most).
    if (typeof g !== 'string' || g.length === 0 || g.length > 58 || !DNS1123_LABEL.test(g.replace(/-$/, 'x'))) {
      throw new RangeError(`generateName: must be a lowercase DNS-1123 prefix of at most 58 characters, got ${JSON.stringify(g)}`);
    }
  }
}
