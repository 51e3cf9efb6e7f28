import type { Condition, InstancePool, InstancePoolStatus } from '../api/types.js';
import type { MemberPhase, MemberView } from '../member/members.js';
import type { FailureRecord } from './model.js';
import { assessFailures } from './plan.js';
import type { AutoscalingReport, StatusFacts } from './status.js';
import { AUTOSCALING_CONDITION, computeStatus, computeWarmup, ownedStatus, statusEqual, withAutoscaling, writtenStatus } from './status.js';
import { NOW, S, asWritten, member as fixtureMember, pool as fixturePool } from './test-fixtures.js';

/** Members here warmed up in 2 s: started 60 s ago, ready 58 s ago. */
const member = (name: string, phase: MemberPhase, over: Partial<MemberView> = {}): MemberView =>
  fixtureMember(name, phase, {
    warmingStartedAt: NOW - 60 * S,
    readyAt: phase === 'ready' || phase === 'claimed' ? NOW - 58 * S : undefined,
    ...over,
  });

const pool = (status?: InstancePoolStatus): InstancePool => fixturePool({ targetSize: 2 }, { generation: 2 }, status);

function facts(over: Partial<StatusFacts> = {}): StatusFacts {
  return {
    pool: pool(),
    members: [member('a', 'ready'), member('b', 'ready')],
    now: NOW,
    templateHash: 'h',
    target: 2,
    mode: 'active',
    validationErrors: [],
    failures: assessFailures([], NOW),
    pending: false,
    deleted: 0,
    erroredThisPass: 0,
    drifted: 0,
    waitingFor: undefined,
    ...over,
  };
}

const cond = (s: InstancePoolStatus, type: string): Condition | undefined => s.conditions?.find((c) => c.type === type);
const summary = (s: InstancePoolStatus): Record<string, string> =>
  Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('computeStatus', () => {
  test('counts, replicas, selector, generation, hash', () => {
    const s = computeStatus(
      facts({
        members: [
          member('r', 'ready'),
          member('w', 'warming'),
          member('c', 'claimed'),
          member('t', 'terminating'),
          member('f', 'failed'),
        ],
      }),
    );
    expect(s).toMatchObject({
      phase: 'Active',
      observedGeneration: 2,
      targetSize: 2,
      warmingCount: 1,
      readyCount: 1,
      claimedCount: 1,
      erroredCount: 0,
      replicas: 2,
      selector: 'warmpool.dev/pool=web',
      templateHash: 'h',
    });
    expect(s.conditions?.every((c) => c.observedGeneration === 2)).toBe(true);
  });

  test.each<{ name: string; over: Partial<StatusFacts>; expected: Record<string, string> }>([
    {
      name: 'at target: Ready, reconciled',
      over: {},
      expected: { Ready: 'True/TargetReached', Reconciling: 'False/Reconciled', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'scaling up',
      over: { target: 3 },
      expected: { Ready: 'False/NotEnoughReady', Reconciling: 'True/ScalingUp', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'ready above target but excess pending deletion: not Ready (kstatus)',
      over: { target: 1 },
      expected: { Ready: 'False/ScalingDown', Reconciling: 'True/ScalingDown', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'warm at target, still warming',
      over: { members: [member('a', 'ready'), member('b', 'warming')] },
      expected: { Ready: 'False/NotEnoughReady', Reconciling: 'True/WarmingUp', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'earlier actions not observed yet',
      over: { pending: true },
      expected: { Ready: 'False/AwaitingMembers', Reconciling: 'True/AwaitingMembers', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'template rollout',
      over: { drifted: 2 },
      expected: { Ready: 'False/RollingOut', Reconciling: 'True/RollingOut', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'recycling at target',
      over: { deleted: 1, members: [member('a', 'ready'), member('b', 'ready'), member('x', 'terminating')] },
      expected: { Ready: 'False/Recycling', Reconciling: 'True/Recycling', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'paused below target',
      over: { mode: 'paused', target: 5 },
      expected: { Ready: 'False/NotEnoughReady', Reconciling: 'False/Paused', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'paused at target',
      over: { mode: 'paused' },
      expected: { Ready: 'True/TargetReached', Reconciling: 'False/Paused', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'invalid spec',
      over: { validationErrors: ['spec.maxSize: too small'] },
      expected: { Ready: 'False/InvalidSpec', Reconciling: 'False/InvalidSpec', Stalled: 'True/InvalidSpec', Degraded: 'False/AsExpected' },
    },
    {
      name: 'terminating',
      over: { mode: 'terminating', waitingFor: 'waiting for 1 claimed member' },
      expected: { Ready: 'False/Terminating', Reconciling: 'True/Terminating', Stalled: 'False/AsExpected', Degraded: 'False/AsExpected' },
    },
    {
      name: 'crash looping below target',
      over: { target: 3, failures: assessFailures(recent(6, 'failed'), NOW) },
      expected: { Ready: 'False/CrashLooping', Reconciling: 'True/ScalingUp', Stalled: 'True/CrashLooping', Degraded: 'True/CrashLooping' },
    },
    {
      name: 'crash looping but at target: Degraded, not Stalled',
      over: { failures: assessFailures(recent(6, 'failed'), NOW) },
      expected: { Ready: 'True/TargetReached', Reconciling: 'False/Reconciled', Stalled: 'False/AsExpected', Degraded: 'True/CrashLooping' },
    },
  ])('$name', ({ over, expected }) => {
    expect(summary(computeStatus(facts(over)))).toEqual(expected);
  });

  test('phase follows the mode', () => {
    expect(computeStatus(facts({ mode: 'paused' })).phase).toBe('Paused');
    expect(computeStatus(facts({ mode: 'draining', members: [] })).phase).toBe('Draining');
    expect(computeStatus(facts({ mode: 'terminating' })).phase).toBe('Terminating');
  });

  test('Degraded names the failures and the unschedulable members together', () => {
    const s = computeStatus(
      facts({
        target: 3,
        failures: assessFailures([...recent(4, 'warming-timeout'), ...recent(2, 'failed')], NOW),
        members: [
          member('r', 'ready'),
          member('z-stuck', 'warming', { unschedulable: true, unschedulableMessage: 'Insufficient cpu' }),
          member('a-stuck', 'warming', { unschedulable: true, unschedulableMessage: 'Insufficient memory' }),
        ],
      }),
    );
    expect(cond(s, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'WarmingTimeout',
      message:
        '6 member failures in the last 5m (4 warming timeouts, 2 crashes); replacements back off 20s and go one at a time; ' +
        '2 warming members unschedulable, held (a-stuck: Insufficient memory)',
    });
  });

  test('lastTransitionTime moves only when the status flips', () => {
    const first = computeStatus(facts({ target: 3 }));
    expect(cond(first, 'Ready')?.lastTransitionTime).toBe('2026-11-24T12:00:00Z');

    const sameStatus = computeStatus(facts({ target: 3, pool: pool(first), now: NOW + 90 * S, members: [member('a', 'ready'), member('b', 'warming')] }));
    expect(cond(sameStatus, 'Ready')).toMatchObject({ status: 'False', lastTransitionTime: '2026-11-24T12:00:00Z' });

    const flipped = computeStatus(facts({ pool: pool(first), now: NOW + 90 * S }));
    expect(cond(flipped, 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-24T12:01:30Z' });
  });

  test('the last written status wins over a lagging cache', () => {
    const written = computeStatus(facts({ target: 3 }));
    const s = computeStatus(facts({ target: 3, now: NOW + 60 * S, pool: asWritten(pool({ erroredCount: 0 }), written) }));
    expect(cond(s, 'Ready')?.lastTransitionTime).toBe(cond(written, 'Ready')?.lastTransitionTime);
  });

  test('erroredCount adds this pass to the larger of cached and written', () => {
    expect(computeStatus(facts({ pool: pool({ erroredCount: 5 }), erroredThisPass: 2 })).erroredCount).toBe(7);
    expect(computeStatus(facts({ pool: asWritten(pool({ erroredCount: 5 }), { erroredCount: 8 }), erroredThisPass: 1 })).erroredCount).toBe(9);
  });

  test('conditions of other types are kept', () => {
    const other: Condition = { type: 'QueueFull', status: 'False', reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' };
    const s = computeStatus(facts({ pool: pool({ conditions: [other] }) }));
    expect(cond(s, 'QueueFull')).toEqual(other);
  });
});

function recent(n: number, reason: FailureRecord['reason']): FailureRecord[] {
  return Array.from({ length: n }, (_, i) => ({ at: NOW - (i + 1) * S, reason }));
}

describe('computeWarmup', () => {
  test('last and mean over ready and claimed members, most recent first', () => {
    const w = computeWarmup([
      member('a', 'ready', { warmingStartedAt: NOW - 10 * S, readyAt: NOW - 8 * S }),
      member('b', 'claimed', { warmingStartedAt: NOW - 20 * S, readyAt: NOW - 16 * S }),
      member('c', 'warming'),
      member('d', 'terminating', { readyAt: NOW }),
    ]);
    expect(w).toEqual({ lastSeconds: 2, averageSeconds: 3, samples: 2 });
  });

  test('at most 20 samples, rounded to milliseconds', () => {
    const ms = Array.from({ length: 30 }, (_, i) =>
      member(`m${i}`, 'ready', { warmingStartedAt: NOW - 1000 * S, readyAt: NOW - 1000 * S + (i + 1) * 1000 + 1 / 3 }),
    );
    const w = computeWarmup(ms);
    expect(w?.samples).toBe(20);
    expect(w?.lastSeconds).toBe(30);
    expect(w?.averageSeconds).toBe(20.5);
  });

  test('none without a ready member', () => {
    expect(computeWarmup([member('w', 'warming')])).toBeUndefined();
  });
});

describe('statusEqual and ownedStatus', () => {
  const c = (type: string, status: Condition['status'], t = '2026-11-24T12:00:00Z'): Condition => ({
    type,
    status,
    reason: 'R',
    message: 'm',
    lastTransitionTime: t,
  });

  test.each<{ name: string; a: InstancePoolStatus | undefined; b: InstancePoolStatus | undefined; equal: boolean }>([
    { name: 'identical', a: { readyCount: 1 }, b: { readyCount: 1 }, equal: true },
    { name: 'a count differs', a: { readyCount: 1 }, b: { readyCount: 2 }, equal: false },
    {
      name: 'condition order does not matter',
      a: { conditions: [c('A', 'True'), c('B', 'False')] },
      b: { conditions: [c('B', 'False'), c('A', 'True')] },
      equal: true,
    },
    { name: 'a condition status differs', a: { conditions: [c('A', 'True')] }, b: { conditions: [c('A', 'False')] }, equal: false },
    {
      name: 'a transition time differs',
      a: { conditions: [c('A', 'True')] },
      b: { conditions: [c('A', 'True', '2026-11-24T12:00:01Z')] },
      equal: false,
    },
    { name: 'undefined keys are absent keys', a: { readyCount: 1, warmup: undefined }, b: { readyCount: 1 }, equal: true },
    { name: 'key order does not matter', a: { readyCount: 1, claimedCount: 2 }, b: { claimedCount: 2, readyCount: 1 }, equal: true },
    { name: 'nothing and empty', a: undefined, b: {}, equal: true },
    { name: 'nested warm-up differs', a: { warmup: { lastSeconds: 1 } }, b: { warmup: { lastSeconds: 2 } }, equal: false },
  ])('$name', ({ a, b, equal }) => {
    expect(statusEqual(a, b)).toBe(equal);
  });

  // The comparison it replaced, which serialized both statuses: the oracle for every pair of some awkward statuses.
  const canonical = (value: unknown): unknown => {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined) out[key] = canonical(v);
      }
      return out;
    }
    return value;
  };
  const asText = (s: InstancePoolStatus | undefined): string => {
    if (s === undefined) return JSON.stringify(canonical({}));
    const conditions = s.conditions && [...s.conditions].sort((x, y) => x.type.localeCompare(y.type));
    return JSON.stringify(canonical({ ...s, conditions }));
  };
  const at = '2026-11-24T12:00:00.000Z';
  const odd = (v: unknown): InstancePoolStatus => v as InstancePoolStatus;
  const variants: (InstancePoolStatus | undefined)[] = [
    undefined,
    {},
    { readyCount: 1 },
    { readyCount: 1, warmup: undefined },
    { readyCount: 2 },
    odd({ readyCount: Number.NaN }),
    odd({ readyCount: null }),
    odd({ readyCount: Number.POSITIVE_INFINITY }),
    { readyCount: 1, claimedCount: 0 },
    { claimedCount: 0, readyCount: 1 },
    { conditions: [] },
    odd({ conditions: null }),
    { conditions: [c('A', 'True', at)] },
    odd({ conditions: [{ ...c('A', 'True'), lastTransitionTime: new Date(at) }] }),
    { conditions: [c('A', 'True', at), c('B', 'False', at)] },
    { conditions: [c('B', 'False', at), c('A', 'True', at)] },
    { conditions: [c('B', 'False', at), c('A', 'False', at)] },
    { conditions: [c('A', 'True', at), c('A', 'False', at)] },
    { conditions: [c('A', 'False', at), c('A', 'True', at)] },
    { warmup: { lastSeconds: 1 } },
    odd({ warmup: { lastSeconds: 1, p50Seconds: undefined } }),
    { warmup: { lastSeconds: 2 } },
    odd({ list: [1, undefined, 3] }),
    odd({ list: [1, null, 3] }),
    odd({ list: [1, 3] }),
    odd({ list: { 0: 1, 1: null, 2: 3 } }),
    odd({ stamp: new Date(at) }),
    odd({ stamp: at }),
    odd({ stamp: '2026-11-24T12:00:00Z' }),
    odd({ nested: { a: { b: [{ c: 1 }] } } }),
    odd({ nested: { a: { b: [{ c: 2 }] } } }),
  ];
  test('equal exactly when their serialized forms were, for every pair of awkward statuses', () => {
    const disagreements: string[] = [];
    variants.forEach((a, i) =>
      variants.forEach((b, j) => {
        if (statusEqual(a, b) !== (asText(a) === asText(b))) disagreements.push(`${i} ${j}`);
      }),
    );
    expect(disagreements).toEqual([]);
  });

  test('ownedStatus leaves out what other controllers write', () => {
    const full: InstancePoolStatus = {
      readyCount: 3,
      pendingClaims: 4,
      utilization: { combinedRps: 1, httpRps: 1, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: '2026-11-24T12:00:00Z' },
    };
    expect(ownedStatus(full)).toEqual({ readyCount: 3 });
    expect(ownedStatus(undefined)).toEqual({});
  });

  test('a computed status equals the owned part of itself once written back with other fields', () => {
    const s = computeStatus(facts());
    expect(statusEqual(s, ownedStatus({ ...s, pendingClaims: 2 }))).toBe(true);
  });

  test('writtenStatus: what the pool controller writes, utilization included, so an unchanged one writes nothing', () => {
    const s = computeStatus(facts());
    const utilization = { combinedRps: 1, httpRps: 1, tcpRps: 0, methodRps: 0, inflight: 0, sampledAt: '2026-11-24T12:00:00Z' };
    const cached = { ...s, pendingClaims: 2, utilization };
    expect(statusEqual({ ...s, utilization }, writtenStatus(cached))).toBe(true);
    expect(statusEqual({ ...s, utilization: { ...utilization, httpRps: 9 } }, writtenStatus(cached))).toBe(false);
    expect(statusEqual(s, writtenStatus({ ...s, pendingClaims: 2 }))).toBe(true);
  });
});

describe("withAutoscaling: the autoscaler's report in the pool's status", () => {
  const now = Date.parse('2026-12-06T07:00:00Z');
  const earlier = '2026-12-06T06:00:00Z';
  const kept = { type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'm', lastTransitionTime: earlier };
  const active = { type: AUTOSCALING_CONDITION, status: 'True' as const, reason: 'Objective', message: 'x', lastTransitionTime: earlier, observedGeneration: 2 };
  const record = { target: 5, reason: 'Proportional', floor: 0, claimed: 10 };
  test.each<{ name: string; status: InstancePoolStatus; report: AutoscalingReport | undefined; want: InstancePoolStatus }>([
    { name: 'no autoscaling: nothing added', status: { conditions: [kept] }, report: undefined, want: { conditions: [kept] } },
    {
      name: 'autoscaling removed: its condition and record go',
      status: { conditions: [kept, active], autoscaling: record },
      report: undefined,
      want: { conditions: [kept] },
    },
    {
      name: 'a report: the record and the condition, stamped now when new',
      status: { conditions: [kept] },
      report: { status: record, condition: { status: 'True', reason: 'Proportional', message: 'y' } },
      want: {
        conditions: [kept, { type: AUTOSCALING_CONDITION, status: 'True', reason: 'Proportional', message: 'y', observedGeneration: 2, lastTransitionTime: '2026-12-06T07:00:00Z' }],
        autoscaling: record,
      },
    },
    {
      name: 'the same condition status keeps its transition time',
      status: { conditions: [active] },
      report: { condition: { status: 'True', reason: 'Objective', message: 'x' } },
      want: { conditions: [active] },
    },
  ])('$name', ({ status, report, want }) => {
    expect(withAutoscaling(status, report, 2, now)).toEqual(want);
  });
});
