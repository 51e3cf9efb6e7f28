// warmpool's client: claim a member of an InstancePool in one awaited call.
//   import { claim } from 'warmpool/client';
//   await using runner = await claim('ci-runners', { timeoutMs: 60_000, acquiredBy: 'ci' });
//   await fetch(`http://${runner.podIP}:8080/`, { signal: runner.signal });
export { claim, claimMany, claimManifest, releaseClaim, CLAIM_MANY_MAX } from './claim.js';
export type { ClaimOptions, ClaimedMember, ClaimedMembers } from './claim.js';
export {
  WarmpoolError,
  ClaimFailedError,
  NoReadyMembersError,
  QueueFullError,
  PoolNotFoundError,
  PoolDrainingError,
  MemberLostError,
  ClaimTimeoutError,
  ClaimAbortedError,
  errorForReason,
} from './errors.js';
export type { OperatorReason } from './errors.js';
export { viewClaim } from './view.js';
export type { ClaimView } from './view.js';
export type { KubeOptions } from './kube.js';
export type { PoolClaim, InstancePool, ClaimMember, ReclaimPolicy } from '../operator/api/types.js';
