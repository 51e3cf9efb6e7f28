import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  test.each([
    // cpu, in cores
    ['250m', 0.25],
    ['1', 1],
    ['2.5', 2.5],
    ['250000000n', 0.25],
    ['100u', 0.0001],
    ['0', 0],
    // memory, in bytes
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1000k', 1e6],
    ['123456', 123456],
    ['1e3', 1000],
    ['1E3', 1000],
    ['5e-1', 0.5],
    ['1M', 1e6],
    ['2E', 2e18],
    ['1Ki', 1024],
    ['.5Gi', 2 ** 29],
    [' 64Mi ', 64 * 2 ** 20],
  ])('%s = %d', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected, 12);
  });

  test.each(['', 'abc', '1.2.3', '10 Mi', 'Mi', '1KiB', '1mi', '--1', '1e'])('%j is not a quantity', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});
