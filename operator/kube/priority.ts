// Claim path first: the operator's requests come in two classes, and when the client's token bucket (throttle.ts)
// has more requests than tokens, claim-class requests go before refill-class ones. A claim is someone waiting; a
// replacement member is capacity for later. Without this a bind's patch queued behind the creates and patches of the
// refill its own earlier binds caused (a burst of 20 claims causes 20 creates and 20 ready patches).
//
// The class rides along with the async call chain (AsyncLocalStorage): the claim controller runs its passes as
// 'claim', everything else is 'refill' by default, so no client method needs a class argument. The decisions
// (which class a request is, which waiting class goes next) are the pure functions below.
import { AsyncLocalStorage } from 'node:async_hooks';

/** 'claim': the claim controller's requests (binds, claim status, releases); 'refill': everything else. */
export type RequestClass = 'claim' | 'refill';

/**
 * How long a refill-class request may be held back by claim-class ones before it goes first anyway: a pool under a
 * steady stream of claims must still refill, or the claims after it find no member.
 */
export const MAX_REFILL_DEFER_MS = 1_000;

const declared = new AsyncLocalStorage<RequestClass>();

/** Runs fn with every API request it makes (and the promises it starts) declared as class cls. */
export function withRequestClass<T>(cls: RequestClass, fn: () => T): T {
  return declared.run(cls, fn);
}

/** The class the current async context declared, if any. */
export function declaredRequestClass(): RequestClass | undefined {
  return declared.getStore();
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/**
 * The class of one request: what its context declared, except that Events are always refill-class (they are a
 * record, nobody waits for them; a claim's Event must not delay the next claim's bind).
 */
export function requestClass(input: { declared: RequestClass | undefined; url: string }): RequestClass {
  if (input.declared !== 'claim') return 'refill';
  const path = pathOf(input.url);
  // The resource is the segment after the group version (and the namespace): a pod named "events" is a pod.
  if (/^\/(api\/v1|apis\/[^/]+\/[^/]+)\/(namespaces\/[^/]+\/)?events(\/|$)/.test(path)) return 'refill';
  return 'claim';
}

/**
 * Which waiting class gets the next token: claims, unless the oldest refill request has waited maxRefillDeferMs
 * (then it goes first, so a stream of claims never starves the refill). undefined when nothing waits.
 */
export function nextClass(input: {
  claimsWaiting: number;
  refillsWaiting: number;
  oldestRefillWaitedMs: number;
  maxRefillDeferMs: number;
}): RequestClass | undefined {
  if (input.refillsWaiting > 0 && (input.claimsWaiting === 0 || input.oldestRefillWaitedMs >= input.maxRefillDeferMs)) return 'refill';
  if (input.claimsWaiting > 0) return 'claim';
  return undefined;
}
