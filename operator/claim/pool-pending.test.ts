import { POOL_PENDING_MIN_INTERVAL_MS, PoolPendingWrites, decidePendingWrite, type PendingWriteDecision, type PendingWriteInput } from './pool-pending.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');

describe('decidePendingWrite: pendingClaims written at most every interval, never twice the same', () => {
  it.each<{ name: string; input: PendingWriteInput; want: PendingWriteDecision }>([
    { name: 'first count of a pool: written', input: { cached: 0, value: 3, last: undefined, now: NOW }, want: { kind: 'write' } },
    { name: 'no pool: nothing to write to', input: { cached: undefined, value: 3, last: undefined, now: NOW }, want: { kind: 'skip' } },
    { name: 'the cache shows it already', input: { cached: 3, value: 3, last: undefined, now: NOW }, want: { kind: 'skip' } },
    {
      name: 'we wrote it and the cache does not show it yet',
      input: { cached: 0, value: 3, last: { value: 3, at: NOW - 10 }, now: NOW },
      want: { kind: 'skip' },
    },
    {
      name: 'a new count too soon after the last write: plan again when the interval is over',
      input: { cached: 3, value: 5, last: { value: 3, at: NOW - 500 }, now: NOW },
      want: { kind: 'later', afterMs: POOL_PENDING_MIN_INTERVAL_MS - 500 },
    },
    {
      name: 'a new count once the interval is over: written',
      input: { cached: 3, value: 5, last: { value: 3, at: NOW - POOL_PENDING_MIN_INTERVAL_MS }, now: NOW },
      want: { kind: 'write' },
    },
  ])('$name', ({ input, want }) => {
    expect(decidePendingWrite(input)).toEqual(want);
  });
});

describe('PoolPendingWrites', () => {
  it('remembers the last write per pool key', () => {
    const writes = new PoolPendingWrites();
    writes.wrote('ns/a', 3, NOW);
    expect(writes.decide('ns/a', 0, 3, NOW + 1)).toEqual({ kind: 'skip' });
    expect(writes.decide('ns/a', 3, 4, NOW + 1)).toEqual({ kind: 'later', afterMs: POOL_PENDING_MIN_INTERVAL_MS - 1 });
    expect(writes.decide('ns/b', 0, 3, NOW + 1)).toEqual({ kind: 'write' });
  });
});
