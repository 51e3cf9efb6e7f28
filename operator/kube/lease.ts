// The pure half of Lease leader election: what to do given the lease as last read, and the specs to write.
//
// Expiry is judged as client-go judges it: by how long *this process* has seen the same lease version unchanged,
// not by comparing the holder's renewTime with the local clock, so clock skew between replicas cannot make a
// candidate take over a lease its holder is still renewing.
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';

export type LeaseDecision =
  /** No lease exists: create it. */
  | { action: 'create' }
  /** We hold it: renew. */
  | { action: 'renew' }
  /** Nobody holds it (released) or its holder stopped renewing (expired): take it over. */
  | { action: 'takeover'; reason: 'released' | 'expired' }
  /** Somebody else holds it: try again later. */
  | { action: 'wait'; holder: string; expiresAtMs: number };

/**
 * @param observed the lease as last read (undefined when it does not exist)
 * @param now local time in ms
 * @param durationSeconds our lease duration, used when the lease does not state its own
 * @param observedAtMs local time when this process first saw the observed version of the lease
 */
export function decideLease(
  observed: V1Lease | undefined,
  identity: string,
  now: number,
  durationSeconds: number,
  observedAtMs: number,
): LeaseDecision {
  if (observed === undefined) return { action: 'create' };
  const holder = observed.spec?.holderIdentity ?? '';
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'takeover', reason: 'released' };
  const duration = observed.spec?.leaseDurationSeconds ?? durationSeconds;
  const expiresAtMs = observedAtMs + duration * 1000;
  if (now >= expiresAtMs) return { action: 'takeover', reason: 'expired' };
  return { action: 'wait', holder, expiresAtMs };
}

/**
 * A MicroTime for the API. Leases' acquireTime and renewTime must carry 6 fractional digits: a plain Date
 * serializes with 3 and the apiserver answers 400. Values read back from the API arrive as strings, so this
 * accepts those too.
 */
export function microTime(value: unknown): V1MicroTime | undefined {
  if (!(value instanceof Date) && typeof value !== 'string' && typeof value !== 'number') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new V1MicroTime(ms);
}

// The API wants whole seconds (> 0).
function wholeSeconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

/** The spec after identity acquires the lease (created, or taken over from prev). */
export function acquiredSpec(
  prev: V1LeaseSpec | undefined,
  identity: string,
  now: number,
  durationSeconds: number,
): V1LeaseSpec {
  return {
    ...prev,
    holderIdentity: identity,
    leaseDurationSeconds: wholeSeconds(durationSeconds),
    acquireTime: new V1MicroTime(now),
    renewTime: new V1MicroTime(now),
    leaseTransitions: prev === undefined ? 0 : (prev.leaseTransitions ?? 0) + 1,
  };
}

/** The spec after the holder renews. */
export function renewedSpec(prev: V1LeaseSpec | undefined, identity: string, now: number, durationSeconds: number): V1LeaseSpec {
  return {
    ...prev,
    holderIdentity: identity,
    leaseDurationSeconds: wholeSeconds(durationSeconds),
    acquireTime: microTime(prev?.acquireTime) ?? new V1MicroTime(now),
    renewTime: new V1MicroTime(now),
    leaseTransitions: prev?.leaseTransitions ?? 0,
  };
}

/** The spec a holder leaves behind on a graceful stop: no holder and a 1 s duration, so a peer takes over at once. */
export function releasedSpec(prev: V1LeaseSpec | undefined, now: number): V1LeaseSpec {
  return {
    ...prev,
    holderIdentity: undefined,
    leaseDurationSeconds: 1,
    acquireTime: new V1MicroTime(now),
    renewTime: new V1MicroTime(now),
    leaseTransitions: prev?.leaseTransitions ?? 0,
  };
}

/** A Lease object to create, or to replace `observed` with (its metadata, and so its resourceVersion, carried). */
export function leaseBody(namespace: string, name: string, spec: V1LeaseSpec, observed?: V1Lease): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: observed?.metadata !== undefined ? { ...observed.metadata } : { name, namespace },
    spec,
  };
}
