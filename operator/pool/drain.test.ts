// What a drain or a deletion says while claims hold members (issue 20): status.blockingClaims, the condition
// message naming the first few, and status.drainStartedAt, the start the claim planner's deadline counts from.
import type { InstancePoolStatus } from '../api/types.js';
import { withRemovals } from './controller.js';
import { NOW, S, member, many, plan, pool } from './test-fixtures.js';
import type { PlanResult } from './plan.js';

const cond = (r: PlanResult, type: string) => r.status.conditions?.find((c) => c.type === type);

describe('blockingClaims', () => {
  it.each<{ name: string; mode: 'drain' | 'delete' | 'active'; claimed: number; want: InstancePoolStatus['blockingClaims']; message: string | undefined }>([
    { name: 'a drain names the 3 claims at once', mode: 'drain', claimed: 3, want: { count: 3, names: ['claim-c0', 'claim-c1', 'claim-c2'] }, message: 'held by claims claim-c0, claim-c1, claim-c2' },
    { name: 'one claim', mode: 'drain', claimed: 1, want: { count: 1, names: ['claim-c0'] }, message: 'held by claim claim-c0' },
    {
      name: 'many: all counted, 10 named, the message names 3',
      mode: 'delete',
      claimed: 12,
      want: { count: 12, names: ['claim-c0', 'claim-c1', 'claim-c10', 'claim-c11', 'claim-c2', 'claim-c3', 'claim-c4', 'claim-c5', 'claim-c6', 'claim-c7'] },
      message: 'held by claims claim-c0, claim-c1, claim-c10 and 9 more',
    },
    { name: 'nothing holds a drain: none', mode: 'drain', claimed: 0, want: undefined, message: undefined },
    { name: 'an active pool is not waiting for its claims: none', mode: 'active', claimed: 3, want: undefined, message: undefined },
  ])('$name', ({ mode, claimed, want, message }) => {
    const p = mode === 'drain' ? pool({ drain: true }) : mode === 'delete' ? pool({}, { deletionTimestamp: new Date(NOW - S) }) : pool();
    const r = plan({ pool: p, members: [...many('c', claimed, 'claimed'), member('r', 'ready')] });
    expect(r.status.blockingClaims).toEqual(want);
    const reconciling = cond(r, 'Reconciling')?.message ?? '';
    if (message === undefined) expect(reconciling).not.toContain('held by');
    else expect(reconciling).toContain(message);
  });

  it('a drained pool (Ready, reason Drained) still says who holds its claimed members', () => {
    const r = plan({ pool: pool({ drain: true }), members: many('c', 2, 'claimed') });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'True', reason: 'Drained' });
    expect(cond(r, 'Ready')?.message).toContain('held by claims claim-c0, claim-c1');
  });
});

describe('drainStartedAt', () => {
  it.each<{ name: string; drain: boolean; before: string | undefined; want: string | undefined }>([
    { name: 'the first pass of a drain stamps now', drain: true, before: undefined, want: new Date(NOW).toISOString() },
    { name: 'later passes keep the first stamp', drain: true, before: '2026-11-24T11:59:00.000Z', want: '2026-11-24T11:59:00.000Z' },
    { name: 'an active pool has none (the next drain starts afresh)', drain: false, before: '2026-11-24T11:59:00.000Z', want: undefined },
  ])('$name', ({ drain, before, want }) => {
    const r = plan({ pool: pool({ drain }, {}, before === undefined ? undefined : { drainStartedAt: before }) });
    expect(r.status.drainStartedAt).toBe(want);
  });
});

describe('withRemovals', () => {
  it.each<{ name: string; cached: InstancePoolStatus | undefined; want: Record<string, unknown> }>([
    { name: 'fields the status drops are nulled', cached: { blockingClaims: { count: 1, names: ['a'] }, drainStartedAt: 'x', readyCount: 1 }, want: { readyCount: 2, blockingClaims: null, drainStartedAt: null } },
    { name: 'fields nobody had are not sent', cached: { readyCount: 1 }, want: { readyCount: 2 } },
    { name: 'fields not ours are never nulled', cached: { pendingClaims: 4 }, want: { readyCount: 2 } },
    { name: 'no cached status', cached: undefined, want: { readyCount: 2 } },
  ])('$name', ({ cached, want }) => {
    expect(withRemovals({ readyCount: 2 }, cached)).toEqual(want);
  });
});
