// A small strict cron matcher for schedule windows: five fields (minute hour day-of-month month day-of-week), each a
// comma list of `*`, `n` or `a-b`, optionally `/step`; numbers only (no names, no @hourly). Day-of-week 0-7, both 0
// and 7 Sunday. As in Vixie cron, when both day fields are restricted a day matches if either does. The wall clock is
// read in the window's IANA time zone through Intl.DateTimeFormat; no dependency.

import { CRON_MESSAGE, CRON_PATTERN } from '../api/cron-pattern.js';

const cronShape = new RegExp(CRON_PATTERN);

const RANGES = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

export interface Cron {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0-6, Sunday 0 (a 7 is folded into 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether each day field is restricted (does not start with *): both restricted means either matches. */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

export type CronParse = { ok: true; cron: Cron } | { ok: false; error: string };

function parseField(text: string, range: (typeof RANGES)[number]): Set<number> | string {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [span = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (span === '*') {
      low = range.min;
      high = range.max;
    } else {
      const [a, b] = span.split('-');
      low = Number(a);
      // `a/step` runs from a to the field's end, as in Vixie cron.
      high = b !== undefined ? Number(b) : stepText !== undefined ? range.max : low;
    }
    if (low > high) return `${range.name}: range ${span} is reversed`;
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

export function parseCron(expression: string): CronParse {
  if (!cronShape.test(expression)) return { ok: false, error: CRON_MESSAGE };
  const [m = '', h = '', dom = '', mon = '', dow = ''] = expression.split(/ +/);
  const sets: Set<number>[] = [];
  for (const [text, range] of [[m, RANGES[0]], [h, RANGES[1]], [dom, RANGES[2]], [mon, RANGES[3]], [dow, RANGES[4]]] as const) {
    const parsed = parseField(text, range);
    if (typeof parsed === 'string') return { ok: false, error: parsed };
    sets.push(parsed);
  }
  const [minutes = new Set<number>(), hours = new Set<number>(), daysOfMonth = new Set<number>(), months = new Set<number>(), weekdays = new Set<number>()] = sets;
  return {
    ok: true,
    cron: {
      minutes,
      hours,
      daysOfMonth,
      months,
      daysOfWeek: new Set([...weekdays].map((d) => d % 7)),
      dayOfMonthRestricted: !dom.startsWith('*'),
      dayOfWeekRestricted: !dow.startsWith('*'),
    },
  };
}

/** A wall-clock minute: month 1-12, dayOfWeek 0-6 with Sunday 0. */
export interface WallTime {
  readonly minute: number;
  readonly hour: number;
  readonly dayOfMonth: number;
  readonly month: number;
  readonly dayOfWeek: number;
}

export function cronMatches(cron: Cron, t: WallTime): boolean {
  if (!cron.minutes.has(t.minute) || !cron.hours.has(t.hour) || !cron.months.has(t.month)) return false;
  const dom = cron.daysOfMonth.has(t.dayOfMonth);
  const dow = cron.daysOfWeek.has(t.dayOfWeek);
  return cron.dayOfMonthRestricted && cron.dayOfWeekRestricted ? dom || dow : dom && dow;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
/** Formatters by zone; zones come from specs, so the cache is bounded (cleared when full). */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 256;

function formatter(timeZone: string): Intl.DateTimeFormat | undefined {
  let f = formatters.get(timeZone);
  if (f) return f;
  try {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
  } catch {
    return undefined;
  }
  if (formatters.size >= MAX_FORMATTERS) formatters.clear();
  formatters.set(timeZone, f);
  return f;
}

/** Whether the runtime knows the IANA zone. */
export function validTimeZone(timeZone: string): boolean {
  return formatter(timeZone) !== undefined;
}

/** The wall-clock minute at `ms` in the zone, and the year (for the zone's UTC offset); undefined for an unknown zone. */
export function wallTime(ms: number, timeZone: string): (WallTime & { year: number }) | undefined {
  const f = formatter(timeZone);
  if (!f) return undefined;
  const parts = new Map<string, string>();
  for (const p of f.formatToParts(new Date(ms))) parts.set(p.type, p.value);
  return {
    year: Number(parts.get('year')),
    month: Number(parts.get('month')),
    dayOfMonth: Number(parts.get('day')),
    hour: Number(parts.get('hour')),
    minute: Number(parts.get('minute')),
    dayOfWeek: WEEKDAYS[parts.get('weekday') ?? ''] ?? 0,
  };
}

const MINUTE_MS = 60_000;

/** The zone's offset at `ms` (wall clock read as UTC, minus the instant), to the minute. */
function offsetAt(ms: number, timeZone: string): number | undefined {
  const w = wallTime(ms, timeZone);
  if (!w) return undefined;
  const minuteStart = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  return Date.UTC(w.year, w.month - 1, w.dayOfMonth, w.hour, w.minute) - minuteStart;
}

function utcWall(ms: number): WallTime {
  const d = new Date(ms);
  return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), dayOfMonth: d.getUTCDate(), month: d.getUTCMonth() + 1, dayOfWeek: d.getUTCDay() };
}

/** The longest window: a week of minutes to look back over. */
export const MAX_WINDOW_SECONDS = 7 * 24 * 3600;

/**
 * When the window that contains `nowMs` started: the latest minute s in (now - duration, now] whose wall clock in the
 * zone matches the cron; undefined when there is none (the window is closed) or the zone is unknown. When the zone's
 * offset is the same at both ends (no daylight-saving change in between, the usual case) each minute's wall clock is
 * plain arithmetic; otherwise each is read through Intl.
 */
export function windowStart(cron: Cron, timeZone: string, durationSecondsIn: number, nowMs: number): number | undefined {
  const durationMs = Math.min(Math.max(0, Number.isFinite(durationSecondsIn) ? durationSecondsIn : 0), MAX_WINDOW_SECONDS) * 1000;
  const last = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const offsetNow = offsetAt(nowMs, timeZone);
  if (offsetNow === undefined) return undefined;
  const steady = offsetAt(nowMs - durationMs, timeZone) === offsetNow;
  for (let s = last; s > nowMs - durationMs; s -= MINUTE_MS) {
    const wall = steady ? utcWall(s + offsetNow) : wallTime(s, timeZone);
    if (wall && cronMatches(cron, wall)) return s;
  }
  return undefined;
}
