import { ApiException } from '@kubernetes/client-node';
import { errorMessage, isAlreadyExists, isConflict, isNotFound, statusCode, statusReason } from './errors.js';

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
  test.each<[string, unknown, number | undefined]>([
    ['ApiException', conflict, 409],
    ['ApiException without body', new ApiException(401, 'Unauthorized', undefined, {}), 401],
    ['watch error with statusCode', Object.assign(new Error('Gone'), { statusCode: 410 }), 410],
    ['duck-typed code', { code: 503 }, 503],
    ['node system error', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), undefined],
    ['out-of-range number', { code: 7 }, undefined],
    ['plain error', new Error('x'), undefined],
    ['string', 'boom', undefined],
    ['undefined', undefined, undefined],
    ['null', null, undefined],
  ])('%s', (_name, err, want) => {
    expect(statusCode(err)).toBe(want);
  });
});

describe('409 and 404 predicates', () => {
  test.each<[string, unknown, boolean, boolean, boolean]>([
    // name, err, isConflict, isAlreadyExists, isNotFound
    ['Conflict', conflict, true, false, false],
    ['AlreadyExists', exists, false, true, false],
    ['409 with unreadable body', bare409, true, true, false],
    ['409 with object body', { code: 409, body: { reason: 'AlreadyExists' } }, false, true, false],
    ['NotFound', notFound, false, false, true],
    ['not an API error', new Error('x'), false, false, false],
  ])('%s', (_name, err, conflictWant, existsWant, notFoundWant) => {
    expect(isConflict(err)).toBe(conflictWant);
    expect(isAlreadyExists(err)).toBe(existsWant);
    expect(isNotFound(err)).toBe(notFoundWant);
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
