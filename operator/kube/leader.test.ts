import { jest } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { fakeKubeConfig } from './fake-http.js';
import { LeaderElector, leadershipStep, type LeaseClient, type LeaderElectorOptions } from './leader.js';

// The apiserver's side of one Lease: optimistic concurrency on resourceVersion, JSON on the wire (so MicroTimes come
// back as strings, as they do from the real API).
class FakeLeaseServer {
  stored: V1Lease | undefined;
  private rv = 0;
  failing = false;
  writes = 0;

  readonly api: LeaseClient = {
    readNamespacedLease: async () => {
      this.maybeFail();
      if (this.stored === undefined) throw status(404, 'NotFound');
      return wire(this.stored);
    },
    createNamespacedLease: async ({ body }) => {
      this.maybeFail();
      if (this.stored !== undefined) throw status(409, 'AlreadyExists');
      return this.store(body);
    },
    replaceNamespacedLease: async ({ body }) => {
      this.maybeFail();
      if (this.stored === undefined) throw status(404, 'NotFound');
      if (body.metadata?.resourceVersion !== this.stored.metadata?.resourceVersion) throw status(409, 'Conflict');
      return this.store(body);
    },
  };

  /** Somebody else writes the lease behind the electors' backs. */
  overwrite(holder: string): void {
    this.store({ ...this.stored, spec: { ...this.stored?.spec, holderIdentity: holder } });
  }

  holder(): string | undefined {
    return this.stored?.spec?.holderIdentity;
  }

  private store(body: V1Lease): V1Lease {
    this.writes++;
    const stored = wire(body);
    stored.metadata = { ...stored.metadata, name: 'op', namespace: 'ns', resourceVersion: String(++this.rv) };
    this.stored = stored;
    return wire(stored);
  }

  private maybeFail(): void {
    if (this.failing) throw status(503, 'ServiceUnavailable');
  }
}

function wire(lease: V1Lease): V1Lease {
  return JSON.parse(JSON.stringify(lease)) as V1Lease;
}

function status(code: number, reason: string): ApiException<string> {
  return new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, code }), {});
}

interface Recorded {
  elector: LeaderElector;
  log: string[];
  signals: AbortSignal[];
  errors: unknown[];
  done: Promise<void>;
}

function elector(server: FakeLeaseServer, identity: string, extra: Partial<LeaderElectorOptions> = {}): Recorded {
  const log: string[] = [];
  const signals: AbortSignal[] = [];
  const errors: unknown[] = [];
  const e = new LeaderElector({
    kc: fakeKubeConfig(),
    coordination: server.api,
    namespace: 'ns',
    name: 'op',
    identity,
    onStartedLeading: (signal) => {
      signals.push(signal);
      log.push('started');
    },
    onStoppedLeading: (reason) => {
      log.push(`stopped:${reason}`);
    },
    onNewLeader: (id) => log.push(`leader:${id}`),
    onError: (err) => errors.push(err),
    ...extra,
  });
  return { elector: e, log, signals, errors, done: e.run() };
}

/** A fake lease server and candidate a, which has created the lease and leads. */
async function aLeading(extra: Partial<LeaderElectorOptions> = {}): Promise<{ server: FakeLeaseServer; a: Recorded }> {
  const server = new FakeLeaseServer();
  const a = elector(server, 'a', extra);
  await jest.advanceTimersByTimeAsync(0);
  return { server, a };
}

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('LeaderElector', () => {
  test('creates the lease, leads, renews every retry period and releases on stop', async () => {
    const { server, a } = await aLeading();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(['leader:a', 'started']);
    expect(server.stored?.spec?.leaseTransitions).toBe(0);
    // The stored times are MicroTimes with 6 fractional digits.
    expect(server.stored?.spec?.renewTime as unknown as string).toMatch(/\.\d{6}Z$/);

    const writes = server.writes;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(server.writes - writes).toBe(5); // one renewal per 2 s, and no reads in between
    expect(a.elector.isLeader()).toBe(true);

    await a.elector.stop({ release: true });
    await a.done;
    expect(a.log).toEqual(['leader:a', 'started', 'stopped:stopped']);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(server.holder()).toBeUndefined();
    expect(server.stored?.spec?.leaseDurationSeconds).toBe(1);
    expect(a.errors).toEqual([]);
  });

  test('only one of two candidates leads; a release hands over at the next retry', async () => {
    const { server, a } = await aLeading();
    const b = elector(server, 'b');
    await jest.advanceTimersByTimeAsync(20_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.log).toEqual(['leader:a']);
    expect(b.elector.leaderIdentity()).toBe('a');

    await a.elector.stop();
    await jest.advanceTimersByTimeAsync(2_400); // one candidate retry period, jitter included
    expect(b.elector.isLeader()).toBe(true);
    expect(b.log).toEqual(['leader:a', 'leader:b', 'started']);
    expect(server.stored?.spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  test('candidates racing to create: one wins, the 409 is not an error', async () => {
    const server = new FakeLeaseServer();
    const a = elector(server, 'a');
    const b = elector(server, 'b');
    await jest.advanceTimersByTimeAsync(5_000);
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await a.elector.stop();
    await b.elector.stop();
  });

  test('a crashed leader (no release) is replaced once its lease has not changed for the lease duration', async () => {
    const { server, a } = await aLeading();
    const b = elector(server, 'b');
    await jest.advanceTimersByTimeAsync(5_000);
    await a.elector.stop({ release: false });
    expect(server.holder()).toBe('a');

    await jest.advanceTimersByTimeAsync(12_000);
    expect(b.elector.isLeader()).toBe(false); // less than 15 s since b last saw the lease change
    await jest.advanceTimersByTimeAsync(6_000);
    expect(b.elector.isLeader()).toBe(true);
    await b.elector.stop();
  });

  test('a leader that cannot renew steps down after the renew deadline and leads again once it can', async () => {
    const { server, a } = await aLeading();
    server.failing = true;
    await jest.advanceTimersByTimeAsync(8_000);
    expect(a.elector.isLeader()).toBe(true); // still within the 10 s deadline
    await jest.advanceTimersByTimeAsync(4_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['leader:a', 'started', 'stopped:unreachable']);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.errors.length).toBeGreaterThan(0);

    server.failing = false;
    await jest.advanceTimersByTimeAsync(2_400);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(['leader:a', 'started', 'stopped:unreachable', 'started']);
    expect(a.signals[1]?.aborted).toBe(false);
    await a.elector.stop();
  });

  test('stop() called from onStoppedLeading ends run() without waiting out a retry period', async () => {
    const server = new FakeLeaseServer();
    const ref: { self?: LeaderElector } = {};
    const a = elector(server, 'a', {
      onStoppedLeading: () => {
        void ref.self?.stop();
      },
    });
    ref.self = a.elector;
    let ended = false;
    void a.done.then(() => (ended = true));
    await jest.advanceTimersByTimeAsync(0);
    server.failing = true;
    await jest.advanceTimersByTimeAsync(12_000);
    expect(a.elector.isLeader()).toBe(false);
    await jest.advanceTimersByTimeAsync(0);
    expect(ended).toBe(true);
  });

  test('a leader that finds someone else holding the lease steps down at once', async () => {
    const { server, a } = await aLeading();
    server.overwrite('intruder');
    // The renewal hits a 409, the next round reads the lease and sees the other holder.
    await jest.advanceTimersByTimeAsync(4_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['leader:a', 'started', 'leader:intruder', 'stopped:taken']);
    expect(a.errors).toEqual([]);
    await a.elector.stop();
    expect(server.holder()).toBe('intruder'); // not ours to release
  });

  test('an outage suspends the leader; another holder seen once it answers again deposes it', async () => {
    const until: number[] = [];
    const { server, a } = await aLeading({ onRenewed: (ms) => until.push(ms) });
    // Each renewal bounds the fence at the time the request started + renewDeadline.
    expect(until).toEqual([Date.now() + 10_000]);
    server.failing = true;
    await jest.advanceTimersByTimeAsync(12_000);
    expect(a.log).toEqual(['leader:a', 'started', 'stopped:unreachable']);
    // Meanwhile somebody else got the lease (the outage was ours alone).
    server.overwrite('b');
    server.failing = false;
    await jest.advanceTimersByTimeAsync(2_400);
    expect(a.log).toEqual(['leader:a', 'started', 'stopped:unreachable', 'leader:b', 'stopped:taken']);
    expect(a.elector.isLeader()).toBe(false);
    await a.elector.stop();
  });

  test('stop before run() resolves at once; stop during a campaign ends it', async () => {
    const server = new FakeLeaseServer();
    server.failing = true;
    const a = elector(server, 'a');
    await jest.advanceTimersByTimeAsync(3_000);
    await a.elector.stop();
    await a.done;
    expect(a.log).toEqual([]);
    const idle = new LeaderElector({
      kc: fakeKubeConfig(),
      coordination: server.api,
      namespace: 'ns',
      name: 'op',
      identity: 'x',
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    await idle.stop();
  });

  test('rejects timings that would let two leaders act at once', () => {
    const base = {
      kc: fakeKubeConfig(),
      coordination: new FakeLeaseServer().api,
      namespace: 'ns',
      name: 'op',
      identity: 'a',
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    expect(() => new LeaderElector({ ...base, leaseDurationSeconds: 10, renewDeadlineSeconds: 10 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ ...base, renewDeadlineSeconds: 2, retryPeriodSeconds: 2 })).toThrow(/retryPeriod/);
  });
});

describe('leadershipStep', () => {
  const deadline = 10_000;
  test.each([
    { name: 'a candidate acquires', leading: false, suspended: false, outcome: 'held', msSinceRenew: 0, want: 'start' },
    { name: 'a leader renews', leading: true, suspended: false, outcome: 'held', msSinceRenew: 0, want: 'none' },
    { name: 'a suspended leader gets the lease back', leading: false, suspended: true, outcome: 'held', msSinceRenew: 30_000, want: 'start' },
    { name: 'a standby sees the holder', leading: false, suspended: false, outcome: 'taken', msSinceRenew: 0, want: 'none' },
    { name: 'a leader sees another holder', leading: true, suspended: false, outcome: 'taken', msSinceRenew: 2_000, want: 'lose' },
    { name: 'a suspended leader sees another holder', leading: false, suspended: true, outcome: 'taken', msSinceRenew: 30_000, want: 'lose' },
    { name: 'a failed renewal within the deadline', leading: true, suspended: false, outcome: 'failed', msSinceRenew: 9_999, want: 'none' },
    { name: 'failed renewals past the deadline (outage)', leading: true, suspended: false, outcome: 'failed', msSinceRenew: 10_000, want: 'suspend' },
    { name: 'still unreachable while suspended', leading: false, suspended: true, outcome: 'failed', msSinceRenew: 60_000, want: 'none' },
    { name: 'a candidate that cannot reach the API server', leading: false, suspended: false, outcome: 'failed', msSinceRenew: 60_000, want: 'none' },
  ] as const)('$name: $want', ({ leading, suspended, outcome, msSinceRenew, want }) => {
    expect(leadershipStep({ leading, suspended, outcome, msSinceRenew, renewDeadlineMs: deadline })).toBe(want);
  });
});
