import { clampDelayMs, MAX_TIMER_DELAY_MS } from './timers.js';

test.each([
  { name: 'a small delay is kept', ms: 250, want: 250 },
  { name: 'zero stays zero', ms: 0, want: 0 },
  { name: 'negative is now', ms: -5, want: 0 },
  { name: '30 days sleeps an hour', ms: 2_592_000_000, want: MAX_TIMER_DELAY_MS },
  { name: 'just past setTimeout limit', ms: 2 ** 31, want: MAX_TIMER_DELAY_MS },
  { name: 'infinity sleeps an hour', ms: Infinity, want: MAX_TIMER_DELAY_MS },
  { name: 'NaN sleeps an hour', ms: NaN, want: MAX_TIMER_DELAY_MS },
])('$name', ({ ms, want }) => {
  expect(clampDelayMs(ms)).toBe(want);
});
