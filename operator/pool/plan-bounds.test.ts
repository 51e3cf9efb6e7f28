// The pool planner's bounds against hostile or odd specs (issue 17): creation held while the scheduler cannot place
// members, the operator's member limit, the cost ceiling (terminating members included, over-ceiling reported),
// evictions and back-off, and the requeue floor. Tables have named fields.
import type { InstancePoolSpec, LifecycleClass } from '../api/types.js';
import { MAX_TIMER_DELAY_MS } from '../kube/timers.js';
import type { MemberView } from '../member/members.js';
import type { DeleteReason, FailureRecord } from './model.js';
import { DEFAULT_MAX_MEMBERS_PER_POOL, REQUEUE_FLOOR_MS, isBackoffFailure } from './model.js';
import type { PlanInput, PlanResult } from './plan.js';
import { assessFailures, evictionFailure, memberLimit, slowStartWindow } from './plan.js';
import { NOW, S, cond, creates, deletes, many, member, plan, pool } from './test-fixtures.js';

const unplaced = (prefix: string, n: number, over: Partial<MemberView> = {}): MemberView[] =>
  many(prefix, n, 'warming', { nodeName: undefined, scheduledAt: undefined, ...over });

const held = (prefix: string, n: number): MemberView[] =>
  unplaced(prefix, n, { unschedulable: true, unschedulableMessage: '0/3 nodes are available: 3 Too many pods.' });

const requeueMs = (r: PlanResult): number | undefined =>
  r.actions.flatMap((a) => (a.kind === 'requeue' ? [a.afterMs] : []))[0];

describe('slow start: no growth while the scheduler has not placed earlier members', () => {
  // Creates not yet observed stop growth too: they leave the expectations unsatisfied (plan.test.ts).
  test.each<{ name: string; members: MemberView[]; window: number }>([
    { name: 'an empty pool starts with one', members: [], window: 1 },
    { name: 'as many as are placed', members: many('r', 8, 'ready'), window: 8 },
    { name: 'claimed members are placed too', members: [...many('r', 2, 'ready'), ...many('c', 3, 'claimed')], window: 5 },
    { name: 'one member waiting for the scheduler stops it', members: [...many('r', 8, 'ready'), ...unplaced('u', 1)], window: 0 },
    { name: 'a held unschedulable member stops it', members: [...many('r', 8, 'ready'), ...held('h', 1)], window: 0 },
    { name: 'terminating members are not placed members', members: many('t', 4, 'terminating'), window: 1 },
  ])('window: $name', ({ members, window }) => {
    const live = members.filter((m) => m.phase !== 'terminating');
    expect(slowStartWindow(live)).toBe(window);
  });

  test('held unschedulable members stop creation, and the pool says so (not in progress, stalled)', () => {
    const r = plan({ pool: pool({ targetSize: 10 }), members: [...many('r', 4, 'ready'), ...held('h', 2)] });
    expect(creates(r)).toBe(0);
    expect(deletes(r)).toEqual([]);
    expect(cond(r, 'Degraded')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(cond(r, 'Degraded')?.message).toContain('no more are created until they are');
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
  });

  // A node with room for `capacity` more pods, a pool asking for far more: pass after pass, the scheduler places
  // what fits and marks the rest unschedulable. The pool never has more than twice what fits.
  test.each<{ capacity: number; targetSize: number; most: number }>([
    { capacity: 0, targetSize: 100_000, most: 1 },
    { capacity: 1, targetSize: 100_000, most: 2 },
    { capacity: 3, targetSize: 50, most: 6 },
    { capacity: 100, targetSize: 100_000, most: 150 },
    { capacity: 127, targetSize: 100_000, most: 254 },
    { capacity: 600, targetSize: 600, most: 600 },
  ])('room for $capacity pods, targetSize $targetSize: at most $most members', ({ capacity, targetSize, most }) => {
    let members: MemberView[] = [];
    let placed = 0;
    let seq = 0;
    for (let pass = 0; pass < 60; pass++) {
      const r = plan({ pool: pool({ targetSize, maxSize: targetSize }), members, maxMembersPerPool: 1_000_000 });
      members = [...members, ...unplaced(`p${pass}-`, creates(r)).map((m) => ({ ...m, uid: `u${seq++}` }))];
      // The scheduler: place what fits, the rest is unschedulable.
      members = members.map((m) => {
        if (m.nodeName !== undefined) return m;
        if (placed < capacity) {
          placed++;
          return { ...m, nodeName: 'node-a', phase: 'ready' as const, ready: true, stateLabel: 'ready', readyAt: NOW };
        }
        return { ...m, unschedulable: true };
      });
    }
    expect(members.length).toBeLessThanOrEqual(most);
    expect(members.filter((m) => m.nodeName !== undefined).length).toBe(Math.min(capacity, targetSize));
  });
});

describe('the operator-wide member limit (--max-members-per-pool)', () => {
  test.each<{ name: string; given: unknown; limit: number }>([
    { name: 'unset: the default', given: undefined, limit: DEFAULT_MAX_MEMBERS_PER_POOL },
    { name: 'a number', given: 50, limit: 50 },
    { name: 'a fraction is floored', given: 7.9, limit: 7 },
    { name: 'NaN: the default', given: Number.NaN, limit: DEFAULT_MAX_MEMBERS_PER_POOL },
    { name: 'negative: the default', given: -1, limit: DEFAULT_MAX_MEMBERS_PER_POOL },
    { name: 'infinite: the default', given: Number.POSITIVE_INFINITY, limit: DEFAULT_MAX_MEMBERS_PER_POOL },
  ])('$name', ({ given, limit }) => {
    expect(memberLimit({ maxMembersPerPool: given as number | undefined })).toBe(limit);
  });

  test('a target above the limit creates up to the limit only, and the pool is Stalled naming the limit', () => {
    const members = many('r', 40, 'ready');
    const r = plan({ pool: pool({ targetSize: 100_000, maxSize: 100_000 }), members, maxMembersPerPool: 50 });
    expect(creates(r)).toBe(10);
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'MemberLimitExceeded' });
    expect(cond(r, 'Stalled')?.message).toBe(
      "targetSize 100000 is above the operator's limit of 50 members per pool (--max-members-per-pool)",
    );
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ScalingUp' });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'MemberLimitExceeded' });
  });

  test('at the limit: nothing more, not in progress (kstatus: failed), the target stays what was asked', () => {
    const r = plan({ pool: pool({ targetSize: 100_000, maxSize: 100_000 }), members: many('r', 50, 'ready'), maxMembersPerPool: 50 });
    expect(r.actions).toEqual([]);
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'False', reason: 'MemberLimitExceeded' });
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'MemberLimitExceeded' });
    expect(r.status.targetSize).toBe(100_000);
  });

  test('claimed members count toward the limit', () => {
    const r = plan({
      pool: pool({ targetSize: 10, maxSize: 100 }),
      members: [...many('c', 45, 'claimed'), ...many('r', 5, 'ready')],
      maxMembersPerPool: 50,
    });
    expect(creates(r)).toBe(0);
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'MemberLimitExceeded' });
    expect(cond(r, 'Stalled')?.message).toContain('50 members (45 claimed) reach');
  });

  test('a pool within the limit is not stalled by it', () => {
    const r = plan({ pool: pool({ targetSize: 3 }), members: many('r', 3, 'ready'), maxMembersPerPool: 50 });
    expect(cond(r, 'Stalled')?.status).toBe('False');
    expect(cond(r, 'Ready')?.status).toBe('True');
  });
});

describe('the cost ceiling', () => {
  test.each<{ name: string; spec: Partial<InstancePoolSpec>; members: MemberView[]; recycles?: number; creates: number; deleted: string[] }>([
    {
      name: 'TTL recycling at maxSize waits for the stale member to be gone',
      spec: { targetSize: 2, maxSize: 2, readyTTLSeconds: 10 },
      members: many('r', 2, 'ready'),
      creates: 0,
      deleted: ['r1:ttl'],
    },
    {
      name: 'a member in its grace period holds its place',
      spec: { targetSize: 2, maxSize: 2 },
      members: [...many('r', 1, 'ready'), ...many('t', 1, 'terminating')],
      creates: 0,
      deleted: [],
    },
    {
      name: 'room left beside terminating members is used',
      spec: { targetSize: 2, maxSize: 3 },
      members: [...many('r', 1, 'ready'), ...many('t', 1, 'terminating')],
      creates: 1,
      deleted: [],
    },
    {
      name: 'maxSize lowered under claimed members: the unclaimed ones go, none is created',
      spec: { targetSize: 1, maxSize: 2 },
      members: [...many('c', 3, 'claimed'), ...many('r', 1, 'ready')],
      creates: 0,
      deleted: ['r0:scale-down'],
    },
    {
      name: 'over the ceiling by one: one unclaimed member goes, warming first',
      spec: { targetSize: 2, maxSize: 3 },
      members: [...many('c', 2, 'claimed'), ...many('r', 1, 'ready'), ...many('w', 1, 'warming')],
      creates: 0,
      deleted: ['w0:scale-down'],
    },
  ])('$name', ({ spec, members, creates: expected, deleted }) => {
    const r = plan({ pool: pool(spec), members });
    expect(creates(r)).toBe(expected);
    expect(deletes(r).map((d) => `${d.pod}:${d.reason}`)).toEqual(deleted);
    expect(deletes(r).every((d) => !d.pod.startsWith('c'))).toBe(true);
  });

  test('a pool over its ceiling is Degraded OverCeiling with the counts, and that alone does not stall it', () => {
    const r = plan({ pool: pool({ targetSize: 1, maxSize: 2 }), members: [...many('c', 3, 'claimed'), ...many('r', 1, 'ready')] });
    expect(cond(r, 'Degraded')).toMatchObject({ status: 'True', reason: 'OverCeiling' });
    expect(cond(r, 'Degraded')?.message).toBe(
      '3 members (3 claimed) over maxSize of 2: no member is created and unclaimed ones are deleted until claims end',
    );
    expect(cond(r, 'Stalled')?.status).toBe('False');
  });

  test('back at the ceiling the condition clears', () => {
    const r = plan({ pool: pool({ targetSize: 1, maxSize: 3 }), members: many('c', 3, 'claimed') });
    expect(cond(r, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });

  test('over the operator limit names the limit', () => {
    const r = plan({ pool: pool({ targetSize: 1, maxSize: 20 }), members: many('c', 6, 'claimed'), maxMembersPerPool: 5 });
    expect(cond(r, 'Degraded')?.message).toContain("6 members (6 claimed) over the operator's limit (--max-members-per-pool) of 5");
  });
});

describe('evictions and back-off', () => {
  test.each<{ reason: DeleteReason; lifecycleClass: LifecycleClass; backoff: boolean }>([
    { reason: 'evicted', lifecycleClass: 'ephemeral', backoff: true },
    { reason: 'evicted', lifecycleClass: 'spot', backoff: false },
    { reason: 'failed', lifecycleClass: 'spot', backoff: true },
    { reason: 'warming-timeout', lifecycleClass: 'ephemeral', backoff: true },
    { reason: 'unhealthy', lifecycleClass: 'ephemeral', backoff: true },
    { reason: 'ttl', lifecycleClass: 'ephemeral', backoff: false },
    { reason: 'scale-down', lifecycleClass: 'ephemeral', backoff: false },
    { reason: 'drain', lifecycleClass: 'ephemeral', backoff: false },
  ])('isBackoffFailure($reason, $lifecycleClass) is $backoff', ({ reason, lifecycleClass, backoff }) => {
    expect(isBackoffFailure(reason, lifecycleClass)).toBe(backoff);
  });

  const evictions = (n: number): FailureRecord[] =>
    Array.from({ length: n }, (_, i) => ({ at: NOW - (n - i) * S, reason: 'evicted' as const, uid: `e${i}` }));

  test.each<{ lifecycleClass: LifecycleClass; degraded: boolean }>([
    { lifecycleClass: 'ephemeral', degraded: true },
    { lifecycleClass: 'spot', degraded: false },
  ])('five evictions: a $lifecycleClass pool degraded is $degraded', ({ lifecycleClass, degraded }) => {
    const r = plan({ pool: pool({ targetSize: 3, lifecycleClass }), members: many('c', 3, 'claimed'), failureHistory: evictions(5) });
    expect(cond(r, 'Degraded')?.status).toBe(degraded ? 'True' : 'False');
    if (degraded) {
      expect(cond(r, 'Degraded')?.reason).toBe('Evicted');
      expect(cond(r, 'Degraded')?.message).toContain('5 evictions');
      expect(creates(r)).toBe(0);
    } else {
      expect(creates(r)).toBe(3);
    }
  });

  test('the most frequent kind names the reason; a tie goes to the most recent', () => {
    const crash = (at: number): FailureRecord => ({ at, reason: 'failed' });
    const evict = (at: number): FailureRecord => ({ at, reason: 'evicted' });
    expect(assessFailures([crash(NOW - 5 * S), evict(NOW - 4 * S), evict(NOW - 3 * S), evict(NOW - 2 * S), crash(NOW - S)], NOW)).toMatchObject({
      reason: 'Evicted',
      evictions: 3,
      recent: 5,
    });
    expect(assessFailures([evict(NOW - 4 * S), evict(NOW - 3 * S), crash(NOW - 2 * S), crash(NOW - S)], NOW).reason).toBe('CrashLooping');
    expect(assessFailures([crash(NOW - 4 * S), crash(NOW - 3 * S), evict(NOW - 2 * S), evict(NOW - S)], NOW).reason).toBe('Evicted');
  });

  test.each<{ name: string; over: Partial<MemberView>; lifecycleClass: LifecycleClass; recorded: boolean }>([
    { name: 'an evicted ephemeral member', over: { evicted: true }, lifecycleClass: 'ephemeral', recorded: true },
    { name: 'an evicted member being deleted', over: { evicted: true, phase: 'terminating' }, lifecycleClass: 'ephemeral', recorded: true },
    { name: 'an evicted spot member', over: { evicted: true }, lifecycleClass: 'spot', recorded: false },
    { name: 'a member deleted without eviction', over: { phase: 'terminating' }, lifecycleClass: 'ephemeral', recorded: false },
    {
      name: 'an evicted claimed member (its claim decides)',
      over: { evicted: true, phase: 'terminating', stateLabel: 'claimed', claimName: 'c', claimUid: 'cu' },
      lifecycleClass: 'ephemeral',
      recorded: false,
    },
  ])('evictionFailure: $name recorded is $recorded', ({ over, lifecycleClass, recorded }) => {
    const m = member('x', 'ready', over);
    expect(evictionFailure(m, lifecycleClass, NOW)).toEqual(recorded ? { at: NOW, reason: 'evicted', uid: 'uid-x' } : undefined);
  });

  test('a failed evicted member of an ephemeral pool is deleted as errored, of a spot pool as routine', () => {
    const evicted = member('x', 'failed', { failure: 'Evicted', evicted: true });
    const eph = plan({ pool: pool({ lifecycleClass: 'ephemeral' }), members: [...many('r', 2, 'ready'), evicted] });
    const spot = plan({ pool: pool({ lifecycleClass: 'spot' }), members: [...many('r', 2, 'ready'), evicted] });
    expect(deletes(eph)).toEqual([expect.objectContaining({ pod: 'x', reason: 'evicted', errored: true })]);
    expect(deletes(spot)).toEqual([expect.objectContaining({ pod: 'x', reason: 'evicted', errored: false })]);
  });
});

describe('requeues: never below the floor, never past what a timer holds', () => {
  test.each<{ name: string; input: Partial<PlanInput>; afterMs: number }>([
    {
      name: 'a warming timeout due in 10 ms waits for the floor',
      input: {
        pool: pool({ targetSize: 1, warmingTimeoutSeconds: 60 }),
        members: [member('w', 'warming', { warmingStartedAt: NOW - 60 * S + 10, scheduledAt: NOW - 60 * S + 10 })],
      },
      afterMs: REQUEUE_FLOOR_MS,
    },
    {
      name: 'a 30-day TTL wakes within the hour and recomputes',
      input: { pool: pool({ targetSize: 1, readyTTLSeconds: 2_592_000 }), members: many('r', 1, 'ready') },
      afterMs: MAX_TIMER_DELAY_MS,
    },
    {
      name: 'a warming timeout of int32 max seconds too',
      input: { pool: pool({ targetSize: 1, warmingTimeoutSeconds: 2_147_483_647 }), members: many('w', 1, 'warming') },
      afterMs: MAX_TIMER_DELAY_MS,
    },
  ])('$name', ({ input, afterMs }) => {
    expect(requeueMs(plan(input))).toBe(afterMs);
  });
});
