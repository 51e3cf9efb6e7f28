// Command-line parsing for kubectl-warmpool, kubectl's way: flags before or after the arguments, `--flag value`,
// `--flag=value`, `-n value`, `-nvalue`, `-o=json`, `--` ends the flags. Pure: argv in, a parsed command or a usage
// error (naming the flag) out.

export type Command = 'claim' | 'release' | 'status' | 'top' | 'help';

export interface FlagSpec {
  name: string;
  short?: string;
  /** Takes a value (otherwise a boolean: --wait, --wait=false). */
  value: boolean;
}

export const FLAGS: readonly FlagSpec[] = [
  { name: 'kubeconfig', value: true },
  { name: 'context', value: true },
  { name: 'namespace', short: 'n', value: true },
  { name: 'output', short: 'o', value: true },
  { name: 'wait', value: false },
  { name: 'timeout', value: true },
  { name: 'acquired-by', value: true },
  { name: 'acquired-for', value: true },
  { name: 'priority', value: true },
  { name: 'reclaim-policy', value: true },
  { name: 'wait-timeout', value: true },
  { name: 'help', short: 'h', value: false },
];

export interface ParsedArgs {
  command: Command;
  args: string[];
  flags: Map<string, string | boolean>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const COMMANDS: readonly Command[] = ['claim', 'release', 'status', 'top', 'help'];

function flagByName(name: string): FlagSpec | undefined {
  return FLAGS.find((f) => f.name === name || (f.short !== undefined && f.short === name));
}

function boolValue(flag: string, v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new UsageError(`invalid argument "${v}" for "--${flag}": expected true or false`);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      inline = eq === -1 ? undefined : a.slice(eq + 1);
    } else {
      name = a.slice(1, 2);
      const rest = a.slice(2);
      inline = rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest;
    }
    const spec = flagByName(name);
    if (spec === undefined) throw new UsageError(`unknown flag: ${a.startsWith('--') ? `--${name}` : `-${name}`}`);
    if (!spec.value) {
      flags.set(spec.name, inline === undefined ? true : boolValue(spec.name, inline));
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${spec.name}`);
      value = argv[++i] ?? '';
    }
    flags.set(spec.name, value);
  }
  if (flags.get('help') === true) return { command: 'help', args: positional, flags };
  const [first, ...rest] = positional;
  if (first === undefined) return { command: 'help', args: [], flags };
  if (!(COMMANDS as readonly string[]).includes(first)) throw new UsageError(`unknown command "${first}" (see kubectl warmpool --help)`);
  return { command: first as Command, args: rest, flags };
}

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("90s", "1m30s", "500ms", "1h"), as kubectl's --timeout takes it, in milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNITS[m[2] ?? ''] ?? Number.NaN);
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length || !Number.isFinite(total)) {
    throw new UsageError(`invalid argument "${text}" for "--${flag}": a duration like 30s, 2m or 1m30s`);
  }
  return total;
}

/** An integer flag within bounds. */
export function parseIntFlag(flag: string, text: string, min: number, max: number): number {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid argument "${text}" for "--${flag}": an integer from ${min} to ${max}`);
  }
  return n;
}

export type OutputFormat = { kind: 'default' } | { kind: 'name' } | { kind: 'json' } | { kind: 'yaml' } | { kind: 'jsonpath'; template: string };

export function parseOutput(text: string | undefined): OutputFormat {
  if (text === undefined || text === '' || text === 'wide') return { kind: 'default' };
  if (text === 'name' || text === 'json' || text === 'yaml') return { kind: text };
  const m = /^jsonpath(?:-as-json)?=(.*)$/s.exec(text);
  if (m !== null && !text.startsWith('jsonpath-as-json')) return { kind: 'jsonpath', template: m[1] ?? '' };
  throw new UsageError(`unable to match a printer suitable for the output format "${text}", allowed formats are: json,jsonpath,name,yaml`);
}
