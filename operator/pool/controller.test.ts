import { slowStartBatches } from './controller.js';

describe('slowStartBatches', () => {
  test.each<{ count: number; initial: number | undefined; expected: number[] }>([
    { count: 0, initial: undefined, expected: [] },
    { count: 1, initial: undefined, expected: [1] },
    { count: 7, initial: undefined, expected: [1, 2, 4] },
    { count: 10, initial: undefined, expected: [1, 2, 4, 3] },
    { count: 100, initial: undefined, expected: [1, 2, 4, 8, 16, 32, 37] },
    { count: 10, initial: 4, expected: [4, 6] },
  ])('$count from $initial', ({ count, initial, expected }) => {
    expect(slowStartBatches(count, initial)).toEqual(expected);
  });
});
