import {
  BIND_BACKOFF_MAX_MS,
  BIND_FAILURE_MESSAGE_MAX,
  bindBackoffMs,
  bindRetryAt,
  boundedMessage,
  isFinalRefusal,
  recordBindFailure,
} from './bind-failure.js';

describe('isFinalRefusal: which refusals a retry cannot fix', () => {
  it.each<{ code: number | undefined; final: boolean; why: string }>([
    { code: 422, final: true, why: 'invalid: annotations over 256 KiB, a bad label value' },
    { code: 400, final: true, why: 'a malformed patch' },
    { code: 403, final: true, why: 'forbidden (an admission policy, RBAC)' },
    { code: 413, final: true, why: 'request entity too large' },
    { code: 404, final: false, why: 'the member went away: another will do' },
    { code: 408, final: false, why: 'a timeout' },
    { code: 409, final: false, why: 'a lost race' },
    { code: 429, final: false, why: 'throttled' },
    { code: 500, final: false, why: 'a server error' },
    { code: 503, final: false, why: 'unavailable' },
    { code: undefined, final: false, why: 'a network error' },
  ])('$code: $why', ({ code, final }) => {
    expect(isFinalRefusal(code)).toBe(final);
  });
});

describe('bindBackoffMs: per claim, doubling, capped', () => {
  it.each<{ failures: number; ms: number }>([
    { failures: 0, ms: 0 },
    { failures: -1, ms: 0 },
    { failures: Number.NaN, ms: 0 },
    { failures: 1, ms: 1_000 },
    { failures: 2, ms: 2_000 },
    { failures: 5, ms: 16_000 },
    { failures: 9, ms: 256_000 },
    { failures: 10, ms: BIND_BACKOFF_MAX_MS },
    { failures: 2_000, ms: BIND_BACKOFF_MAX_MS },
    { failures: Number.POSITIVE_INFINITY, ms: BIND_BACKOFF_MAX_MS },
  ])('$failures failures: $ms ms', ({ failures, ms }) => {
    expect(bindBackoffMs(failures)).toBe(ms);
  });
});

describe('recordBindFailure', () => {
  it('counts failures in a row, bounds the message and says whether the claim must fail', () => {
    const first = recordBindFailure(undefined, { code: 500, message: 'HTTP 500: boom' }, 1_000);
    expect(first).toEqual({ failures: 1, lastAt: 1_000, message: 'HTTP 500: boom', final: false });
    expect(bindRetryAt(first)).toBe(2_000);
    const second = recordBindFailure(first, { code: 503, message: 'HTTP 503' }, 2_500);
    expect(second).toEqual({ failures: 2, lastAt: 2_500, message: 'HTTP 503', final: false });
    expect(bindRetryAt(second)).toBe(4_500);
    const huge = recordBindFailure(second, { code: 422, message: `HTTP 422: ${'x'.repeat(300 * 1024)}` }, 5_000);
    expect(huge.final).toBe(true);
    expect(huge.message).toHaveLength(BIND_FAILURE_MESSAGE_MAX);
    expect(huge.message.endsWith('...')).toBe(true);
    expect(bindRetryAt(huge)).toBe(Number.POSITIVE_INFINITY);
  });

  it.each<{ message: string; max: number; out: string }>([
    { message: 'short', max: 10, out: 'short' },
    { message: '0123456789', max: 10, out: '0123456789' },
    { message: '0123456789a', max: 10, out: '0123456...' },
    { message: 'abc', max: 2, out: '...' },
  ])('boundedMessage($message, $max)', ({ message, max, out }) => {
    expect(boundedMessage(message, max)).toBe(out);
  });
});
