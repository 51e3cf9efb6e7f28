// Repeated strings of cached objects, shared. JSON.parse gives every object its own copy of each string value, so
// each of 10,000 cached pods carried its own copy of the image, the condition reasons, the toleration keys, the
// service-account paths: 16 MB of duplicates in a 108 MB heap (a heap snapshot of the operator at make bench-scale's
// size). A string is immutable, so one equal to another can stand in for it without anyone seeing the difference.

/** Longer strings are left alone: the repeated ones are short, and hashing a long one costs more than it saves. */
export const SHARED_STRING_MAX_LENGTH = 256;
/**
 * Strings the table holds before it starts again. It takes every short string it sees, unique ones (uids, names,
 * timestamps) too; starting again bounds it, and the repeated ones are back in it with the next object.
 */
export const STRING_TABLE_MAX = 16_384;
/** Deeper parts of an object are left alone (a hostile object cannot run the walk out of stack). */
export const SHARED_STRING_MAX_DEPTH = 32;

export class StringTable {
  private table = new Map<string, string>();

  constructor(private readonly max: number = STRING_TABLE_MAX) {}

  /** How many strings the table holds. */
  get size(): number {
    return this.table.size;
  }

  /** Replaces, in place, every string value in `value` (its keys are not touched) with the table's equal string. */
  share(value: unknown): void {
    this.walk(value, 0);
  }

  private walk(value: unknown, depth: number): void {
    if (typeof value !== 'object' || value === null || depth >= SHARED_STRING_MAX_DEPTH) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string') value[i] = this.one(item);
        else this.walk(item, depth + 1);
      }
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'string') record[key] = this.one(item);
      else this.walk(item, depth + 1);
    }
  }

  private one(s: string): string {
    if (s.length > SHARED_STRING_MAX_LENGTH) return s;
    const shared = this.table.get(s);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.max) this.table = new Map();
    this.table.set(s, s);
    return s;
  }
}
