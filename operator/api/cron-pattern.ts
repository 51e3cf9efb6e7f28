// The shape of a schedule window's cron expression, shared by the CRD's CEL rule (schema.ts) and the matcher
// (autoscale/cron.ts), so the API server and the operator refuse the same strings.

/** One item of a field, as the API's regex admits it (the same string is the CEL rule's and this file's check). */
const item = (v: string): string => `(?:[*]|${v}(?:-${v})?)(?:/[1-9][0-9]?)?`;
const field = (v: string): string => `${item(v)}(?:,${item(v)})*`;
const VALUES = {
  minute: '[0-5]?[0-9]',
  hour: '(?:[01]?[0-9]|2[0-3])',
  dayOfMonth: '(?:0?[1-9]|[12][0-9]|3[01])',
  month: '(?:0?[1-9]|1[0-2])',
  dayOfWeek: '[0-7]',
} as const;
/**
 * The shape of a cron expression, with each number within its field's range. RE2 and JavaScript read it alike (no
 * backslash: it goes into a CEL string literal unescaped). What it cannot see, a reversed range, parseCron refuses.
 */
export const CRON_PATTERN = `^${[VALUES.minute, VALUES.hour, VALUES.dayOfMonth, VALUES.month, VALUES.dayOfWeek].map(field).join('[ ]+')}$`;
export const CRON_MESSAGE =
  'must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), each a comma list of *, n or a-b with an optional /step, numbers within the field';

