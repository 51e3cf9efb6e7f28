import { guardedWrite, PlanAgain, type OnNotFound } from './guarded.js';

const apiError = (code: number, reason: string): object => ({ code, body: JSON.stringify({ kind: 'Status', code, reason }) });

describe('guardedWrite', () => {
  const cases: { name: string; error: unknown; onNotFound: OnNotFound; want: 'plan-again' | 'undefined' | 'rethrown' }[] = [
    { name: '409 Conflict plans again', error: apiError(409, 'Conflict'), onNotFound: 'throw', want: 'plan-again' },
    { name: '409 AlreadyExists is not a lost precondition', error: apiError(409, 'AlreadyExists'), onNotFound: 'ignore', want: 'rethrown' },
    { name: '404 plans again when asked', error: apiError(404, 'NotFound'), onNotFound: 'plan-again', want: 'plan-again' },
    { name: '404 is ignored when asked', error: apiError(404, 'NotFound'), onNotFound: 'ignore', want: 'undefined' },
    { name: '404 is the caller’s by default', error: apiError(404, 'NotFound'), onNotFound: 'throw', want: 'rethrown' },
    { name: '500 is the caller’s', error: apiError(500, 'InternalError'), onNotFound: 'ignore', want: 'rethrown' },
    { name: 'a network error is the caller’s', error: new Error('ECONNRESET'), onNotFound: 'plan-again', want: 'rethrown' },
  ];
  it.each(cases)('$name', async ({ error, onNotFound, want }) => {
    const outcome = await guardedWrite(() => Promise.reject(error as Error), onNotFound).then(
      (v) => (v === undefined ? 'undefined' : 'value'),
      (err: unknown) => (err instanceof PlanAgain ? 'plan-again' : err === error ? 'rethrown' : 'other'),
    );
    expect(outcome).toBe(want);
  });
  it('returns what the write returned', async () => {
    await expect(guardedWrite(() => Promise.resolve(7), 'throw')).resolves.toBe(7);
  });
});
