// The strict cron matcher and the schedule windows, against fixed instants in several zones (daylight saving
// included). Times are given in UTC; each case says what wall clock they are in the zone.
import { CRON_PATTERN } from '../api/cron-pattern.js';
import { cronMatches, parseCron, validTimeZone, wallTime, windowStart, type Cron } from './cron.js';
import { scheduleFloor } from './schedule.js';

const utc = (iso: string): number => Date.parse(iso);

function cron(expr: string): Cron {
  const p = parseCron(expr);
  if (!p.ok) throw new Error(p.error);
  return p.cron;
}

describe('parseCron: five strict fields', () => {
  test.each<{ name: string; expr: string; ok: boolean; error?: string }>([
    { name: 'every minute', expr: '* * * * *', ok: true },
    { name: 'weekdays 9 to 17 every 15 minutes', expr: '*/15 9-17 * * 1-5', ok: true },
    { name: 'lists and steps', expr: '0,30 8-20/2 1,15 1-12 0,6', ok: true },
    { name: 'Sunday as 7', expr: '0 0 * * 7', ok: true },
    { name: 'a/step runs to the end of the field', expr: '5/20 * * * *', ok: true },
    { name: 'six fields', expr: '0 * * * * *', ok: false },
    { name: 'four fields', expr: '0 * * *', ok: false },
    { name: 'minute 60', expr: '60 * * * *', ok: false },
    { name: 'hour 24', expr: '0 24 * * *', ok: false },
    { name: 'day 0', expr: '0 0 0 * *', ok: false },
    { name: 'month 13', expr: '0 0 1 13 *', ok: false },
    { name: 'weekday 8', expr: '0 0 * * 8', ok: false },
    { name: 'names are not numbers', expr: '0 0 * JAN MON', ok: false },
    { name: 'step 0', expr: '*/0 * * * *', ok: false },
    { name: '@hourly', expr: '@hourly', ok: false },
    { name: 'a leading space', expr: ' * * * * *', ok: false },
    { name: 'empty', expr: '', ok: false },
    { name: 'a reversed range', expr: '0 17-9 * * *', ok: false, error: 'hour: range 17-9 is reversed' },
  ])('$name', ({ expr, ok, error }) => {
    const p = parseCron(expr);
    expect(p.ok).toBe(ok);
    if (error !== undefined && !p.ok) expect(p.error).toBe(error);
    // The CRD's CEL rule uses the same pattern: it refuses exactly what fails the shape (not the reversed range).
    expect(new RegExp(CRON_PATTERN).test(expr)).toBe(ok || error !== undefined);
  });

  test('day-of-month and day-of-week: either when both are restricted, both otherwise', () => {
    const either = cron('0 0 13 * 5'); // the 13th, or a Friday
    const base = { minute: 0, hour: 0, month: 3 };
    expect(cronMatches(either, { ...base, dayOfMonth: 13, dayOfWeek: 2 })).toBe(true);
    expect(cronMatches(either, { ...base, dayOfMonth: 6, dayOfWeek: 5 })).toBe(true);
    expect(cronMatches(either, { ...base, dayOfMonth: 6, dayOfWeek: 2 })).toBe(false);
    const fridays = cron('0 0 * * 5');
    expect(cronMatches(fridays, { ...base, dayOfMonth: 13, dayOfWeek: 2 })).toBe(false);
    expect(cronMatches(fridays, { ...base, dayOfMonth: 6, dayOfWeek: 5 })).toBe(true);
    expect(cronMatches(cron('0 0 * * 7'), { ...base, dayOfMonth: 1, dayOfWeek: 0 })).toBe(true);
  });
});

describe('wall clock in a zone', () => {
  test.each<{ name: string; at: string; zone: string; want: { hour: number; minute: number; dayOfMonth: number; month: number; dayOfWeek: number } }>([
    { name: 'UTC', at: '2026-03-02T09:30:00Z', zone: 'UTC', want: { hour: 9, minute: 30, dayOfMonth: 2, month: 3, dayOfWeek: 1 } },
    { name: 'Paris in winter (+1)', at: '2026-03-02T09:30:00Z', zone: 'Europe/Paris', want: { hour: 10, minute: 30, dayOfMonth: 2, month: 3, dayOfWeek: 1 } },
    { name: 'Paris in summer (+2)', at: '2026-07-02T09:30:00Z', zone: 'Europe/Paris', want: { hour: 11, minute: 30, dayOfMonth: 2, month: 7, dayOfWeek: 4 } },
    { name: 'Kolkata (+5:30), across midnight', at: '2026-03-01T19:00:00Z', zone: 'Asia/Kolkata', want: { hour: 0, minute: 30, dayOfMonth: 2, month: 3, dayOfWeek: 1 } },
    { name: 'Los Angeles, midnight is 00 not 24', at: '2026-01-01T08:00:00Z', zone: 'America/Los_Angeles', want: { hour: 0, minute: 0, dayOfMonth: 1, month: 1, dayOfWeek: 4 } },
  ])('$name', ({ at, zone, want }) => {
    expect(wallTime(utc(at), zone)).toMatchObject(want);
  });

  test('unknown zones', () => {
    expect(validTimeZone('Europe/Paris')).toBe(true);
    expect(validTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(wallTime(0, 'Mars/Olympus_Mons')).toBeUndefined();
  });
});

describe('windowStart: the open window containing now', () => {
  test.each<{ name: string; expr: string; zone: string; durationSeconds: number; now: string; want: string | undefined }>([
    { name: 'open at its start minute', expr: '0 9 * * *', zone: 'UTC', durationSeconds: 3600, now: '2026-03-02T09:00:00Z', want: '2026-03-02T09:00:00Z' },
    { name: 'open inside', expr: '0 9 * * *', zone: 'UTC', durationSeconds: 3600, now: '2026-03-02T09:59:59Z', want: '2026-03-02T09:00:00Z' },
    { name: 'closed at its end', expr: '0 9 * * *', zone: 'UTC', durationSeconds: 3600, now: '2026-03-02T10:00:00Z', want: undefined },
    { name: 'closed before', expr: '0 9 * * *', zone: 'UTC', durationSeconds: 3600, now: '2026-03-02T08:59:59Z', want: undefined },
    { name: '9:00 in Paris is 8:00 UTC in winter', expr: '0 9 * * *', zone: 'Europe/Paris', durationSeconds: 600, now: '2026-03-02T08:05:00Z', want: '2026-03-02T08:00:00Z' },
    { name: '9:00 in Paris is 7:00 UTC in summer', expr: '0 9 * * *', zone: 'Europe/Paris', durationSeconds: 600, now: '2026-07-02T07:05:00Z', want: '2026-07-02T07:00:00Z' },
    // Paris moves to summer time at 01:00 UTC on 2026-03-29: a window opened the evening before spans the change.
    { name: 'across a daylight-saving change', expr: '0 22 * * *', zone: 'Europe/Paris', durationSeconds: 6 * 3600, now: '2026-03-29T02:30:00Z', want: '2026-03-28T21:00:00Z' },
    { name: 'weekend window open on Sunday', expr: '0 0 * * 6', zone: 'UTC', durationSeconds: 2 * 86400, now: '2026-03-08T12:00:00Z', want: '2026-03-07T00:00:00Z' },
    { name: 'weekend window closed on Monday', expr: '0 0 * * 6', zone: 'UTC', durationSeconds: 2 * 86400, now: '2026-03-09T00:00:00Z', want: undefined },
  ])('$name', ({ expr, zone, durationSeconds, now, want }) => {
    const got = windowStart(cron(expr), zone, durationSeconds, utc(now));
    expect(got === undefined ? undefined : new Date(got).toISOString().replace('.000', '')).toBe(want);
  });

  test('a week-long window is looked over quickly', () => {
    const t0 = performance.now();
    windowStart(cron('0 0 1 1 *'), 'Europe/Paris', 7 * 86400, utc('2026-07-02T07:05:00Z'));
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('scheduleFloor', () => {
  const now = utc('2026-03-02T09:30:00Z');
  test.each<{ name: string; windows: { start: string; durationSeconds: number; timeZone: string; minSize: number }[]; floor: number; errors: string[] }>([
    { name: 'no windows', windows: [], floor: 0, errors: [] },
    {
      name: 'the highest open window',
      windows: [
        { start: '0 9 * * *', durationSeconds: 3600, timeZone: 'UTC', minSize: 4 },
        { start: '15 9 * * *', durationSeconds: 3600, timeZone: 'UTC', minSize: 7 },
        { start: '0 12 * * *', durationSeconds: 3600, timeZone: 'UTC', minSize: 50 },
      ],
      floor: 7,
      errors: [],
    },
    {
      name: 'unreadable windows are named and left out',
      windows: [
        { start: '0 17-9 * * *', durationSeconds: 3600, timeZone: 'UTC', minSize: 4 },
        { start: '0 9 * * *', durationSeconds: 3600, timeZone: 'Mars/Olympus_Mons', minSize: 7 },
        { start: '0 9 * * *', durationSeconds: 3600, timeZone: 'UTC', minSize: 2 },
      ],
      floor: 2,
      errors: [
        'spec.autoscaling.schedule[0].start: hour: range 17-9 is reversed',
        'spec.autoscaling.schedule[1].timeZone: unknown time zone "Mars/Olympus_Mons"',
      ],
    },
  ])('$name', ({ windows, floor, errors }) => {
    const got = scheduleFloor(windows, now);
    expect(got.floor).toBe(floor);
    expect(got.errors).toEqual(errors);
  });
});
