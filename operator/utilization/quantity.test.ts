import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  test.each([
    // cpu, in cores
    { input: '250m', value: 0.25 },
    { input: '1', value: 1 },
    { input: '2.5', value: 2.5 },
    { input: '250000000n', value: 0.25 },
    { input: '100u', value: 0.0001 },
    { input: '0', value: 0 },
    // memory, in bytes
    { input: '256Mi', value: 256 * 2 ** 20 },
    { input: '1Gi', value: 2 ** 30 },
    { input: '1000k', value: 1e6 },
    { input: '123456', value: 123456 },
    { input: '1e3', value: 1000 },
    { input: '1E3', value: 1000 },
    { input: '5e-1', value: 0.5 },
    { input: '1M', value: 1e6 },
    { input: '2E', value: 2e18 },
    { input: '1Ki', value: 1024 },
    { input: '.5Gi', value: 2 ** 29 },
    { input: ' 64Mi ', value: 64 * 2 ** 20 },
  ])('$input = $value', ({ input, value }) => {
    expect(parseQuantity(input)).toBeCloseTo(value, 12);
  });

  test.each(['', 'abc', '1.2.3', '10 Mi', 'Mi', '1KiB', '1mi', '--1', '1e'])('%j is not a quantity', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});
