import { proportionalSize } from './proportional.js';

describe('proportionalSize: ceil(percent x claimed / 100)', () => {
  test.each<{ name: string; claimed: number; percent: number; want: number }>([
    { name: '50% of 10', claimed: 10, percent: 50, want: 5 },
    { name: '50% of 20', claimed: 20, percent: 50, want: 10 },
    { name: '50% of 11 rounds up', claimed: 11, percent: 50, want: 6 },
    { name: '20% of 1 rounds up to 1', claimed: 1, percent: 20, want: 1 },
    { name: 'none claimed', claimed: 0, percent: 50, want: 0 },
    // 0.07 x 100 = 7.000000000000001 in floats, whose ceiling would be 8.
    { name: 'exact at a multiple (7% of 100)', claimed: 100, percent: 7, want: 7 },
    { name: 'past 1000% reads as 1000%', claimed: 3, percent: 5000, want: 30 },
    { name: 'a negative count reads as 0', claimed: -4, percent: 50, want: 0 },
    { name: 'NaN reads as 0', claimed: Number.NaN, percent: 50, want: 0 },
  ])('$name', ({ claimed, percent, want }) => {
    expect(proportionalSize(claimed, percent)).toBe(want);
  });
});
