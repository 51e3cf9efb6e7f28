// Checks an untrusted value against a schema of openapi.ts as the API server would (types, enums, bounds, patterns,
// required fields, list-map keys, and the CEL rules through their TypeScript twins), and returns the copy the API
// server would store: unknown fields dropped where the schema does not preserve them, nulls dropped, defaults applied.
import type { Schema } from './openapi.js';

export interface FieldError {
  /** Path of the offending field, e.g. `spec.maxSize` or `spec.template.spec.containers[0].name`. */
  field: string;
  message: string;
}

export type Conformed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** `old` is the previous value at the same path, for transition rules (those naming oldSelf); omit it on create. */
export function conform<T>(value: unknown, schema: Schema<T>, path: string, old?: unknown): Conformed<T> {
  const errors: FieldError[] = [];
  const pruned = walk(value, schema, path, old, errors);
  // Sound because each schema is typed by the values it admits (openapi.ts) and this walk accepted the value.
  return errors.length === 0 ? { ok: true, value: pruned as T } : { ok: false, errors };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(value: unknown, schema: Schema, path: string, old: unknown, errors: FieldError[]): unknown {
  const before = errors.length;
  if (!hasType(value, schema)) {
    errors.push({ field: path, message: `must be of type ${schema.type}` });
    return value;
  }
  checkValue(value, schema, path, errors);
  let result = value;
  if (Array.isArray(value)) result = walkList(value, schema, path, errors);
  else if (isRecord(value)) result = walkObject(value, schema, path, isRecord(old) ? old : undefined, errors);
  // CEL rules see only values their schema node accepted, as on the API server.
  if (errors.length === before) checkRules(result, schema, path, old, errors);
  return result;
}

function hasType(value: unknown, schema: Schema): boolean {
  switch (schema.type) {
    case undefined:
      return true;
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const patterns = new Map<string, RegExp>();

function checkValue(value: unknown, schema: Schema, path: string, errors: FieldError[]): void {
  const fail = (message: string) => errors.push({ field: path, message });
  if (schema.enum && !schema.enum.includes(value)) {
    fail(`Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be less than or equal to ${schema.maximum}`);
    if (schema.format === 'int32' && (value < INT32_MIN || value > INT32_MAX)) fail('must fit in a 32-bit integer');
  }
  if (typeof value === 'string') {
    // The API server counts characters, not UTF-16 code units.
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) fail(`must be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength) fail(`may not be more than ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !compiled(schema.pattern).test(value)) fail(`must match '${schema.pattern}'`);
    if (schema.format === 'date-time' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
      fail('must be an RFC 3339 date-time');
    }
  }
  if (isRecord(value) && schema.maxProperties !== undefined && Object.keys(value).length > schema.maxProperties) {
    fail(`must have at most ${schema.maxProperties} properties`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`must have at least ${schema.minItems} item(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`must have at most ${schema.maxItems} item(s)`);
  }
}

function compiled(pattern: string): RegExp {
  let regexp = patterns.get(pattern);
  if (!regexp) {
    regexp = new RegExp(pattern, 'u');
    patterns.set(pattern, regexp);
  }
  return regexp;
}

function walkObject(
  value: Record<string, unknown>,
  schema: Schema,
  path: string,
  old: Record<string, unknown> | undefined,
  errors: FieldError[],
): Record<string, unknown> {
  // Defaults fill absent and null fields before anything is checked, as on the API server.
  const fields = new Map(Object.entries(value));
  for (const [key, declared] of Object.entries(schema.properties ?? {})) {
    if (declared.default !== undefined && (fields.get(key) ?? null) === null) fields.set(key, structuredClone(declared.default));
  }
  for (const key of schema.required ?? []) {
    if ((fields.get(key) ?? null) === null) errors.push({ field: join(path, key), message: 'Required value' });
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of fields) {
    if (item === undefined) continue;
    const declared = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    const field = declared ? join(path, key) : `${path}[${JSON.stringify(key)}]`;
    const itemSchema = declared ?? schema.additionalProperties;
    // Null is dropped where a schema applies (none here is nullable); unknown fields are kept only where preserved.
    if (itemSchema) {
      if (item !== null) result[key] = walk(item, itemSchema, field, old?.[key], errors);
    } else if (schema['x-kubernetes-preserve-unknown-fields']) {
      result[key] = item;
    }
  }
  return result;
}

// Items get no old value: no rule inside a list here is a transition rule.
function walkList(value: unknown[], schema: Schema, path: string, errors: FieldError[]): unknown[] {
  const items = schema.items;
  const result = items ? value.map((item, i) => walk(item, items, `${path}[${i}]`, undefined, errors)) : value;
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'map' || listType === 'set') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    result.forEach((item, i) => {
      const identity = JSON.stringify(listType === 'map' && isRecord(item) ? Object.fromEntries(keys.map((k) => [k, item[k]])) : item);
      if (seen.has(identity)) errors.push({ field: `${path}[${i}]`, message: `Duplicate value: ${identity}` });
      seen.add(identity);
    });
  }
  return result;
}

function checkRules(value: unknown, schema: Schema, path: string, old: unknown, errors: FieldError[]): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const transition = /\boldSelf\b/.test(rule.rule);
    if (transition && old === undefined) continue;
    if (!rule.holds(value, old)) errors.push({ field: path + (rule.fieldPath ?? ''), message: rule.explain?.(value) ?? rule.message });
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
