// What a PoolClaim, as the watch shows it, means to a caller waiting for a member. Pure: the claim shell feeds every
// watch event through here and acts on the answer, and the table test covers every phase the operator writes.
import type { ClaimMember, Condition, PoolClaim } from '../operator/api/types.js';

export type ClaimView =
  /** Still waiting: reason is what the operator last reported (Queued, PoolNotFound), unset before it wrote any. */
  | { kind: 'waiting'; reason: string | undefined; message: string | undefined; queuePosition: number | undefined }
  | { kind: 'bound'; member: ClaimMember }
  /** The claim will never (again) hold a member: reason as the operator reported it, or ClaimDeleted. */
  | { kind: 'ended'; reason: string; message: string };

function condition(claim: PoolClaim, type: string): Condition | undefined {
  return claim.status?.conditions?.find((c) => c.type === type);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function ended(claim: PoolClaim, fallbackReason: string, what: string): ClaimView {
  const bound = condition(claim, 'Bound');
  const reason = nonEmpty(bound?.reason) ?? fallbackReason;
  const message = nonEmpty(bound?.message) ?? `PoolClaim ${claim.metadata.name ?? ''} ${what}`;
  return { kind: 'ended', reason, message };
}

export function viewClaim(claim: PoolClaim): ClaimView {
  const name = claim.metadata.name ?? '';
  switch (claim.status?.phase) {
    case 'Bound': {
      const member = claim.status.member;
      // Bound with no member is not a state the operator writes; wait for the next event rather than guess.
      if (member !== undefined && member.name !== '') return { kind: 'bound', member };
      break;
    }
    case 'Failed':
      return ended(claim, 'Failed', 'failed');
    case 'Lost':
      // Lost's Bound condition says MemberLost; the phase alone is enough to know the member is gone.
      return { kind: 'ended', reason: 'MemberLost', message: nonEmpty(condition(claim, 'Bound')?.message) ?? `the member of PoolClaim ${name} was lost` };
    case 'Released':
      return ended(claim, 'Released', 'was released');
    default:
      break;
  }
  if (claim.metadata.deletionTimestamp !== undefined && claim.metadata.deletionTimestamp !== null) {
    return { kind: 'ended', reason: 'ClaimDeleted', message: `PoolClaim ${name} is being deleted` };
  }
  const bound = condition(claim, 'Bound');
  return {
    kind: 'waiting',
    reason: nonEmpty(bound?.reason),
    message: nonEmpty(bound?.message),
    queuePosition: claim.status?.queuePosition,
  };
}
