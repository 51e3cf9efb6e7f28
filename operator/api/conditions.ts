// Pure helpers over metav1.Condition lists, as the API conventions (and kstatus) read them.
import type { Condition } from './types.js';

/** The condition without its transition time, which setCondition decides. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/**
 * Sets one condition: replaced in place when its type exists, appended otherwise. lastTransitionTime moves to `now`
 * only when the status changes, so re-asserting a condition writes nothing new.
 */
export function setCondition(conditions: readonly Condition[] | undefined, update: ConditionUpdate, now: Date): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === update.type);
  const lastTransitionTime = existing && existing.status === update.status ? existing.lastTransitionTime : rfc3339(now);
  const next: Condition = { ...update, lastTransitionTime };
  return existing ? list.map((c) => (c === existing ? next : c)) : [...list, next];
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** metav1.Time's form: whole seconds, UTC. */
function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
