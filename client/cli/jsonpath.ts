// The part of kubectl's JSONPath templates people use in scripts: literal text, {.a.b}, {.a[0].b}, {.a[*].b},
// {.a['x.y']}, {.labels.warmpool\.dev/pool}, {"\n"} (and other quoted strings), {@} or {.} for the whole object, and
// {range .items[*]}...{end}. Filters ([?()]), slices ([a:b]) and recursive descent (..) are refused with an error that
// says so. Pure: parse once, then render against a value. As kubectl does by default, a missing key renders empty.

type Step = { kind: 'field'; name: string } | { kind: 'index'; index: number } | { kind: 'all' };
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'path'; steps: Step[] }
  | { kind: 'range'; steps: Step[]; body: Node[] };

export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

/** Splits the template into literal text and the expressions between braces (quotes may hold braces). */
function split(template: string): { text?: string; expr?: string }[] {
  const out: { text?: string; expr?: string }[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open === -1) {
      out.push({ text: template.slice(i) });
      break;
    }
    if (open > i) out.push({ text: template.slice(i, open) });
    let j = open + 1;
    let quote: string | undefined;
    for (; j < template.length; j++) {
      const c = template[j];
      if (quote !== undefined) {
        if (c === '\\') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '}') break;
    }
    if (j >= template.length) throw new JsonPathError(`unclosed { at offset ${open} in ${JSON.stringify(template)}`);
    out.push({ expr: template.slice(open + 1, j).trim() });
    i = j + 1;
  }
  return out;
}

function unquote(s: string): string {
  const quote = s[0];
  const body = s.slice(1, -1);
  if (quote === "'") return body.replace(/\\(.)/g, '$1');
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    throw new JsonPathError(`bad string literal ${s}`);
  }
}

function parsePath(expr: string): Step[] {
  if (expr === '@' || expr === '.' || expr === '$') return [];
  let s = expr.startsWith('$') || expr.startsWith('@') ? expr.slice(1) : expr;
  if (!s.startsWith('.') && !s.startsWith('[')) throw new JsonPathError(`unsupported expression {${expr}}: a path starts with . or [`);
  if (s.includes('..')) throw new JsonPathError(`unsupported expression {${expr}}: recursive descent (..) is not supported`);
  const steps: Step[] = [];
  while (s.length > 0) {
    if (s.startsWith('.')) {
      let name = '';
      let k = 1;
      for (; k < s.length; k++) {
        const c = s[k] ?? '';
        if (c === '\\' && k + 1 < s.length) {
          name += s[++k] ?? '';
        } else if (c === '.' || c === '[') break;
        else name += c;
      }
      if (name === '') throw new JsonPathError(`unsupported expression {${expr}}: empty field name`);
      steps.push(name === '*' ? { kind: 'all' } : { kind: 'field', name });
      s = s.slice(k);
    } else if (s.startsWith('[')) {
      const close = s.indexOf(']');
      if (close === -1) throw new JsonPathError(`unsupported expression {${expr}}: unclosed [`);
      const inner = s.slice(1, close).trim();
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^(['"]).*\1$/.test(inner)) steps.push({ kind: 'field', name: unquote(inner) });
      else throw new JsonPathError(`unsupported expression {${expr}}: [${inner}] (filters and slices are not supported)`);
      s = s.slice(close + 1);
    } else {
      throw new JsonPathError(`unsupported expression {${expr}} near ${JSON.stringify(s)}`);
    }
  }
  return steps;
}

export function parseJsonPath(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  const top = (): Node[] => stack[stack.length - 1] ?? root;
  for (const part of split(template)) {
    if (part.text !== undefined) {
      top().push({ kind: 'text', text: part.text });
      continue;
    }
    const expr = part.expr ?? '';
    if (/^(["']).*\1$/s.test(expr)) top().push({ kind: 'text', text: unquote(expr) });
    else if (expr.startsWith('range ')) {
      const node: Node = { kind: 'range', steps: parsePath(expr.slice(6).trim()), body: [] };
      top().push(node);
      stack.push(node.body);
    } else if (expr === 'end') {
      if (stack.length === 1) throw new JsonPathError('{end} without {range}');
      stack.pop();
    } else top().push({ kind: 'path', steps: parsePath(expr) });
  }
  if (stack.length !== 1) throw new JsonPathError('{range} without {end}');
  return root;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function select(value: unknown, steps: readonly Step[]): unknown[] {
  let current: unknown[] = [value];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (isRecord(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (Array.isArray(v)) next.push(...(v as unknown[]));
      else if (isRecord(v)) next.push(...Object.values(v));
    }
    current = next;
  }
  return current;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function renderNodes(nodes: readonly Node[], value: unknown): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'path') out += select(value, node.steps).map(show).join(' ');
    else for (const item of select(value, node.steps)) out += renderNodes(node.body, item);
  }
  return out;
}

/** Renders a kubectl-style JSONPath template against a value; throws JsonPathError for what it does not support. */
export function renderJsonPath(template: string, value: unknown): string {
  return renderNodes(parseJsonPath(template), value);
}
