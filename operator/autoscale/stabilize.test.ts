import { EMPTY_MAX, MAX_WINDOW_MS, maxOf, pushMax, stabilize, type SlidingMax } from './stabilize.js';

/** Feeds [atMs, recommendation] steps through stabilize and returns the targets. */
function run(steps: readonly (readonly [number, number])[], windowMs: number): number[] {
  let history: SlidingMax = EMPTY_MAX;
  return steps.map(([nowMs, recommendation]) => {
    const s = stabilize({ history, nowMs, windowMs, recommendation });
    history = s.history;
    return s.target;
  });
}

describe('stabilize: the target is the highest recommendation within the window', () => {
  test.each<{ name: string; windowMs: number; steps: [number, number][]; want: number[] }>([
    { name: 'up at once', windowMs: 10_000, steps: [[0, 2], [1000, 9]], want: [2, 9] },
    {
      name: 'down only after the window',
      windowMs: 10_000,
      steps: [[0, 9], [1000, 3], [9999, 3], [10_000, 3]],
      want: [9, 9, 9, 3],
    },
    {
      name: 'a lower peak inside the window holds after the first leaves',
      windowMs: 10_000,
      steps: [[0, 9], [5000, 6], [10_000, 2], [15_000, 2]],
      want: [9, 9, 6, 2],
    },
    { name: 'window 0 follows the recommendation', windowMs: 0, steps: [[0, 9], [1, 2]], want: [9, 2] },
    { name: 'a negative window reads as 0', windowMs: -5, steps: [[0, 9], [1, 2]], want: [9, 2] },
    { name: 'a clock stepping back forgets the future', windowMs: 10_000, steps: [[50_000, 9], [1000, 2]], want: [9, 2] },
  ])('$name', ({ windowMs, steps, want }) => {
    expect(run(steps, windowMs)).toEqual(want);
  });

  test('releaseAtMs says when the held maximum leaves the window', () => {
    const first = stabilize({ history: EMPTY_MAX, nowMs: 0, windowMs: 10_000, recommendation: 9 });
    expect(first.releaseAtMs).toBeUndefined();
    const second = stabilize({ history: first.history, nowMs: 4000, windowMs: 10_000, recommendation: 3 });
    expect(second.releaseAtMs).toBe(10_000);
  });

  test('the queue stays short: one sample per distinct value, decreasing', () => {
    let h: SlidingMax = EMPTY_MAX;
    for (let t = 0; t < 100_000; t += 1000) h = pushMax(h, t, 5, MAX_WINDOW_MS);
    expect(h.samples).toHaveLength(1);
    expect(maxOf(h)).toBe(5);
    h = pushMax(h, 100_000, 3, MAX_WINDOW_MS);
    h = pushMax(h, 101_000, 4, MAX_WINDOW_MS);
    expect(h.samples.map((s) => s.value)).toEqual([5, 4]);
  });
});
