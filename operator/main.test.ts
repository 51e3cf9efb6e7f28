import { MAX_MEMBER_LIMIT, parseBurst, parseMemberLimit, parseQps, parseRefillYield, parseShards } from './main.js';

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

describe('--kube-api-qps and --kube-api-burst', () => {
  test.each([
    { given: '50', qps: 50 },
    { given: '0.5', qps: 0.5 },
    { given: '10000', qps: 10000 },
  ])('qps accepts $given', ({ given, qps }) => {
    expect(parseQps(given)).toBe(qps);
  });
  test.each([{ given: '0' }, { given: '-1' }, { given: '1e3' }, { given: 'NaN' }, { given: '' }, { given: '10001' }])('qps refuses $given, naming the flag', ({ given }) => {
    expect(() => parseQps(given)).toThrow(/^--kube-api-qps: /);
  });
  test.each([{ given: '1', burst: 1 }, { given: '100', burst: 100 }])('burst accepts $given', ({ given, burst }) => {
    expect(parseBurst(given)).toBe(burst);
  });
  test.each([{ given: '0' }, { given: '2.5' }, { given: '' }, { given: '10001' }])('burst refuses $given, naming the flag', ({ given }) => {
    expect(() => parseBurst(given)).toThrow(/^--kube-api-burst: /);
  });
});

describe('--shards', () => {
  test.each([{ given: '1', shards: 1 }, { given: ' 6 ', shards: 6 }, { given: '256', shards: 256 }])('accepts $given', ({ given, shards }) => {
    expect(parseShards(given)).toBe(shards);
  });
  test.each([{ given: '0' }, { given: '-2' }, { given: '2.5' }, { given: '1e2' }, { given: '' }, { given: '257' }])('refuses $given, naming the flag', ({ given }) => {
    expect(() => parseShards(given)).toThrow(/^--shards: want a whole number from 1 to 256/);
  });
});

describe('--refill-yield-seconds', () => {
  test.each([{ given: '2', ms: 2000 }, { given: '0', ms: 0 }, { given: '0.5', ms: 500 }, { given: ' 30 ', ms: 30_000 }])('accepts $given', ({ given, ms }) => {
    expect(parseRefillYield(given)).toBe(ms);
  });
  test.each([{ given: '-1' }, { given: '30.5' }, { given: '1e2' }, { given: '2s' }, { given: '' }, { given: 'Infinity' }])('refuses $given, naming the flag', ({ given }) => {
    expect(() => parseRefillYield(given)).toThrow(/^--refill-yield-seconds: want a number from 0 to 30/);
  });
});
