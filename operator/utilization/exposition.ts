// Just enough of the Prometheus text exposition format to read a few counters and gauges from a member's endpoint.
// The scraper runs this for every member on every interval, so it walks the text once and allocates nothing for
// lines whose metric name is not asked for.

/** A metric name with optional equality label matchers: `http_requests_total{code="200"}`. */
export interface MetricQuery {
  name: string;
  labels: readonly (readonly [string, string])[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses `name` or `name{a="x",b="y"}` (equality matchers only); undefined when the selector is malformed. */
export function parseSelector(selector: string): MetricQuery | undefined {
  const text = selector.trim();
  const brace = text.indexOf('{');
  const name = brace < 0 ? text : text.slice(0, brace).trim();
  if (!NAME.test(name)) return undefined;
  if (brace < 0) return { name, labels: [] };
  if (!text.endsWith('}')) return undefined;
  const labels: [string, string][] = [];
  const body = text.slice(brace + 1, -1);
  let pos = 0;
  for (;;) {
    while (pos < body.length && /[\s,]/.test(body.charAt(pos))) pos++;
    if (pos >= body.length) return { name, labels };
    const eq = body.indexOf('=', pos);
    if (eq < 0) return undefined;
    const label = body.slice(pos, eq).trim();
    if (!LABEL_NAME.test(label)) return undefined;
    let quote = eq + 1;
    while (body.charAt(quote) === ' ') quote++;
    const value = readQuoted(body, quote);
    if (!value) return undefined;
    labels.push([label, value.value]);
    pos = value.end;
    while (pos < body.length && body.charAt(pos) === ' ') pos++;
    if (pos < body.length && body.charAt(pos) !== ',') return undefined;
  }
}

/**
 * Sums, for each query, the values of the samples with that exact name whose labels include the query's matchers
 * (so a counter split by labels adds up across label sets). Undefined where no sample matched. NaN samples and
 * lines that cannot be read are skipped rather than failing the whole scrape.
 */
export function readMetrics(text: string, queries: readonly MetricQuery[]): (number | undefined)[] {
  const sums: (number | undefined)[] = queries.map(() => undefined);
  const length = text.length;
  let pos = 0;
  while (pos < length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = length;
    let start = pos;
    while (start < end && isBlank(text.charCodeAt(start))) start++;
    if (start < end && text.charCodeAt(start) !== HASH) {
      for (let q = 0; q < queries.length; q++) {
        const query = queries[q];
        if (!query || !text.startsWith(query.name, start)) continue;
        const after = start + query.name.length;
        const next = text.charCodeAt(after);
        if (next !== OPEN_BRACE && !isBlank(next)) continue;
        const value = sampleValue(text, after, end, query.labels);
        if (value !== undefined) sums[q] = (sums[q] ?? 0) + value;
      }
    }
    pos = end + 1;
  }
  return sums;
}

// The parser compares character codes, not one-character strings: no string is made per character.
const [HASH, OPEN_BRACE, CLOSE_BRACE, QUOTE, BACKSLASH, COMMA, EQUALS] = [...'#{}"\\,='].map((c) => c.charCodeAt(0));

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 13;
}

/** The value of the sample whose name ends at `pos`, if its labels satisfy the matchers. */
function sampleValue(
  text: string,
  pos: number,
  end: number,
  matchers: readonly (readonly [string, string])[],
): number | undefined {
  let cursor = pos;
  if (text.charCodeAt(cursor) === OPEN_BRACE) {
    const closed = matchers.length === 0 ? skipLabels(text, cursor + 1, end) : matchLabels(text, cursor + 1, end, matchers);
    if (closed < 0) return undefined;
    cursor = closed;
  }
  while (cursor < end && isBlank(text.charCodeAt(cursor))) cursor++;
  let stop = cursor;
  while (stop < end && !isBlank(text.charCodeAt(stop))) stop++;
  if (stop === cursor) return undefined;
  const value = parseValue(text.slice(cursor, stop));
  return Number.isNaN(value) ? undefined : value;
}

function parseValue(token: string): number {
  if (token === '+Inf' || token === 'Inf') return Number.POSITIVE_INFINITY;
  if (token === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(token);
}

/** Index just past the closing brace, or -1 when the label block is unterminated. */
function skipLabels(text: string, pos: number, end: number): number {
  let inQuote = false;
  for (let i = pos; i < end; i++) {
    const code = text.charCodeAt(i);
    if (inQuote) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inQuote = false;
    } else if (code === QUOTE) inQuote = true;
    else if (code === CLOSE_BRACE) return i + 1;
  }
  return -1;
}

/** Like skipLabels, but -1 also when a matcher is not satisfied. */
function matchLabels(text: string, pos: number, end: number, matchers: readonly (readonly [string, string])[]): number {
  let matched = 0;
  let cursor = pos;
  while (cursor < end) {
    while (cursor < end && (isBlank(text.charCodeAt(cursor)) || text.charCodeAt(cursor) === COMMA)) cursor++;
    if (text.charCodeAt(cursor) === CLOSE_BRACE) return matched === matchers.length ? cursor + 1 : -1;
    const eq = text.indexOf('=', cursor);
    if (eq < 0 || eq >= end || text.charCodeAt(eq) !== EQUALS) return -1;
    const label = text.slice(cursor, eq).trim();
    const value = readQuoted(text, eq + 1);
    if (!value || value.end > end) return -1;
    for (const [name, wanted] of matchers) {
      if (name === label) {
        if (value.value !== wanted) return -1;
        matched++;
      }
    }
    cursor = value.end;
  }
  return -1;
}

/** A double-quoted label value starting at `pos`, unescaped, and the index just past its closing quote. */
function readQuoted(text: string, pos: number): { value: string; end: number } | undefined {
  if (text.charCodeAt(pos) !== QUOTE) return undefined;
  let value = '';
  let from = pos + 1;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return { value: value + text.slice(from, i), end: i + 1 };
    if (code === BACKSLASH) {
      const escaped = text.charAt(i + 1);
      value += text.slice(from, i) + (escaped === 'n' ? '\n' : escaped);
      i++;
      from = i + 1;
    }
  }
  return undefined;
}
