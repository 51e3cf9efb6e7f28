import type { ConditionUpdate } from './conditions.js';
import { getCondition, isTrue, setCondition } from './conditions.js';
import type { Condition } from './types.js';

const t0 = '2026-01-01T00:00:00Z';
const now = new Date('2026-01-01T00:05:00.123Z');
const t1 = '2026-01-01T00:05:00Z';

const ready: Condition = { type: 'Ready', status: 'False', reason: 'Warming', message: '1/3 ready', lastTransitionTime: t0, observedGeneration: 1 };
const stalled: Condition = { type: 'Stalled', status: 'False', reason: 'Healthy', message: '', lastTransitionTime: t0 };

describe('setCondition', () => {
  test.each<{ name: string; conditions: Condition[] | undefined; update: ConditionUpdate; want: Condition[] }>([
    {
      name: 'adds to no conditions',
      conditions: undefined,
      update: { type: 'Ready', status: 'True', reason: 'AllReady', message: '' },
      want: [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '', lastTransitionTime: t1 }],
    },
    {
      name: 'appends a new type after the others',
      conditions: [ready],
      update: { type: 'Reconciling', status: 'True', reason: 'Scaling', message: 'creating 2' },
      want: [ready, { type: 'Reconciling', status: 'True', reason: 'Scaling', message: 'creating 2', lastTransitionTime: t1 }],
    },
    {
      name: 'keeps the transition time when only reason, message or generation change',
      conditions: [ready, stalled],
      update: { type: 'Ready', status: 'False', reason: 'Warming', message: '2/3 ready', observedGeneration: 2 },
      want: [{ ...ready, message: '2/3 ready', observedGeneration: 2 }, stalled],
    },
    {
      name: 'moves the transition time when the status changes, in place',
      conditions: [ready, stalled],
      update: { type: 'Ready', status: 'True', reason: 'AllReady', message: '3/3 ready', observedGeneration: 1 },
      want: [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '3/3 ready', observedGeneration: 1, lastTransitionTime: t1 }, stalled],
    },
    {
      name: 'leaves an identical condition as it was',
      conditions: [ready],
      update: { type: 'Ready', status: 'False', reason: 'Warming', message: '1/3 ready', observedGeneration: 1 },
      want: [ready],
    },
  ])('$name', ({ conditions, update, want }) => {
    const before = structuredClone(conditions);
    expect(setCondition(conditions, update, now)).toEqual(want);
    expect(conditions).toEqual(before);
  });
});

describe('getCondition and isTrue', () => {
  const conditions: Condition[] = [ready, { ...stalled, status: 'True' }, { ...stalled, type: 'Odd', status: 'Unknown' }];
  test.each<{ name: string; list: Condition[] | undefined; type: string; want: Condition | undefined; isTrue: boolean }>([
    { name: 'a False condition', list: conditions, type: 'Ready', want: ready, isTrue: false },
    { name: 'a True condition', list: conditions, type: 'Stalled', want: { ...stalled, status: 'True' }, isTrue: true },
    { name: 'an Unknown condition', list: conditions, type: 'Odd', want: { ...stalled, type: 'Odd', status: 'Unknown' }, isTrue: false },
    { name: 'a type not in the list', list: conditions, type: 'Missing', want: undefined, isTrue: false },
    { name: 'no conditions at all', list: undefined, type: 'Ready', want: undefined, isTrue: false },
  ])('$name', ({ list, type, want, isTrue: truth }) => {
    expect(getCondition(list, type)).toEqual(want);
    expect(isTrue(list, type)).toBe(truth);
  });
});
