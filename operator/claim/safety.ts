// Member safety on the claim path (issue 20): what a bind and a return add to the member patch the planner already
// sends, so none of it costs a write of its own. Pure.
//   - fencing token: every bind raises the member's warmpool.dev/lease-token by one and the claim's
//     status.member.token says which one it holds, so a workload can refuse a holder whose token is lower.
//   - eviction protection: a bound member is marked safe-to-evict "false" for the cluster autoscaler (the pool's
//     PodDisruptionBudget does the rest, see pool/pdb.ts); the return gives the mark back as the template had it.
//   - reuse: a return counts itself on the member (warmpool.dev/reuse-count), stamps when it happened
//     (warmpool.dev/returned-at) and, with a cooldown or a reset to wait for, labels the member cooling or resetting
//     instead of ready (the pool labels it ready once it may be handed out, see pool/plan.ts releaseRested); past
//     maxReuses the member is deleted instead.
import type { ClaimMember, InstancePool } from '../api/types.js';
import { ANN_LEASE_TOKEN, ANN_RETURNED_AT, ANN_REUSE_COUNT, ANN_SAFE_TO_EVICT, LABEL_STATE } from '../api/types.js';
import type { ResolvedReuse } from '../api/defaults.js';
import type { MemberView } from '../member/members.js';
import type { PodMergePatch } from './model.js';

/** The token the next bind of this member carries: one above the last bind's, whoever made it. */
export function nextLeaseToken(member: Pick<MemberView, 'leaseToken'>): number {
  return member.leaseToken + 1;
}

/** status.member with the token the member records (none before its first bind). */
export function withToken(member: ClaimMember, token: number): ClaimMember {
  return token > 0 ? { ...member, token } : member;
}

/** The patch with these labels and annotations set too (null removes one). */
export function withMetadata(
  patch: PodMergePatch,
  annotations: Record<string, string | null>,
  labels: Record<string, string | null> = {},
): PodMergePatch {
  return {
    metadata: {
      ...patch.metadata,
      labels: { ...patch.metadata.labels, ...labels },
      annotations: { ...patch.metadata.annotations, ...annotations },
    },
  };
}

/** The bind patch with the member's next fencing token and, when the pool protects claimed members, the veto. */
export function bindSafetyPatch(
  patch: PodMergePatch,
  member: Pick<MemberView, 'leaseToken'>,
  evictionProtection: boolean,
): PodMergePatch {
  const annotations: Record<string, string> = { [ANN_LEASE_TOKEN]: String(nextLeaseToken(member)) };
  if (evictionProtection) annotations[ANN_SAFE_TO_EVICT] = 'false';
  return withMetadata(patch, annotations);
}

/**
 * The return patch without the bind's veto: the annotation goes back to what the template says (a template may set
 * it for its own reasons), else away. Also when the pool stopped protecting since the bind.
 */
export function returnSafetyPatch(patch: PodMergePatch, pool: Pick<InstancePool, 'spec'>): PodMergePatch {
  const templated = pool.spec.template.metadata?.annotations?.[ANN_SAFE_TO_EVICT];
  return withMetadata(patch, { [ANN_SAFE_TO_EVICT]: templated ?? null });
}

/** This return would be the member's (maxReuses + 1)th: it is deleted instead. */
export function reusedUp(member: Pick<MemberView, 'reuses'>, reuse: Pick<ResolvedReuse, 'maxReuses'>): boolean {
  return reuse.maxReuses !== undefined && member.reuses + 1 > reuse.maxReuses;
}

/** The state a returned member comes back in: resetting before cooling before ready. */
export function returnedState(reuse: Pick<ResolvedReuse, 'cooldownSeconds' | 'requireReset'>): 'ready' | 'cooling' | 'resetting' {
  if (reuse.requireReset) return 'resetting';
  return reuse.cooldownSeconds > 0 ? 'cooling' : 'ready';
}

/** The return patch with the member's reuse count raised, the time of the return, and the state it rests in. */
export function returnReusePatch(
  patch: PodMergePatch,
  member: Pick<MemberView, 'reuses'>,
  reuse: Pick<ResolvedReuse, 'cooldownSeconds' | 'requireReset'>,
  now: number,
): PodMergePatch {
  return withMetadata(
    patch,
    { [ANN_REUSE_COUNT]: String(member.reuses + 1), [ANN_RETURNED_AT]: new Date(now).toISOString() },
    { [LABEL_STATE]: returnedState(reuse) },
  );
}
