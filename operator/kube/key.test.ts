import { joinKey, splitKey } from './key.js';

describe('object keys', () => {
  const cases: { name: string; key: string; want: { namespace: string; name: string } }[] = [
    { name: 'namespace and name', key: 'ci/runners', want: { namespace: 'ci', name: 'runners' } },
    { name: 'no namespace', key: 'runners', want: { namespace: '', name: 'runners' } },
    { name: 'empty namespace', key: '/runners', want: { namespace: '', name: 'runners' } },
  ];
  it.each(cases)('$name', ({ key, want }) => {
    expect(splitKey(key)).toEqual(want);
  });
  it('split undoes join', () => {
    expect(splitKey(joinKey('ci', 'runners'))).toEqual({ namespace: 'ci', name: 'runners' });
  });
});
