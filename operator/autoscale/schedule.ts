// Schedule windows: each raises the floor to its minSize while it is open. A window whose cron or time zone the
// operator cannot read is left out and named (the API refuses what CEL can see; a reversed range or a zone this
// runtime does not know only shows here).
import type { ResolvedScheduleWindow } from '../api/defaults.js';
import { parseCron, validTimeZone, windowStart } from './cron.js';

export interface ScheduleFloor {
  /** The highest minSize of the open windows; 0 when none is open. */
  readonly floor: number;
  /** Indexes of the open windows. */
  readonly open: readonly number[];
  /** One "field: message" per window that cannot be read. */
  readonly errors: readonly string[];
}

export function scheduleFloor(windows: readonly ResolvedScheduleWindow[], nowMs: number): ScheduleFloor {
  let floor = 0;
  const open: number[] = [];
  const errors: string[] = [];
  windows.forEach((w, i) => {
    const at = `spec.autoscaling.schedule[${i}]`;
    const parsed = parseCron(w.start);
    if (!parsed.ok) {
      errors.push(`${at}.start: ${parsed.error}`);
      return;
    }
    if (!validTimeZone(w.timeZone)) {
      errors.push(`${at}.timeZone: unknown time zone ${JSON.stringify(w.timeZone)}`);
      return;
    }
    if (windowStart(parsed.cron, w.timeZone, w.durationSeconds, nowMs) === undefined) return;
    open.push(i);
    floor = Math.max(floor, Number.isFinite(w.minSize) ? Math.max(0, w.minSize) : 0);
  });
  return { floor, open, errors };
}
