// The subset of OpenAPI v3 (with the Kubernetes extensions) that the warmpool CRDs use. A schema is typed by the
// TypeScript values it admits, so the compiler holds every schema built here to its interface in types.ts.

/** An x-kubernetes-validations rule together with its TypeScript twin, so the controller re-checks what CEL checks. */
export interface ValidationRule {
  /** CEL, evaluated by the API server. A rule that names oldSelf is a transition rule: it runs on updates only. */
  rule: string;
  message: string;
  /**
   * CEL that builds the message from self (e.g. to name the offending key); `message` is the fallback when it fails.
   * `explain` is its TypeScript twin.
   */
  messageExpression?: string;
  /** Where the API server reports the error, relative to the schema node (e.g. `.targetSize`). */
  fieldPath?: string;
  /** The same rule in TypeScript: true when it holds. Runs only on values the schema node already accepted. */
  holds: (self: unknown, oldSelf: unknown) => boolean;
  /** The messageExpression in TypeScript: the message for a value that `holds` refused. */
  explain?: (self: unknown) => string;
}

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface Schema<T = unknown> {
  type?: SchemaType;
  description?: string;
  format?: 'int32' | 'int64' | 'double' | 'date-time';
  default?: T;
  enum?: readonly T[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  items?: Schema;
  additionalProperties?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'map' | 'set';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-validations'?: readonly ValidationRule[];
  /** Never set: carries T for the compiler only. */
  readonly __value?: T;
}

type More<T> = Omit<Schema<T>, 'type' | 'description' | '__value'>;

/** Whether each key of T is required or optional, as T declares it: the compiler rejects a wrong, missing or extra key. */
export type Presence<T> = { [K in keyof T]-?: undefined extends T[K] ? 'optional' : 'required' };

/** A schema for each property of T. */
export type Properties<T> = { [K in keyof T]-?: Schema<T[K]> };

export function object<T>(description: string, fields: Presence<T>, properties: Properties<T>, more: More<T> = {}): Schema<T> {
  const required = Object.entries(fields)
    .filter(([, presence]) => presence === 'required')
    .map(([key]) => key);
  return { type: 'object', description, ...(required.length > 0 ? { required } : {}), properties, ...more };
}

export function listOf<T>(description: string, items: Schema<T>, more: More<T[]> = {}): Schema<T[]> {
  return { type: 'array', description, items, ...more };
}

export function stringMap(description: string, more: More<Record<string, string>> = {}): Schema<Record<string, string>> {
  return { type: 'object', description, additionalProperties: { type: 'string' }, ...more };
}

/** A string enum with every member of the union T: the compiler rejects a missing or extra member. */
export function oneOf<T extends string>(description: string, members: Record<T, true>, more: More<T> = {}): Schema<T> {
  return { type: 'string', description, enum: Object.keys(members) as T[], ...more };
}

export function string(description: string, more: More<string> = {}): Schema<string> {
  return { type: 'string', description, ...more };
}

export function dateTime(description: string): Schema<string> {
  return { type: 'string', description, format: 'date-time' };
}

export function int32(description: string, more: More<number> = {}): Schema<number> {
  return { type: 'integer', description, format: 'int32', ...more };
}

export function int64(description: string, more: More<number> = {}): Schema<number> {
  return { type: 'integer', description, format: 'int64', ...more };
}

export function number(description: string, more: More<number> = {}): Schema<number> {
  return { type: 'number', description, ...more };
}

export function boolean(description: string, more: More<boolean> = {}): Schema<boolean> {
  return { type: 'boolean', description, ...more };
}
