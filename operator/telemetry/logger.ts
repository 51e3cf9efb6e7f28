// The operator's logs: winston, JSON lines by default and a colourised human format when stderr is a terminal.
// Each component (controller) gets a child logger whose lines carry `controller` and, when a span is active, the
// trace and span ids; callers add `namespace` and `name` (e.g. `log.child({ namespace, name })`).
//
// Levels per component come from WARMPOOL_LOG, a comma-separated list in the spirit of DEBUG-style namespaces:
//   claim=debug,pool=info,*=warn   levels per component, * for the rest
//   debug                          a bare level sets the default
//   claim,pool                     a bare component name turns on debug for it; a bare * turns it on for all
// A level a component has switched off costs one comparison: its methods return before building a log entry.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import winston from 'winston';
import { describeError, statusCode } from '../kube/errors.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `none` silences a component. */
export type LevelSetting = LogLevel | 'none';

export interface LogLevels {
  defaultLevel: LevelSetting;
  components: Record<string, LevelSetting>;
  /** Entries that could not be read; reported once by configureLogging. */
  invalid: string[];
}

const DEFAULT_LEVEL: LogLevel = 'info';

function isLevelSetting(value: string): value is LevelSetting {
  return value === 'none' || (LOG_LEVELS as readonly string[]).includes(value);
}

/** Reads a WARMPOOL_LOG value; later entries win over earlier ones. */
export function parseLogLevels(spec: string | undefined): LogLevels {
  const levels: LogLevels = { defaultLevel: DEFAULT_LEVEL, components: {}, invalid: [] };
  for (const raw of (spec ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const component = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const level = eq < 0 ? undefined : entry.slice(eq + 1).trim().toLowerCase();
    if (level === undefined) {
      if (component === '*') levels.defaultLevel = 'debug';
      else if (isLevelSetting(component.toLowerCase())) levels.defaultLevel = component.toLowerCase() as LevelSetting;
      else if (/^[\w.-]+$/.test(component)) levels.components[component] = 'debug';
      else levels.invalid.push(entry);
    } else if (component === '' || !isLevelSetting(level)) {
      levels.invalid.push(entry);
    } else if (component === '*') {
      levels.defaultLevel = level;
    } else {
      levels.components[component] = level;
    }
  }
  return levels;
}

function threshold(setting: LevelSetting): number {
  return setting === 'none' ? -1 : LOG_LEVELS.indexOf(setting);
}

function levelValue(level: unknown): number {
  const index = typeof level === 'string' ? LOG_LEVELS.indexOf(level as LogLevel) : -1;
  return index < 0 ? Number.POSITIVE_INFINITY : index;
}

export interface LoggingOptions {
  /** The WARMPOOL_LOG value; default process.env.WARMPOOL_LOG. */
  levels?: string;
  /** Human-readable colourised lines; default: stderr is a TTY. */
  pretty?: boolean;
  /** Where lines go; default stderr. */
  transports?: winston.transport[];
}

// winston's level symbol (triple-beam), registered globally.
const LEVEL = Symbol.for('level');

const OWN_FIELDS = new Set(['level', 'message', 'timestamp', 'controller', 'namespace', 'name', 'traceId', 'spanId']);

/**
 * Error values as plain fields: JSON.stringify would print `{}` for them. An API error becomes its one-line
 * description (code, reason, message): its message is client-node's HTTP dump with every header, its stack noise.
 */
const errorFields = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) {
      info[key] = statusCode(value) !== undefined ? describeError(value) : { name: value.name, message: value.message, stack: value.stack };
    }
  }
  return info;
});

const prettyLine = winston.format.printf((info) => {
  const object = [info.namespace, info.name].filter((part) => typeof part === 'string').join('/');
  const rest = Object.entries(info)
    .filter(([key]) => !OWN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const trace = typeof info.traceId === 'string' ? ` trace=${info.traceId}` : '';
  return [info.timestamp, info.level, `[${String(info.controller)}]`, object, info.message, ...rest]
    .filter((part) => part !== '' && part !== undefined)
    .map(String)
    .join(' ')
    .concat(trace);
});

interface ComponentState {
  threshold: number;
}

let root: winston.Logger | undefined;
let levels: LogLevels = parseLogLevels(undefined);
const components = new Map<string, ComponentState>();

function componentThreshold(component: string): number {
  return threshold(levels.components[component] ?? levels.defaultLevel);
}

/** (Re)configures levels, format and transports; loggers already handed out follow the new settings. */
export function configureLogging(options: LoggingOptions = {}): void {
  levels = parseLogLevels(options.levels ?? process.env.WARMPOOL_LOG);
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const format = pretty
    ? winston.format.combine(errorFields(), winston.format.timestamp(), winston.format.colorize(), prettyLine)
    : winston.format.combine(errorFields(), winston.format.timestamp(), winston.format.json());
  const transports = options.transports ?? [new winston.transports.Stream({ stream: process.stderr })];
  // The root passes everything; each component's threshold decides.
  if (root) root.configure({ level: 'silly', format, transports });
  else root = winston.createLogger({ level: 'silly', format, transports });
  for (const [component, state] of components) state.threshold = componentThreshold(component);
  if (levels.invalid.length > 0) logger('logging').warn('ignored WARMPOOL_LOG entries', { entries: levels.invalid });
}

/** The logger of one component; `controller` on every line is the component's name. */
export function logger(component: string): winston.Logger {
  if (!root) configureLogging();
  const base = root as winston.Logger;
  let state = components.get(component);
  if (!state) {
    state = { threshold: componentThreshold(component) };
    components.set(component, state);
  }
  const settings = state;
  const child = Object.create(base) as winston.Logger;
  Object.defineProperty(child, 'write', {
    value(info: Record<string | symbol, unknown>) {
      if (levelValue(info[LEVEL] ?? info.level) > settings.threshold) return;
      base.write(withContext(component, info));
    },
  });
  for (const level of LOG_LEVELS) {
    const method = base[level] as unknown as (this: winston.Logger, ...args: unknown[]) => winston.Logger;
    const value = LOG_LEVELS.indexOf(level);
    Object.defineProperty(child, level, {
      value(this: winston.Logger, ...args: unknown[]) {
        return value > settings.threshold ? this : method.apply(this, args);
      },
    });
  }
  Object.defineProperty(child, 'isLevelEnabled', {
    value: (level: string) => levelValue(level) <= settings.threshold,
  });
  return child;
}

/** A copy of the entry with the component and the active span's ids; the caller's own fields win. */
function withContext(component: string, info: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  const entry: Record<string | symbol, unknown> = { controller: component };
  Object.assign(entry, info);
  // Message and stack of an Error logged on its own are not enumerable.
  if (info instanceof Error) {
    entry.message = info.message;
    entry.stack = info.stack;
  }
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    entry.traceId = span.traceId;
    entry.spanId = span.spanId;
  }
  return entry;
}
