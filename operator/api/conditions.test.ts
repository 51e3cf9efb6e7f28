import type { ConditionUpdate } from './conditions.js';
import { getCondition, isTrue, setCondition } from './conditions.js';
import type { Condition } from './types.js';

const t0 = '2026-01-01T00:00:00Z';
const now = new Date('2026-01-01T00:05:00.123Z');
const t1 = '2026-01-01T00:05:00Z';

const ready: Condition = { type: 'Ready', status: 'False', reason: 'Warming', message: '1/3 ready', lastTransitionTime: t0, observedGeneration: 1 };
const stalled: Condition = { type: 'Stalled', status: 'False', reason: 'Healthy', message: '', lastTransitionTime: t0 };

describe('setCondition', () => {
  test.each<[string, Condition[] | undefined, ConditionUpdate, Condition[]]>([
    [
      'adds to no conditions',
      undefined,
      { type: 'Ready', status: 'True', reason: 'AllReady', message: '' },
      [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '', lastTransitionTime: t1 }],
    ],
    [
      'appends a new type after the others',
      [ready],
      { type: 'Reconciling', status: 'True', reason: 'Scaling', message: 'creating 2' },
      [ready, { type: 'Reconciling', status: 'True', reason: 'Scaling', message: 'creating 2', lastTransitionTime: t1 }],
    ],
    [
      'keeps the transition time when only reason, message or generation change',
      [ready, stalled],
      { type: 'Ready', status: 'False', reason: 'Warming', message: '2/3 ready', observedGeneration: 2 },
      [{ ...ready, message: '2/3 ready', observedGeneration: 2 }, stalled],
    ],
    [
      'moves the transition time when the status changes, in place',
      [ready, stalled],
      { type: 'Ready', status: 'True', reason: 'AllReady', message: '3/3 ready', observedGeneration: 1 },
      [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '3/3 ready', observedGeneration: 1, lastTransitionTime: t1 }, stalled],
    ],
    [
      'leaves an identical condition as it was',
      [ready],
      { type: 'Ready', status: 'False', reason: 'Warming', message: '1/3 ready', observedGeneration: 1 },
      [ready],
    ],
  ])('%s', (_name, conditions, update, expected) => {
    const before = structuredClone(conditions);
    expect(setCondition(conditions, update, now)).toEqual(expected);
    expect(conditions).toEqual(before);
  });
});

describe('getCondition and isTrue', () => {
  const conditions: Condition[] = [ready, { ...stalled, status: 'True' }, { ...stalled, type: 'Odd', status: 'Unknown' }];
  test.each<[Condition[] | undefined, string, Condition | undefined, boolean]>([
    [conditions, 'Ready', ready, false],
    [conditions, 'Stalled', { ...stalled, status: 'True' }, true],
    [conditions, 'Odd', { ...stalled, type: 'Odd', status: 'Unknown' }, false],
    [conditions, 'Missing', undefined, false],
    [undefined, 'Ready', undefined, false],
  ])('%#: %s', (list, type, condition, truth) => {
    expect(getCondition(list, type)).toEqual(condition);
    expect(isTrue(list, type)).toBe(truth);
  });
});
