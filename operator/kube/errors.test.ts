import { ApiException } from '@kubernetes/client-node';
import {
  describeError,
  errorMessage,
  isAlreadyExists,
  isConflict,
  isNotFound,
  MAX_ERROR_DESCRIPTION,
  statusCode,
  statusReason,
} from './errors.js';

function apiError(code: number, status?: object | string): ApiException<unknown> {
  const body = typeof status === 'object' ? JSON.stringify(status) : status;
  return new ApiException(code, 'Unknown API Status Code!', body, {});
}

const conflict = apiError(409, {
  kind: 'Status',
  reason: 'Conflict',
  message: 'Operation cannot be fulfilled on pods "m1": the object has been modified',
  code: 409,
});
const exists = apiError(409, { kind: 'Status', reason: 'AlreadyExists', message: 'leases "x" already exists', code: 409 });
const notFound = apiError(404, { kind: 'Status', reason: 'NotFound', code: 404 });
const bare409 = apiError(409, 'not json');

describe('statusCode', () => {
  test.each<{ name: string; err: unknown; want: number | undefined }>([
    { name: 'ApiException', err: conflict, want: 409 },
    { name: 'ApiException without body', err: new ApiException(401, 'Unauthorized', undefined, {}), want: 401 },
    { name: 'watch error with statusCode', err: Object.assign(new Error('Gone'), { statusCode: 410 }), want: 410 },
    { name: 'duck-typed code', err: { code: 503 }, want: 503 },
    { name: 'node system error', err: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), want: undefined },
    { name: 'out-of-range number', err: { code: 7 }, want: undefined },
    { name: 'plain error', err: new Error('x'), want: undefined },
    { name: 'string', err: 'boom', want: undefined },
    { name: 'undefined', err: undefined, want: undefined },
    { name: 'null', err: null, want: undefined },
  ])('$name', ({ err, want }) => {
    expect(statusCode(err)).toBe(want);
  });
});

describe('409 and 404 predicates', () => {
  test.each<{ name: string; err: unknown; conflict: boolean; alreadyExists: boolean; notFound: boolean }>([
    { name: 'Conflict', err: conflict, conflict: true, alreadyExists: false, notFound: false },
    { name: 'AlreadyExists', err: exists, conflict: false, alreadyExists: true, notFound: false },
    { name: '409 with unreadable body', err: bare409, conflict: true, alreadyExists: true, notFound: false },
    { name: '409 with object body', err: { code: 409, body: { reason: 'AlreadyExists' } }, conflict: false, alreadyExists: true, notFound: false },
    { name: 'NotFound', err: notFound, conflict: false, alreadyExists: false, notFound: true },
    { name: 'not an API error', err: new Error('x'), conflict: false, alreadyExists: false, notFound: false },
  ])('$name', (row) => {
    expect(isConflict(row.err)).toBe(row.conflict);
    expect(isAlreadyExists(row.err)).toBe(row.alreadyExists);
    expect(isNotFound(row.err)).toBe(row.notFound);
  });
});

describe('statusReason and errorMessage', () => {
  test('read the Status from the body', () => {
    expect(statusReason(conflict)).toBe('Conflict');
    expect(statusReason(bare409)).toBeUndefined();
    expect(errorMessage(exists)).toBe('HTTP 409: leases "x" already exists');
    expect(errorMessage(notFound)).toBe('HTTP 404');
    expect(errorMessage(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorMessage('plain')).toBe('plain');
  });
});

describe('describeError', () => {
  // What client-node throws for a 429: its message is the whole response, headers included.
  const throttled = new ApiException(
    429,
    'Unknown API Status Code!',
    JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'TooManyRequests', message: 'too many requests, retry later', code: 429 }),
    { 'retry-after': '1', 'content-type': 'application/json', 'audit-id': 'b3a0', 'x-kubernetes-pf-flowschema-uid': 'f1' },
  );

  test.each<{ name: string; err: unknown; want: string }>([
    { name: 'a 429 is code, reason and message', err: throttled, want: 'HTTP 429 TooManyRequests: too many requests, retry later' },
    { name: 'Conflict', err: conflict, want: 'HTTP 409 Conflict: Operation cannot be fulfilled on pods "m1": the object has been modified' },
    { name: 'Status without message', err: notFound, want: 'HTTP 404 NotFound' },
    { name: 'body not JSON', err: bare409, want: 'HTTP 409' },
    { name: 'watch error with a status text', err: Object.assign(new Error('Gone'), { statusCode: 410 }), want: 'HTTP 410: Gone' },
    {
      name: 'fetch failure names its cause',
      err: new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) }),
      want: 'TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:6443',
    },
    { name: 'plain error', err: new Error('socket hang up'), want: 'socket hang up' },
    { name: 'multi-line message', err: new Error('first\n  second\r\nthird'), want: 'first second third' },
    { name: 'string', err: 'boom', want: 'boom' },
    { name: 'object', err: { a: 1 }, want: '{"a":1}' },
    { name: 'undefined', err: undefined, want: 'undefined' },
  ])('$name', ({ err, want }) => {
    expect(describeError(err)).toBe(want);
  });

  test('the line never carries the headers and is bounded', () => {
    expect(String(throttled)).toMatch(/Headers:.*retry-after/s); // what the logs printed before
    expect(describeError(throttled)).not.toMatch(/Headers|retry-after|\n/);
    const huge = new Error('x'.repeat(10_000));
    expect(describeError(huge)).toHaveLength(MAX_ERROR_DESCRIPTION);
  });

  test('a cycle of causes ends', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(describeError(a)).toBe('a: b: a: b');
  });
});
