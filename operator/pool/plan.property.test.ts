// A property test of the pool planner: random specs and member sets, extremes included (0, int32 max, empty
// templates, thousands of members, specs the schema would refuse), and every plan must stay bounded. Seeded, so a
// failure names the case that reproduces it.
import type { InstancePool, InstancePoolSpec } from '../api/types.js';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { MAX_TIMER_DELAY_MS } from '../kube/timers.js';
import type { MemberFailure, MemberPhase, MemberView } from '../member/members.js';
import type { DeleteReason, FailureRecord } from './model.js';
import { MAX_CREATES_PER_PASS, REQUEUE_FLOOR_MS, SLOW_START_INITIAL, resolveSpec } from './model.js';
import type { PlanInput } from './plan.js';
import { memberLimit, planPool } from './plan.js';

const INT32_MAX = 2_147_483_647;
const NOW = Date.parse('2026-11-24T12:00:00Z');
const CASES = 400;

/** mulberry32: small, fast, good enough to spread cases; the seed makes every run the same. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Gen {
  rand: () => number;
  int(max: number): number;
  pick<T>(...xs: T[]): T;
  chance(p: number): boolean;
}

function gen(seed: number): Gen {
  const rand = prng(seed);
  return {
    rand,
    int: (max) => Math.floor(rand() * (max + 1)),
    pick: <T,>(...xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T,
    chance: (p) => rand() < p,
  };
}

const size = (g: Gen): number => g.pick(0, 1, g.int(20), g.int(5000), INT32_MAX);

function randomSpec(g: Gen): InstancePoolSpec {
  const targetSize = size(g);
  const spec: InstancePoolSpec = {
    targetSize,
    template: g.pick<InstancePoolSpec['template']>(
      { spec: { containers: [{ name: 'main', image: 'img' }] } },
      { spec: { containers: [] } },
      {},
    ),
  };
  if (g.chance(0.7)) spec.maxSize = g.pick(targetSize, targetSize + g.int(20), INT32_MAX, 0, g.int(50));
  if (g.chance(0.4)) spec.minSize = g.pick(0, g.int(targetSize), size(g));
  if (g.chance(0.5)) spec.lifecycleClass = g.pick('ephemeral', 'spot');
  if (g.chance(0.5)) spec.readyTTLSeconds = g.pick(0, 1, g.int(3600), INT32_MAX);
  if (g.chance(0.5)) spec.warmingTimeoutSeconds = g.pick(1, 600, INT32_MAX);
  if (g.chance(0.1)) spec.paused = true;
  if (g.chance(0.1)) spec.drain = true;
  return spec;
}

const PHASES: MemberPhase[] = ['warming', 'ready', 'claimed', 'terminating', 'failed'];
const FAILURES: MemberFailure[] = ['PodFailed', 'PodSucceeded', 'CrashLoopBackOff', 'Restarted', 'Evicted', 'NotReady'];

function randomMember(g: Gen, i: number): MemberView {
  const phase = g.pick(...PHASES);
  const placed = phase === 'ready' || phase === 'claimed' || g.chance(0.6);
  const unschedulable = !placed && phase === 'warming' && g.chance(0.3);
  const failure = phase === 'failed' ? g.pick(...FAILURES) : undefined;
  const claimed = phase === 'claimed' || (phase === 'terminating' && g.chance(0.3));
  const time = (): number | undefined => {
    const k = g.int(3);
    return k === 0 ? undefined : k === 1 ? NOW - g.int(10 * 86_400_000) : k === 2 ? NOW + g.int(60_000) : 0;
  };
  return {
    name: `m${i}`,
    uid: `uid-${i}`,
    resourceVersion: String(g.int(1e6)),
    stateLabel: claimed ? 'claimed' : g.pick('warming', 'ready', undefined),
    phase,
    healthy: failure === undefined,
    failure,
    ready: phase === 'ready' || (phase === 'claimed' && g.chance(0.8)),
    unschedulable,
    unschedulableMessage: unschedulable ? 'no room' : undefined,
    evicted: failure === 'Evicted',
    createdAt: time(),
    scheduledAt: placed ? time() : undefined,
    readyAt: time(),
    warmingStartedAt: time(),
    templateHash: g.pick('h', 'old', undefined),
    nodeName: placed ? `node-${g.int(3)}` : undefined,
    claimName: claimed ? `claim-${i}` : undefined,
    claimUid: claimed ? `claim-uid-${i}` : undefined,
    leaseToken: 0,
    reuses: 0,
    returnedAt: undefined,
    resting: undefined,
    readySince: undefined,
  };
}

const REASONS: DeleteReason[] = ['failed', 'unhealthy', 'warming-timeout', 'evicted', 'ttl', 'scale-down'];

function randomInput(seed: number): PlanInput {
  const g = gen(seed);
  const spec = randomSpec(g);
  const pool: InstancePool = {
    apiVersion: API_VERSION,
    kind: POOL_KIND,
    metadata: { name: 'p', namespace: 'ns', uid: 'pool-uid', generation: 1 + g.int(5) },
    spec,
  };
  if (g.chance(0.1)) pool.metadata.deletionTimestamp = new Date(NOW);
  // Thousands of members in one case out of ten: enough to cover them, few enough to stay fast.
  const count = g.chance(0.1) ? 1000 + g.int(2000) : g.pick(0, g.int(30), g.int(300));
  const members = Array.from({ length: count }, (_, i) => randomMember(g, i));
  const failureHistory: FailureRecord[] = Array.from({ length: g.pick(0, g.int(8), g.int(100)) }, () => ({
    at: NOW - g.int(600_000),
    reason: g.pick(...REASONS),
  }));
  return {
    pool,
    spec: resolveSpec(pool.spec),
    members,
    now: NOW,
    templateHash: 'h',
    expectationsSatisfied: g.chance(0.8),
    failureHistory,
    recyclesInWindow: g.int(5),
    random: g.rand,
    validationErrors: g.chance(0.1) ? ['spec.template: invalid'] : [],
    createError: g.chance(0.1) ? 'creating members failed (422): invalid' : undefined,
    maxMembersPerPool: g.pick(undefined, 1, g.int(100), 1000, INT32_MAX),
  };
}

const isClaimed = (m: MemberView): boolean =>
  m.phase === 'claimed' || m.stateLabel === 'claimed' || m.claimName !== undefined || m.claimUid !== undefined;

test(`${CASES} random plans are bounded`, () => {
  // Violations are collected and compared once: an expect per delete of thousands would be most of the run time.
  const problems: string[] = [];
  const check = (seed: number, ok: boolean, what: string): void => {
    if (!ok) problems.push(`seed ${seed}: ${what}`);
  };
  for (let seed = 1; seed <= CASES; seed++) {
    const input = randomInput(seed);
    const r = planPool(input);
    const spec = resolveSpec(input.pool.spec);
    const byUid = new Map(input.members.map((m) => [m.uid, m]));

    const creates = r.actions.filter((a) => a.kind === 'create');
    check(seed, creates.length <= 1, `${creates.length} create actions`);
    const created = creates.reduce((n, a) => n + a.count, 0);
    const deletes = r.actions.flatMap((a) => (a.kind === 'delete' ? [a] : []));
    const deletedUids = new Set(deletes.map((d) => d.uid));

    // No delete of a claimed member, nor of anything that is not a member; each at most once.
    for (const d of deletes) {
      const m = byUid.get(d.uid);
      check(seed, m !== undefined, `deletes ${d.pod}, not a member`);
      check(seed, m === undefined || !isClaimed(m), `deletes claimed member ${d.pod} (${d.reason})`);
    }
    check(seed, deletedUids.size === deletes.length, 'deletes a member twice');

    if (created > 0) {
      const live = input.members.filter((m) => m.phase !== 'terminating' && !deletedUids.has(m.uid));
      const unplaced = live.filter((m) => (m.phase === 'warming' || m.phase === 'ready') && !m.nodeName).length;
      const placed = live.filter((m) => Boolean(m.nodeName)).length;
      const ceiling = Math.min(spec.maxSize, memberLimit(input));
      // At most one slow-start round, and only once every earlier member is placed.
      check(seed, created <= Math.max(SLOW_START_INITIAL, placed), `creates ${created} with ${placed} placed`);
      check(seed, created <= MAX_CREATES_PER_PASS, `creates ${created} in one pass`);
      check(seed, unplaced === 0, `creates ${created} while ${unplaced} wait for the scheduler`);
      // Never past maxSize nor the member limit, terminating members included.
      check(seed, input.members.length + created <= ceiling, `creates ${created} beside ${input.members.length} members, ceiling ${ceiling}`);
      const mayCreate =
        input.expectationsSatisfied &&
        !spec.paused &&
        !spec.drain &&
        !input.pool.metadata.deletionTimestamp &&
        (input.validationErrors ?? []).length === 0;
      check(seed, mayCreate, 'creates while paused, draining, deleting, invalid or awaiting expectations');
    }

    const requeues = r.actions.flatMap((a) => (a.kind === 'requeue' ? [a.afterMs] : []));
    check(seed, requeues.length <= 1, `${requeues.length} requeues`);
    for (const ms of requeues) {
      check(seed, Number.isFinite(ms) && ms >= REQUEUE_FLOOR_MS && ms <= MAX_TIMER_DELAY_MS, `requeue after ${ms} ms`);
    }

    for (const field of ['warmingCount', 'readyCount', 'claimedCount', 'erroredCount', 'replicas', 'targetSize'] as const) {
      const v = r.status[field];
      check(seed, Number.isSafeInteger(v) && (v ?? -1) >= 0, `status.${field} is ${v}`);
    }
  }
  expect(problems).toEqual([]);
});
