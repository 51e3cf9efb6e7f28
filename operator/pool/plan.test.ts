import type { InstancePoolSpec } from '../api/types.js';
import type { MemberView } from '../member/members.js';
import type { DeleteReason, FailureRecord } from './model.js';
import { BACKOFF_CAP_MS, FAILURE_WINDOW_MS, TTL_JITTER, resolveSpec } from './model.js';
import type { PlanInput, PlanResult } from './plan.js';
import { assessFailures, scaleDownOrder, ttlExpiry, uidFraction } from './plan.js';
import { statusEqual } from './status.js';
import { HASH, NOW, OLD, S, asWritten, cond, creates, deletes, many, member, plan, pool, requeue } from './test-fixtures.js';

const deleted = (r: PlanResult): string[] => deletes(r).map((d) => `${d.pod}:${d.reason}`);
const marks = (r: PlanResult): string[] => r.actions.flatMap((a) => (a.kind === 'mark-ready' ? [a.pod] : []));

function failures(n: number, reason: DeleteReason, lastAgoMs: number, stepMs = S): FailureRecord[] {
  return Array.from({ length: n }, (_, i) => ({ at: NOW - lastAgoMs - (n - 1 - i) * stepMs, reason }));
}

describe('replenishing to target', () => {
  test.each<{ name: string; spec: Partial<InstancePoolSpec>; members: MemberView[]; expected: number }>([
    { name: 'empty pool starts with one (slow start)', spec: { targetSize: 3 }, members: [], expected: 1 },
    { name: 'placed members open the window to the deficit', spec: { targetSize: 5 }, members: many('r', 3, 'ready'), expected: 2 },
    { name: 'deficit of one', spec: { targetSize: 3 }, members: many('r', 2, 'ready'), expected: 1 },
    {
      name: 'warming members count as warm',
      spec: { targetSize: 3 },
      members: [...many('r', 1, 'ready'), ...many('w', 2, 'warming')],
      expected: 0,
    },
    {
      name: 'claimed members do not count toward target',
      spec: { targetSize: 3 },
      members: [...many('r', 3, 'ready'), ...many('c', 2, 'claimed')],
      expected: 0,
    },
    {
      name: 'a claim leaves a deficit',
      spec: { targetSize: 3 },
      members: [...many('r', 2, 'ready'), ...many('c', 1, 'claimed')],
      expected: 1,
    },
    {
      name: 'terminating members never count as warm',
      spec: { targetSize: 3 },
      members: [...many('r', 2, 'ready'), ...many('t', 3, 'terminating')],
      expected: 1,
    },
    {
      name: 'terminating members cause no over-creation',
      spec: { targetSize: 3 },
      members: [...many('r', 3, 'ready'), ...many('t', 2, 'terminating')],
      expected: 0,
    },
    { name: 'targetSize below minSize is raised', spec: { targetSize: 1, minSize: 3 }, members: many('c', 3, 'claimed'), expected: 3 },
    { name: 'targetSize above maxSize is capped', spec: { targetSize: 20, maxSize: 5 }, members: many('r', 3, 'ready'), expected: 2 },
    { name: 'target zero creates nothing', spec: { targetSize: 0 }, members: [], expected: 0 },
    { name: 'maxSize caps claimed + warm', spec: { targetSize: 5, maxSize: 6 }, members: many('c', 4, 'claimed'), expected: 2 },
    { name: 'maxSize reached by claimed members', spec: { targetSize: 5, maxSize: 6 }, members: many('c', 6, 'claimed'), expected: 0 },
    { name: 'default maxSize is targetSize + 10', spec: { targetSize: 2 }, members: many('c', 11, 'claimed'), expected: 1 },
    {
      name: 'terminating members hold maxSize until gone',
      spec: { targetSize: 2, maxSize: 2 },
      members: many('t', 2, 'terminating'),
      expected: 0,
    },
    {
      name: 'terminating members hold their share of maxSize',
      spec: { targetSize: 3, maxSize: 4 },
      members: [...many('r', 1, 'ready'), ...many('t', 2, 'terminating')],
      expected: 1,
    },
  ])('$name', ({ spec, members, expected }) => {
    const r = plan({ pool: pool(spec), members });
    expect(creates(r)).toBe(expected);
    expect(deletes(r)).toEqual([]);
  });

  test('one create action for the whole deficit', () => {
    const r = plan({ pool: pool({ targetSize: 5 }), members: many('c', 5, 'claimed') });
    expect(r.actions).toEqual([{ kind: 'create', count: 5 }]);
  });
});

describe('expectations unsatisfied: no creates, no deletes', () => {
  const members = [
    member('f', 'failed'),
    member('ready-labelled-warming', 'ready', { stateLabel: 'warming' }),
    member('old', 'warming', { warmingStartedAt: NOW - 3600 * S, scheduledAt: undefined }),
  ];
  test.each<{ name: string; spec: Partial<InstancePoolSpec>; ms: MemberView[] }>([
    { name: 'deficit', spec: { targetSize: 5 }, ms: members },
    { name: 'excess', spec: { targetSize: 0 }, ms: [...members, ...many('r', 4, 'ready')] },
    { name: 'drift', spec: { targetSize: 3 }, ms: many('r', 3, 'ready', { templateHash: OLD }) },
    { name: 'drain', spec: { targetSize: 3, drain: true }, ms: members },
    // Creates issued and not yet seen in the cache are what leaves the expectations unsatisfied: none is repeated.
    { name: 'creates not yet observed cover the deficit', spec: { targetSize: 3 }, ms: many('r', 1, 'ready') },
    { name: 'creates not yet observed count toward maxSize', spec: { targetSize: 3, maxSize: 3 }, ms: many('c', 2, 'claimed') },
  ])('$name', ({ spec, ms }) => {
    const r = plan({ pool: pool(spec), members: ms, expectationsSatisfied: false });
    expect(creates(r)).toBe(0);
    expect(deletes(r)).toEqual([]);
  });

  test('still marks ready and reports', () => {
    const r = plan({ pool: pool({ targetSize: 5 }), members, expectationsSatisfied: false });
    expect(marks(r)).toEqual(['ready-labelled-warming']);
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'AwaitingMembers' });
    expect(r.status.readyCount).toBe(1);
  });
});

describe('scale-down', () => {
  test('warming before ready, unschedulable first, then the youngest; never claimed', () => {
    const members = [
      member('r-old', 'ready', { readyAt: NOW - 500 * S }),
      member('r-new', 'ready', { readyAt: NOW - 10 * S }),
      member('w-old', 'warming', { warmingStartedAt: NOW - 50 * S }),
      member('w-new', 'warming', { warmingStartedAt: NOW - 5 * S }),
      member('w-stuck', 'warming', { unschedulable: true, nodeName: undefined, warmingStartedAt: NOW - 100 * S }),
      ...many('c', 3, 'claimed'),
    ];
    const cases: [number, string[]][] = [
      [4, ['w-stuck:scale-down']],
      [3, ['w-new:scale-down', 'w-stuck:scale-down']],
      [2, ['w-new:scale-down', 'w-old:scale-down', 'w-stuck:scale-down']],
      [1, ['r-new:scale-down', 'w-new:scale-down', 'w-old:scale-down', 'w-stuck:scale-down']],
      [0, ['r-new:scale-down', 'r-old:scale-down', 'w-new:scale-down', 'w-old:scale-down', 'w-stuck:scale-down']],
    ];
    for (const [targetSize, expected] of cases) {
      const r = plan({ pool: pool({ targetSize }), members });
      expect(deleted(r).sort()).toEqual(expected);
      expect(creates(r)).toBe(0);
    }
  });

  test('the ranking: warming, unschedulable, unbound, drifted, newest, name', () => {
    const order = scaleDownOrder(HASH);
    const ms = [
      member('ready-new', 'ready', { readyAt: NOW - S }),
      member('ready-drifted', 'ready', { templateHash: OLD, readyAt: NOW - 900 * S }),
      member('warm-bound', 'warming', { warmingStartedAt: NOW - 9 * S }),
      member('warm-unbound', 'warming', { nodeName: undefined, warmingStartedAt: NOW - 50 * S }),
      member('warm-stuck', 'warming', { unschedulable: true, nodeName: undefined }),
      member('ready-old', 'ready', { readyAt: NOW - 800 * S }),
      member('warm-bound-b', 'warming', { warmingStartedAt: NOW - 9 * S }),
    ];
    expect([...ms].sort(order).map((m) => m.name)).toEqual([
      'warm-stuck',
      'warm-unbound',
      'warm-bound',
      'warm-bound-b',
      'ready-drifted',
      'ready-new',
      'ready-old',
    ]);
  });

  test('the same state in any order gives the same plan', () => {
    const ms = [...many('r', 4, 'ready'), ...many('w', 3, 'warming'), member('f', 'failed')];
    const a = plan({ pool: pool({ targetSize: 2 }), members: ms });
    const b = plan({ pool: pool({ targetSize: 2 }), members: [...ms].reverse() });
    expect(b.actions).toEqual(a.actions);
    expect(b.status).toEqual(a.status);
  });
});

describe('failed members', () => {
  test.each<{ name: string; over: Partial<MemberView>; lifecycleClass: 'ephemeral' | 'spot'; reason: string; errored: boolean }>([
    { name: 'pod failed', over: { failure: 'PodFailed' }, lifecycleClass: 'ephemeral', reason: 'failed', errored: true },
    { name: 'crash loop', over: { failure: 'CrashLoopBackOff' }, lifecycleClass: 'ephemeral', reason: 'failed', errored: true },
    {
      name: 'lost readiness',
      over: { failure: 'NotReady', stateLabel: 'ready' },
      lifecycleClass: 'ephemeral',
      reason: 'unhealthy',
      errored: true,
    },
    {
      name: 'evicted ephemeral member is an error',
      over: { failure: 'Evicted', evicted: true },
      lifecycleClass: 'ephemeral',
      reason: 'evicted',
      errored: true,
    },
    {
      name: 'evicted spot member is routine churn',
      over: { failure: 'Evicted', evicted: true },
      lifecycleClass: 'spot',
      reason: 'evicted',
      errored: false,
    },
  ])('$name', ({ over, lifecycleClass, reason, errored }) => {
    const r = plan({
      pool: pool({ targetSize: 3, lifecycleClass }, {}, { erroredCount: 2 }),
      members: [...many('r', 2, 'ready'), member('x', 'failed', over)],
    });
    expect(deletes(r)).toEqual([{ kind: 'delete', pod: 'x', uid: 'uid-x', resourceVersion: '7', reason, errored }]);
    expect(creates(r)).toBe(1);
    expect(r.status.erroredCount).toBe(errored ? 3 : 2);
  });

  test('a failed claimed member is left to its claim', () => {
    const r = plan({ members: [...many('r', 3, 'ready'), member('c', 'claimed', { healthy: false, failure: 'PodFailed' })] });
    expect(r.actions).toEqual([]);
  });

  test('erroredCount is counted once: the next pass sees the member terminating', () => {
    const first = plan({ members: [...many('r', 2, 'ready'), member('x', 'failed')] });
    expect(first.status.erroredCount).toBe(1);
    const second = plan({
      pool: pool({}, {}, first.status),
      members: [...many('r', 2, 'ready'), member('x', 'terminating'), member('n', 'warming')],
    });
    expect(second.status.erroredCount).toBe(1);
    expect(deletes(second)).toEqual([]);
    expect(creates(second)).toBe(0);
  });

  test('erroredCount never goes back when the cache lags our own write', () => {
    const r = plan({
      pool: asWritten(pool({}, {}, { erroredCount: 1 }), { erroredCount: 4 }),
      members: [...many('r', 2, 'ready'), member('x', 'failed')],
    });
    expect(r.status.erroredCount).toBe(5);
  });
});

describe('warming timeout', () => {
  test('a member warming longer than the timeout is recycled as errored; the next timeout is requeued', () => {
    const r = plan({
      pool: pool({ targetSize: 2, warmingTimeoutSeconds: 600 }),
      members: [
        member('late', 'warming', { warmingStartedAt: NOW - 601 * S, scheduledAt: NOW - 601 * S }),
        member('young', 'warming', { warmingStartedAt: NOW - 100 * S, scheduledAt: NOW - 100 * S }),
      ],
    });
    expect(deletes(r)).toEqual([expect.objectContaining({ pod: 'late', reason: 'warming-timeout', errored: true })]);
    expect(creates(r)).toBe(1);
    expect(requeue(r)).toEqual({ kind: 'requeue', afterMs: 500 * S, why: 'warming-timeout' });
    expect(r.status.erroredCount).toBe(1);
  });

  test('the clock starts when the member was scheduled', () => {
    const r = plan({
      pool: pool({ targetSize: 1, warmingTimeoutSeconds: 60 }),
      members: [member('waited', 'warming', { warmingStartedAt: NOW - 900 * S, scheduledAt: NOW - 10 * S })],
    });
    expect(deletes(r)).toEqual([]);
    expect(requeue(r)).toMatchObject({ afterMs: 50 * S, why: 'warming-timeout' });
  });
});

describe('unschedulable members are held', () => {
  const stuck = (n: number): MemberView[] =>
    many('stuck', n, 'warming', {
      unschedulable: true,
      unschedulableMessage: '0/2 nodes are available: 2 Insufficient cpu.',
      nodeName: undefined,
      scheduledAt: undefined,
      warmingStartedAt: NOW - 3600 * S,
    });

  test('not deleted (even past the warming timeout), not recreated, reported', () => {
    const r = plan({ pool: pool({ targetSize: 3, warmingTimeoutSeconds: 60 }), members: [...stuck(2), ...many('r', 1, 'ready')] });
    expect(r.actions).toEqual([]);
    expect(r.status).toMatchObject({ warmingCount: 2, readyCount: 1, replicas: 3 });
    expect(cond(r, 'Degraded')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(cond(r, 'Degraded')?.message).toContain('2 warming members unschedulable');
    expect(cond(r, 'Degraded')?.message).toContain('Insufficient cpu');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
  });

  test('repeated reconciles of the same state stay quiet', () => {
    const input: Partial<PlanInput> = { pool: pool({ targetSize: 2 }), members: stuck(2) };
    const first = plan(input);
    const second = plan({ ...input, pool: pool({ targetSize: 2 }, {}, first.status), now: NOW + 30 * S });
    expect(second.actions).toEqual([]);
    expect(statusEqual(first.status, second.status)).toBe(true);
  });

  test('they are the first to go on scale-down', () => {
    const r = plan({ pool: pool({ targetSize: 1 }), members: [...stuck(2), ...many('r', 1, 'ready')] });
    expect(deleted(r).sort()).toEqual(['stuck0:scale-down', 'stuck1:scale-down']);
  });
});

describe('back-off after repeated failures', () => {
  test.each<{ name: string; history: FailureRecord[]; expectedCreates: number; reason: string | undefined; backoffAfter: number | undefined }>([
    {
      name: 'below the threshold: replace at once',
      history: failures(4, 'failed', S),
      expectedCreates: 3,
      reason: undefined,
      backoffAfter: undefined,
    },
    {
      name: 'at the threshold, within the back-off: wait',
      history: failures(5, 'failed', 2 * S),
      expectedCreates: 0,
      reason: 'CrashLooping',
      backoffAfter: 8 * S,
    },
    {
      name: 'one past it, back-off doubles',
      history: failures(6, 'failed', 2 * S),
      expectedCreates: 0,
      reason: 'CrashLooping',
      backoffAfter: 18 * S,
    },
    {
      name: 'back-off elapsed: one probe member only',
      history: failures(5, 'failed', 11 * S),
      expectedCreates: 1,
      reason: 'CrashLooping',
      backoffAfter: undefined,
    },
    {
      name: 'warming timeouts dominate',
      history: failures(6, 'warming-timeout', 2 * S),
      expectedCreates: 0,
      reason: 'WarmingTimeout',
      backoffAfter: 18 * S,
    },
    {
      name: 'old failures have left the window',
      history: failures(8, 'failed', FAILURE_WINDOW_MS),
      expectedCreates: 3,
      reason: undefined,
      backoffAfter: undefined,
    },
    {
      name: 'scale-down and ttl are not failures',
      history: [...failures(6, 'scale-down', S), ...failures(6, 'ttl', S)],
      expectedCreates: 3,
      reason: undefined,
      backoffAfter: undefined,
    },
  ])('$name', ({ history, expectedCreates, reason, backoffAfter }) => {
    const r = plan({ pool: pool({ targetSize: 3 }), members: many('c', 3, 'claimed'), failureHistory: history, random: () => 0 });
    expect(creates(r)).toBe(expectedCreates);
    if (reason === undefined) {
      expect(cond(r, 'Degraded')?.status).toBe('False');
    } else {
      expect(cond(r, 'Degraded')).toMatchObject({ status: 'True', reason });
      expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason });
    }
    if (backoffAfter !== undefined) expect(requeue(r)).toEqual({ kind: 'requeue', afterMs: backoffAfter, why: 'backoff' });
  });

  test('degraded: one member warms at a time', () => {
    const r = plan({ pool: pool({ targetSize: 3 }), members: [member('probe', 'warming')], failureHistory: failures(5, 'failed', 60 * S) });
    expect(creates(r)).toBe(0);
  });

  test('the back-off requeue is jittered upward by the random source', () => {
    const at = (random: number): number | undefined =>
      requeue(plan({ failureHistory: failures(5, 'failed', 0), random: () => random }))?.afterMs;
    expect(at(0)).toBe(10 * S);
    expect(at(0.999)).toBeGreaterThan(10.9 * S);
    expect(at(0.999)).toBeLessThanOrEqual(11 * S);
  });

  test('a Degraded pool at target is requeued for when the window lets it recover', () => {
    const history = failures(5, 'failed', 100 * S, 10 * S);
    const r = plan({ members: many('r', 3, 'ready'), failureHistory: history });
    expect(r.actions).toEqual([{ kind: 'requeue', afterMs: FAILURE_WINDOW_MS - 140 * S, why: 'failure-window' }]);
    expect(cond(r, 'Degraded')?.status).toBe('True');
    expect(cond(r, 'Stalled')?.status).toBe('False');
  });

  test('assessFailures: the back-off grows exponentially to a cap', () => {
    expect(assessFailures(failures(4, 'failed', 0), NOW)).toMatchObject({ degraded: false, backoffMs: 0, recoversAt: undefined });
    expect(assessFailures(failures(5, 'failed', 0), NOW).backoffMs).toBe(10 * S);
    expect(assessFailures(failures(7, 'failed', 0), NOW).backoffMs).toBe(40 * S);
    expect(assessFailures(failures(30, 'failed', 0), NOW).backoffMs).toBe(BACKOFF_CAP_MS);
  });

  test('assessFailures: a tie goes to the most recent kind', () => {
    const h = [...failures(3, 'failed', 10 * S), ...failures(3, 'warming-timeout', S)];
    expect(assessFailures(h, NOW)).toMatchObject({ reason: 'WarmingTimeout', warmingTimeouts: 3, recent: 6 });
  });
});

describe('ready TTL', () => {
  const ttl = 3600;

  test('a stale ready member is recycled with reason ttl and replaced', () => {
    const r = plan({
      pool: pool({ targetSize: 3, readyTTLSeconds: ttl }),
      members: [member('stale', 'ready', { readyAt: NOW - 2 * ttl * S }), ...many('fresh', 2, 'ready', { readyAt: NOW - 10 * S })],
    });
    expect(deletes(r)).toEqual([expect.objectContaining({ pod: 'stale', reason: 'ttl', errored: false })]);
    expect(creates(r)).toBe(1);
    expect(r.status.erroredCount).toBe(0);
  });

  test('jitter spreads a cohort over up to 10% and is stable per member', () => {
    const cohort = many('m', 200, 'ready', { readyAt: NOW });
    const expiries = cohort.map((m) => ttlExpiry(m, ttl * S) ?? 0);
    const min = Math.min(...expiries);
    const max = Math.max(...expiries);
    expect(min).toBeGreaterThanOrEqual(NOW + ttl * S);
    expect(max).toBeLessThan(NOW + ttl * S * (1 + TTL_JITTER));
    expect(max - min).toBeGreaterThan(ttl * S * TTL_JITTER * 0.9);
    expect(new Set(expiries).size).toBeGreaterThan(190);
    expect(cohort.map((m) => ttlExpiry(m, ttl * S))).toEqual(expiries);
    expect(uidFraction('abc')).toBe(uidFraction('abc'));
  });

  test('at most max(1, 10% of target) recycles per window, the stalest first', () => {
    // Ages far apart compared with the jitter, so the stalest are also the first to expire.
    const stale = Array.from({ length: 30 }, (_, i) => member(`s${String(i).padStart(2, '0')}`, 'ready', { readyAt: NOW - 3 * ttl * S - i * 1000 * S }));
    const r = plan({ pool: pool({ targetSize: 30, readyTTLSeconds: ttl }), members: stale });
    expect(deleted(r).sort()).toEqual(['s27:ttl', 's28:ttl', 's29:ttl']);
    expect(creates(r)).toBe(3);
    expect(requeue(r)).toMatchObject({ why: 'ttl-cap' });

    const capped = plan({ pool: pool({ targetSize: 30, readyTTLSeconds: ttl }), members: stale, recyclesInWindow: 2 });
    expect(deletes(capped)).toHaveLength(1);
    const spent = plan({ pool: pool({ targetSize: 30, readyTTLSeconds: ttl }), members: stale, recyclesInWindow: 3 });
    expect(deletes(spent)).toHaveLength(0);

    const small = plan({ pool: pool({ targetSize: 3, readyTTLSeconds: ttl }), members: stale.slice(0, 3) });
    expect(deletes(small)).toHaveLength(1);
  });

  test('no recycling while Degraded: the replacement could not be created', () => {
    const r = plan({
      pool: pool({ targetSize: 1, readyTTLSeconds: ttl }),
      members: [member('stale', 'ready', { readyAt: NOW - 2 * ttl * S })],
      failureHistory: failures(5, 'failed', 60 * S),
    });
    expect(deletes(r)).toEqual([]);
  });

  test('requeued for the next expiry', () => {
    const m = member('m', 'ready', { readyAt: NOW - 100 * S });
    const expiry = ttlExpiry(m, 1000 * S) ?? 0;
    const r = plan({ pool: pool({ targetSize: 1, readyTTLSeconds: 1000 }), members: [m] });
    expect(r.actions).toEqual([{ kind: 'requeue', afterMs: expiry - NOW, why: 'ttl' }]);
  });

  test('no TTL: no recycling, no timer', () => {
    const r = plan({ members: many('r', 3, 'ready', { readyAt: NOW - 1e9 }) });
    expect(r.actions).toEqual([]);
  });
});

describe('template drift', () => {
  test('surges new members first, old ready ones stay until a ready surplus exists', () => {
    const r = plan({ pool: pool({ targetSize: 4 }), members: many('old', 4, 'ready', { templateHash: OLD }) });
    expect(deletes(r)).toEqual([]);
    expect(creates(r)).toBe(1);
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RollingOut' });
  });

  test('batch is max(1, 25% of target)', () => {
    expect(creates(plan({ pool: pool({ targetSize: 8 }), members: many('old', 8, 'ready', { templateHash: OLD }) }))).toBe(2);
  });

  test('once a new member is ready, one old ready member goes and the next is created', () => {
    const r = plan({
      pool: pool({ targetSize: 4 }),
      members: [...many('old', 4, 'ready', { templateHash: OLD }), member('new0', 'ready')],
    });
    expect(deletes(r)).toEqual([expect.objectContaining({ reason: 'template-drift' })]);
    expect(creates(r)).toBe(1);
  });

  test('old warming members are replaced at once, within the batch', () => {
    const r = plan({
      pool: pool({ targetSize: 4 }),
      members: [...many('oldw', 2, 'warming', { templateHash: OLD }), ...many('r', 2, 'ready')],
    });
    expect(deleted(r)).toHaveLength(1);
    expect(deleted(r)[0]).toMatch(/^oldw\d:template-drift$/);
    // Surge: 2 current + 1 old warming + 2 new = target + batch.
    expect(creates(r)).toBe(2);
  });

  test('claimed members on an old template are left alone', () => {
    const r = plan({
      pool: pool({ targetSize: 2 }),
      members: [...many('c', 3, 'claimed', { templateHash: OLD }), ...many('r', 2, 'ready')],
    });
    expect(r.actions).toEqual([]);
    expect(cond(r, 'Reconciling')?.status).toBe('False');
  });

  test('with no room under maxSize, replaces a batch in place; the replacement waits until it is gone', () => {
    const input = { pool: pool({ targetSize: 4, maxSize: 4 }), members: many('old', 4, 'ready', { templateHash: OLD }) };
    const first = plan(input);
    expect(deleted(first)).toEqual(['old0:template-drift']);
    expect(creates(first)).toBe(0);
    const terminating = input.members.map((m) => (m.name === 'old0' ? { ...m, phase: 'terminating' as const } : m));
    const second = plan({ ...input, members: terminating });
    expect(deleted(second)).toEqual([]);
    expect(creates(second)).toBe(0);
    const third = plan({ ...input, members: input.members.filter((m) => m.name !== 'old0') });
    expect(deleted(third)).toEqual([]);
    expect(creates(third)).toBe(1);
  });

  test('a member without a hash label counts as drifted', () => {
    const r = plan({ pool: pool({ targetSize: 1 }), members: [member('legacy', 'ready', { templateHash: undefined })] });
    expect(creates(r)).toBe(1);
  });

  test.each([1, 3, 4, 8, 10])('a rollout of %i ready members converges without dropping below target ready', (target) => {
    let members = many('old', target, 'ready', { templateHash: OLD });
    let seq = 0;
    for (let step = 0; step < 100; step++) {
      const r = plan({ pool: pool({ targetSize: target }), members });
      if (deletes(r).length === 0 && creates(r) === 0 && members.every((m) => m.phase === 'ready')) break;
      // One step of the world: deletes happen, earlier warming members become ready, new ones start warming.
      const gone = new Set(deletes(r).map((d) => d.pod));
      const fresh = Array.from({ length: creates(r) }, () => member(`new${seq++}`, 'warming'));
      const kept = members.filter((m) => !gone.has(m.name));
      members = [...kept.map((m) => (m.phase === 'warming' ? { ...m, phase: 'ready' as const, stateLabel: 'ready' } : m)), ...fresh];
      expect(members.filter((m) => m.phase === 'ready').length).toBeGreaterThanOrEqual(target);
      expect(members.length).toBeLessThanOrEqual(target + Math.max(1, Math.floor(target / 4)));
    }
    expect(members.every((m) => m.templateHash === HASH && m.phase === 'ready')).toBe(true);
    expect(members).toHaveLength(target);
  });
});

describe('mark-ready', () => {
  test('a Ready member still labelled warming gets one patch; claimed and labelled ones do not', () => {
    const r = plan({
      members: [
        member('a', 'ready', { stateLabel: 'warming', readyAt: NOW - 300 }),
        member('b', 'ready'),
        member('c', 'claimed'),
      ],
    });
    expect(r.actions.filter((a) => a.kind === 'mark-ready')).toEqual([
      {
        kind: 'mark-ready',
        pod: 'a',
        uid: 'uid-a',
        resourceVersion: '7',
        readyAt: new Date(NOW).toISOString(),
        // Complete: the shell sends this patch as it is, and observes this warm-up once it succeeds.
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'uid-a' },
          { op: 'test', path: '/metadata/labels/warmpool.dev~1state', value: 'warming' },
          { op: 'replace', path: '/metadata/labels/warmpool.dev~1state', value: 'ready' },
          { op: 'add', path: '/metadata/annotations/warmpool.dev~1ready-at', value: new Date(NOW).toISOString() },
        ],
        warmupSeconds: 120,
      },
    ]);
  });

  test('readyAt: our clock when seen promptly, the condition time when seen late', () => {
    const late = plan({ members: [member('a', 'ready', { stateLabel: 'warming', readyAt: NOW - 30 * S }), ...many('r', 2, 'ready')] });
    expect(late.actions).toEqual([expect.objectContaining({ kind: 'mark-ready', readyAt: new Date(NOW - 30 * S).toISOString() })]);
  });

  test('the warm-up status uses the stamped time, so the next pass agrees', () => {
    const start = NOW - 2500;
    const r = plan({ members: [member('a', 'ready', { stateLabel: 'warming', readyAt: NOW - 500, warmingStartedAt: start })] });
    expect(r.status.warmup).toEqual({ lastSeconds: 2.5, averageSeconds: 2.5, samples: 1 });
  });

  test('a member deleted in the same pass is not patched', () => {
    const r = plan({ pool: pool({ targetSize: 0 }), members: [member('a', 'ready', { stateLabel: 'warming' })] });
    expect(marks(r)).toEqual([]);
    expect(deleted(r)).toEqual(['a:scale-down']);
  });
});

describe('paused', () => {
  test('no creates, no deletes of any kind; mark-ready still', () => {
    const r = plan({
      pool: pool({ targetSize: 5, paused: true, readyTTLSeconds: 1 }),
      members: [
        member('f', 'failed'),
        member('late', 'warming', { warmingStartedAt: NOW - 9999 * S, scheduledAt: undefined }),
        member('a', 'ready', { stateLabel: 'warming' }),
        member('drifted', 'ready', { templateHash: OLD }),
      ],
    });
    expect(r.actions).toEqual([expect.objectContaining({ kind: 'mark-ready', pod: 'a' })]);
    expect(r.status.phase).toBe('Paused');
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Paused' });
  });
});

describe('drain', () => {
  test('deletes every unclaimed member, creates nothing', () => {
    const r = plan({
      pool: pool({ targetSize: 5, drain: true, paused: true }),
      members: [member('r', 'ready'), member('w', 'warming'), member('f', 'failed'), member('c', 'claimed'), member('t', 'terminating')],
    });
    expect(deleted(r).sort()).toEqual(['f:drain', 'r:drain', 'w:drain']);
    expect(deletes(r).every((d) => !d.errored)).toBe(true);
    expect(creates(r)).toBe(0);
    expect(marks(r)).toEqual([]);
    expect(r.status).toMatchObject({ phase: 'Draining', readyCount: 0, warmingCount: 0, claimedCount: 1 });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'Draining' });
  });

  test('drained: only claimed members left, Ready with reason Drained', () => {
    const r = plan({ pool: pool({ drain: true }), members: [member('c', 'claimed'), member('t', 'terminating')] });
    expect(r.actions).toEqual([]);
    expect(cond(r, 'Ready')).toMatchObject({ status: 'True', reason: 'Drained' });
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Drained' });
  });
});

describe('pool deletion', () => {
  const deleting = (members: MemberView[], over: Partial<PlanInput> = {}): PlanResult =>
    plan({ pool: pool({ targetSize: 3 }, { deletionTimestamp: new Date(NOW - S) }), members, ...over });

  test('deletes unclaimed members, waits for claimed and terminating ones', () => {
    const r = deleting([member('r', 'ready'), member('w', 'warming'), ...many('c', 2, 'claimed'), member('t', 'terminating')]);
    expect(deleted(r).sort()).toEqual(['r:pool-deleting', 'w:pool-deleting']);
    expect(creates(r)).toBe(0);
    expect(r.finalizerRemovable).toBe(false);
    expect(r.waitingFor).toBe('waiting for 2 claimed members, 3 terminating members');
    expect(r.status.phase).toBe('Terminating');
    expect(cond(r, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Terminating',
      message: `${r.waitingFor ?? ''}; held by claims claim-c0, claim-c1`,
    });
    expect(r.status.blockingClaims).toEqual({ count: 2, names: ['claim-c0', 'claim-c1'] });
  });

  test('only claimed members left', () => {
    const r = deleting(many('c', 2, 'claimed'));
    expect(r.actions).toEqual([]);
    expect(r.waitingFor).toBe('waiting for 2 claimed members');
  });

  test('nothing left: the finalizer may go', () => {
    const r = deleting([]);
    expect(r.finalizerRemovable).toBe(true);
    expect(r.waitingFor).toBeUndefined();
  });

  test('nothing observed but creates not yet seen: wait', () => {
    expect(deleting([], { expectationsSatisfied: false })).toMatchObject({
      finalizerRemovable: false,
      waitingFor: 'waiting for earlier creates and deletes to be observed',
    });
  });

  test('expectations unsatisfied: no deletes yet, says what is left', () => {
    const r = deleting([member('r', 'ready')], { expectationsSatisfied: false });
    expect(r.actions).toEqual([]);
    expect(r.waitingFor).toBe('waiting for 1 unclaimed member to delete');
  });

  test('deletion wins over an invalid spec', () => {
    const r = deleting([member('r', 'ready')], { validationErrors: ['spec.maxSize: below targetSize'] });
    expect(deleted(r)).toEqual(['r:pool-deleting']);
  });
});

describe('invalid spec', () => {
  test('no actions at all; condition InvalidSpec', () => {
    const r = plan({
      pool: pool({ targetSize: 5 }),
      members: [member('f', 'failed'), member('a', 'ready', { stateLabel: 'warming' })],
      validationErrors: ['spec.minSize: must be <= targetSize', 'spec.template: no containers'],
    });
    expect(r.actions).toEqual([]);
    expect(cond(r, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      message: 'spec.minSize: must be <= targetSize; spec.template: no containers',
    });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });
});

describe('requeue', () => {
  test('only the earliest timer is returned', () => {
    const r = plan({
      pool: pool({ targetSize: 2, readyTTLSeconds: 100, warmingTimeoutSeconds: 600 }),
      members: [member('r', 'ready', { readyAt: NOW - 50 * S, uid: 'fixed' }), member('w', 'warming', { warmingStartedAt: NOW - 590 * S, scheduledAt: undefined })],
    });
    expect(r.actions.filter((a) => a.kind === 'requeue')).toEqual([{ kind: 'requeue', afterMs: 10 * S, why: 'warming-timeout' }]);
  });
});

describe('at rest', () => {
  test('a full pool plans nothing and its status is stable across passes', () => {
    const members = many('r', 3, 'ready');
    const first = plan({ members });
    expect(first.actions).toEqual([]);
    expect(cond(first, 'Ready')).toMatchObject({ status: 'True', reason: 'TargetReached' });
    const second = plan({ pool: pool({}, {}, first.status), members, now: NOW + 60 * S });
    expect(statusEqual(first.status, second.status)).toBe(true);
  });
});

describe('resolveSpec', () => {
  test.each<{ name: string; spec: Partial<InstancePoolSpec>; expected: Partial<ReturnType<typeof resolveSpec>> }>([
    {
      name: 'defaults',
      spec: { targetSize: 3 },
      expected: { target: 3, minSize: 0, maxSize: 13, lifecycleClass: 'ephemeral', warmingTimeoutMs: 600 * S, readyTtlMs: 0, paused: false, drain: false },
    },
    { name: 'clamped up to minSize', spec: { targetSize: 1, minSize: 2, maxSize: 4 }, expected: { target: 2 } },
    { name: 'clamped down to maxSize', spec: { targetSize: 9, maxSize: 4 }, expected: { target: 4 } },
    {
      name: 'garbage from an invalid spec reads as zero',
      spec: { targetSize: Number.NaN, warmingTimeoutSeconds: -5 },
      expected: { target: 0, warmingTimeoutMs: 0 },
    },
  ])('$name', ({ spec, expected }) => {
    expect(resolveSpec({ template: {}, targetSize: 0, ...spec })).toMatchObject(expected);
  });
});

describe('members the API server refuses', () => {
  it('a refused create stalls the pool (Reconciling False, Stalled and Ready False with CreateFailed) while it still retries', () => {
    const r = plan({ pool: pool({ targetSize: 2 }), members: many('c', 2, 'claimed'), createError: 'creating members failed (422): invalid' });
    const cond = (type: string) => r.status.conditions?.find((c) => c.type === type);
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'CreateFailed', message: 'creating members failed (422): invalid' });
    expect(cond('Reconciling')).toMatchObject({ status: 'False', reason: 'CreateFailed' });
    expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'CreateFailed' });
    expect(creates(r)).toBe(2);
  });

  it('once members exist at target the old create error no longer stalls the pool', () => {
    const r = plan({ pool: pool({ targetSize: 1 }), members: [member('a', 'ready')], createError: 'old' });
    expect(r.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
  });
});
