// Typed errors of the client: one class per reason the operator reports on a PoolClaim (condition Bound=False, or
// the Lost phase), plus the two ways the caller gives up (timeout, abort). Every error names the claim, so a log line
// leads to `kubectl describe pclaim`.
import type { PoolClaim } from '../operator/api/types.js';

/** Reasons the operator sets when it fails a claim (operator/claim/model.ts FailReason), and Lost's MemberLost. */
export type OperatorReason = 'NoReadyMembers' | 'QueueFull' | 'PoolNotFound' | 'PoolDraining' | 'MemberLost';

/** Base class: `reason` is machine-readable (CamelCase, as in the claim's conditions). */
export class WarmpoolError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.name = 'WarmpoolError';
  }
}

/**
 * The operator failed the claim, or the claim ended without a member for a reason this client has no class for
 * (`reason` carries it as the operator wrote it, `claim` the last state seen).
 */
export class ClaimFailedError extends WarmpoolError {
  // Names are spelled out: a bundler may rename classes, and error.name is what logs and callers see.
  override name = 'ClaimFailedError';
  readonly claimName: string;
  readonly namespace: string;
  readonly claim: PoolClaim | undefined;
  constructor(reason: string, message: string, claim: PoolClaim | undefined, options?: { cause?: unknown }) {
    super(reason, message, options);
    this.claim = claim;
    this.claimName = claim?.metadata.name ?? '';
    this.namespace = claim?.metadata.namespace ?? '';
  }
}

/** waitTimeoutSeconds ran out with no ready member. */
export class NoReadyMembersError extends ClaimFailedError {
  override name = 'NoReadyMembersError';
}
/** The pool's claimQueue.maxPending was exceeded and this claim was the one rejected. */
export class QueueFullError extends ClaimFailedError {
  override name = 'QueueFullError';
}
/** No InstancePool of that name in the namespace (reported once waitTimeoutSeconds runs out). */
export class PoolNotFoundError extends ClaimFailedError {
  override name = 'PoolNotFoundError';
}
/** The pool is draining or being deleted. */
export class PoolDrainingError extends ClaimFailedError {
  override name = 'PoolDrainingError';
}
/** The bound member failed or disappeared: the claim is Lost and will never be re-bound. */
export class MemberLostError extends ClaimFailedError {
  override name = 'MemberLostError';
}

/** The caller's timeoutMs ran out before the claim was Bound (name TimeoutError, as AbortSignal.timeout's). */
export class ClaimTimeoutError extends WarmpoolError {
  readonly claimName: string;
  /** The last reason the operator reported while the claim waited (Queued, PoolNotFound), when it wrote one. */
  readonly lastReason: string | undefined;
  constructor(message: string, claimName: string, lastReason: string | undefined) {
    super('Timeout', message);
    this.name = 'TimeoutError';
    this.claimName = claimName;
    this.lastReason = lastReason;
  }
}

/** The caller's signal aborted the wait. name is 'AbortError', as fetch and timers/promises reject. */
export class ClaimAbortedError extends WarmpoolError {
  readonly claimName: string;
  constructor(message: string, claimName: string, cause: unknown) {
    super('Aborted', message, { cause });
    this.name = 'AbortError';
    this.claimName = claimName;
  }
}

const BY_REASON: Readonly<Record<OperatorReason, typeof ClaimFailedError>> = {
  NoReadyMembers: NoReadyMembersError,
  QueueFull: QueueFullError,
  PoolNotFound: PoolNotFoundError,
  PoolDraining: PoolDrainingError,
  MemberLost: MemberLostError,
};

/** The typed error for a reason the operator reported; ClaimFailedError for any other. */
export function errorForReason(reason: string, message: string, claim: PoolClaim | undefined): ClaimFailedError {
  const Known = Object.hasOwn(BY_REASON, reason) ? BY_REASON[reason as OperatorReason] : ClaimFailedError;
  return new Known(reason, message, claim);
}
