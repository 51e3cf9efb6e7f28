// Fixtures the pool's unit tests share (plan, plan bounds, status): member views, pools, one planner pass and
// what to read from its result. Test-only: tsconfig.build.json leaves it out of the build.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Condition, InstancePool, InstancePoolSpec, InstancePoolStatus } from '../api/types.js';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { OwnWrites } from '../kube/own-writes.js';
import type { MemberPhase, MemberView } from '../member/members.js';
import type { DeleteAction, PoolAction } from './model.js';
import { resolveSpec } from './model.js';
import { OWN_STATUS_TTL_MS, statusWritten } from './own-status.js';
import type { PlanInput, PlanResult } from './plan.js';
import { planPool } from './plan.js';

export const NOW = Date.parse('2026-11-24T12:00:00Z');
export const S = 1000;
/** The current template's hash, and an older one. */
export const HASH = 'new-hash';
export const OLD = 'old-hash';

/** A member on node-a, created 120 s ago, ready (when ready, claimed or terminating) 100 s ago. */
export function member(name: string, phase: MemberPhase, over: Partial<MemberView> = {}): MemberView {
  const warm = phase === 'warming';
  return {
    name,
    uid: `uid-${name}`,
    resourceVersion: '7',
    stateLabel: phase === 'ready' ? 'ready' : phase === 'claimed' ? 'claimed' : 'warming',
    phase,
    healthy: phase !== 'failed',
    failure: phase === 'failed' ? 'PodFailed' : undefined,
    ready: phase === 'ready' || phase === 'claimed',
    unschedulable: false,
    unschedulableMessage: undefined,
    evicted: false,
    createdAt: NOW - 120 * S,
    scheduledAt: NOW - 119 * S,
    readyAt: warm || phase === 'failed' ? undefined : NOW - 100 * S,
    warmingStartedAt: NOW - 120 * S,
    templateHash: HASH,
    nodeName: 'node-a',
    claimName: phase === 'claimed' ? `claim-${name}` : undefined,
    claimUid: phase === 'claimed' ? `claim-uid-${name}` : undefined,
    leaseToken: 0,
    reuses: 0,
    returnedAt: undefined,
    resting: undefined,
    readySince: undefined,
    ...over,
  };
}

export const many = (prefix: string, n: number, phase: MemberPhase, over: Partial<MemberView> = {}): MemberView[] =>
  Array.from({ length: n }, (_, i) => member(`${prefix}${i}`, phase, over));

export function pool(spec: Partial<InstancePoolSpec> = {}, meta: Partial<V1ObjectMeta> = {}, status?: InstancePoolStatus): InstancePool {
  const p: InstancePool = {
    apiVersion: API_VERSION,
    kind: POOL_KIND,
    metadata: { name: 'web', namespace: 'ns', uid: 'pool-uid', generation: 3, ...meta },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'img' }] } }, targetSize: 3, ...spec },
  };
  if (status) p.status = status;
  return p;
}

/** One planner pass over a pool at target 3 with no members, unless told otherwise. */
export function plan(over: Partial<PlanInput> = {}): PlanResult {
  const input = {
    pool: pool(),
    members: [],
    now: NOW,
    templateHash: HASH,
    expectationsSatisfied: true,
    failureHistory: [],
    recyclesInWindow: 0,
    random: () => 0.5,
    ...over,
  };
  // The shell resolves the spec at the door; the planner sees only the resolved spec.
  return planPool({ ...input, spec: over.spec ?? resolveSpec(input.pool.spec) });
}

/** The pool as the controller plans from it: the cached one, as our last status write leaves it (own-status.ts). */
export function asWritten(cached: InstancePool, written: InstancePoolStatus): InstancePool {
  const own = new OwnWrites<InstancePool>({ ttlMs: OWN_STATUS_TTL_MS, now: () => NOW });
  own.record('ns/web', statusWritten(cached.metadata.uid ?? '', written));
  return own.view('ns/web', cached, undefined);
}

export const creates = (r: PlanResult): number => r.actions.reduce((n, a) => (a.kind === 'create' ? n + a.count : n), 0);
export const deletes = (r: PlanResult): DeleteAction[] => r.actions.filter((a): a is DeleteAction => a.kind === 'delete');
export const requeue = (r: PlanResult): Extract<PoolAction, { kind: 'requeue' }> | undefined =>
  r.actions.find((a): a is Extract<PoolAction, { kind: 'requeue' }> => a.kind === 'requeue');
export const cond = (r: PlanResult, type: string): Condition | undefined => r.status.conditions?.find((c) => c.type === type);
