import { MAX_MEMBER_LIMIT, parseMemberLimit } from './main.js';

describe('--max-members-per-pool', () => {
  test.each<{ given: string; limit: number }>([
    { given: '1000', limit: 1000 },
    { given: '1', limit: 1 },
    { given: ' 50 ', limit: 50 },
    { given: String(MAX_MEMBER_LIMIT), limit: MAX_MEMBER_LIMIT },
  ])('accepts $given', ({ given, limit }) => {
    expect(parseMemberLimit(given)).toBe(limit);
  });

  test.each<{ given: string }>([{ given: '0' }, { given: '-5' }, { given: '1e3' }, { given: '2.5' }, { given: '' }, { given: 'lots' }, { given: '1000001' }])(
    'refuses $given, naming the flag',
    ({ given }) => {
      expect(() => parseMemberLimit(given)).toThrow(/^--max-members-per-pool: want a whole number from 1 to 1000000/);
    },
  );
});
