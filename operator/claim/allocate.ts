// Which ready member each claim gets. The claims come in queue order and are served together, each member at most
// once, so a burst of claims is paired in one step without racing itself. Pure and deterministic: every tie is
// broken by member name.
import type { ClaimOrder, PoolClaim } from '../api/types.js';
import type { MemberView } from '../member/members.js';

export interface Pair<C extends PoolClaim = PoolClaim> {
  claim: C;
  member: MemberView;
}

/**
 * A member may be handed out: labelled ready by the pool, Ready right now (readiness is re-checked at pick time, the
 * label lags), not being deleted, healthy, and carrying no mark of a claim. Its template hash does not matter: a
 * ready member of an older template serves a claim as well as a new one, and the pool replaces drifted members itself.
 */
export function isClaimable(member: MemberView): boolean {
  // phase 'ready' already means Ready, healthy, no deletionTimestamp and no claim label or claimed state.
  return member.phase === 'ready' && member.stateLabel === 'ready' && member.claimUid === undefined;
}

/**
 * How many members a claim needs: spec.count (issue 21), 1 when unset or not a positive whole number (a stored claim
 * the schema would refuse). The planner fails a count beyond the pool's maxSize before allocation.
 */
export function needed(claim: PoolClaim): number {
  const count = claim.spec.count;
  return typeof count === 'number' && Number.isInteger(count) && count >= 1 ? count : 1;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest ready first; a member without a ready time comes last. */
function oldestReady(a: MemberView, b: MemberView): number {
  const ta = a.readyAt ?? Number.POSITIVE_INFINITY;
  const tb = b.readyAt ?? Number.POSITIVE_INFINITY;
  return ta !== tb ? (ta < tb ? -1 : 1) : compareNames(a.name, b.name);
}

/** Newest ready first; a member without a ready time comes last. */
function newestReady(a: MemberView, b: MemberView): number {
  const ta = a.readyAt ?? Number.NEGATIVE_INFINITY;
  const tb = b.readyAt ?? Number.NEGATIVE_INFINITY;
  return ta !== tb ? (ta > tb ? -1 : 1) : compareNames(a.name, b.name);
}

/**
 * PackNodes and SpreadNodes: each claim takes the oldest ready member of the node with the most (Pack) or the fewest
 * (Spread) claimed members of this pool, counting the pairs made so far in this pass; ties go to the node whose
 * oldest ready member is oldest.
 */
function byNode<C extends PoolClaim>(
  claims: readonly C[],
  candidates: readonly MemberView[],
  claimed: readonly MemberView[],
  pack: boolean,
): Pair<C>[] {
  const queues = new Map<string, MemberView[]>();
  for (const member of [...candidates].sort(oldestReady)) {
    const node = member.nodeName ?? '';
    const queue = queues.get(node);
    if (queue) queue.push(member);
    else queues.set(node, [member]);
  }
  const counts = new Map<string, number>();
  for (const member of claimed) counts.set(member.nodeName ?? '', (counts.get(member.nodeName ?? '') ?? 0) + 1);
  const next = new Map<string, number>();

  const pairs: Pair<C>[] = [];
  const supply = candidates.length;
  for (const claim of claims) {
    // All or nothing, in queue order: a claim the supply cannot fill holds up the claims behind it.
    if (pairs.length + needed(claim) > supply) break;
    for (let k = 0; k < needed(claim); k++) pick(claim);
  }
  return pairs;

  function pick(claim: C): void {
    let best: { node: string; head: MemberView; count: number } | undefined;
    for (const [node, queue] of queues) {
      const head = queue[next.get(node) ?? 0];
      if (head === undefined) continue;
      const count = counts.get(node) ?? 0;
      const better =
        best === undefined ||
        (count !== best.count ? (pack ? count > best.count : count < best.count) : oldestReady(head, best.head) < 0);
      if (better) best = { node, head, count };
    }
    if (best === undefined) return;
    pairs.push({ claim, member: best.head });
    next.set(best.node, (next.get(best.node) ?? 0) + 1);
    counts.set(best.node, best.count + 1);
  }
}

/**
 * Pairs claims (in queue order) with claimable members by the pool's claimOrder. `members` are all of the pool's
 * members (the claimed ones inform PackNodes and SpreadNodes); `excluded` holds uids never to hand out, such as
 * members a Bound claim names while the cache does not show them claimed yet. Claims beyond the supply stay unpaired.
 */
export function allocate<C extends PoolClaim>(
  claims: readonly C[],
  members: readonly MemberView[],
  order: ClaimOrder,
  excluded: ReadonlySet<string>,
): Pair<C>[] {
  const candidates = members.filter((m) => isClaimable(m) && !excluded.has(m.uid));
  if (order === 'PackNodes' || order === 'SpreadNodes') {
    const claimed = members.filter((m) => m.phase === 'claimed');
    return byNode(claims, candidates, claimed, order === 'PackNodes');
  }
  const sorted = candidates.sort(order === 'NewestReady' ? newestReady : oldestReady);
  const pairs: Pair<C>[] = [];
  for (const claim of claims) {
    // All or nothing, in queue order: a claim of n takes n members or none, and holds up the claims behind it.
    const n = needed(claim);
    if (pairs.length + n > sorted.length) break;
    for (const member of sorted.slice(pairs.length, pairs.length + n)) pairs.push({ claim, member });
  }
  return pairs;
}

/**
 * A warming member a claim with acceptWarming may take: not Ready yet, healthy, not being deleted, marked with no
 * claim, and placed or at least placeable (an unschedulable member is not getting closer to Ready).
 */
export function isWarmingClaimable(member: MemberView): boolean {
  // A member Ready already but still labelled warming (the pool has not marked it yet) is closest of all.
  const unmarked = member.phase === 'ready' && member.stateLabel === 'warming';
  return (member.phase === 'warming' || unmarked) && member.claimUid === undefined && !member.unschedulable;
}

/**
 * Closest to Ready first: Ready already (not marked by the pool yet), then placed on a node before not yet placed,
 * then the one warming longest, then by name.
 */
function closestToReady(a: MemberView, b: MemberView): number {
  const ready = Number(b.ready) - Number(a.ready);
  if (ready !== 0) return ready;
  const placed = Number(b.nodeName !== undefined) - Number(a.nodeName !== undefined);
  if (placed !== 0) return placed;
  const ta = a.warmingStartedAt ?? Number.POSITIVE_INFINITY;
  const tb = b.warmingStartedAt ?? Number.POSITIVE_INFINITY;
  return ta !== tb ? (ta < tb ? -1 : 1) : compareNames(a.name, b.name);
}

/**
 * acceptWarming: the claims left waiting after allocate (in queue order) and the warming members, closest to Ready
 * first. The k-th waiting claim is the one the k-th member to become Ready would serve, so it is the k-th warming
 * member a claim may take at once: a claim with acceptWarming takes that one, a claim without leaves it for itself.
 * Queue order holds: nobody behind a waiting claim is handed the member that claim will get.
 */
export function allocateWarming<C extends PoolClaim>(
  waiting: readonly C[],
  members: readonly MemberView[],
  excluded: ReadonlySet<string>,
): Pair<C>[] {
  const sorted = members.filter((m) => isWarmingClaimable(m) && !excluded.has(m.uid)).sort(closestToReady);
  const pairs: Pair<C>[] = [];
  let slot = 0;
  for (const claim of waiting) {
    const n = needed(claim);
    if (slot + n > sorted.length) break;
    if (claim.spec.acceptWarming === true) for (const member of sorted.slice(slot, slot + n)) pairs.push({ claim, member });
    slot += n;
  }
  return pairs;
}
