import type { MetricQuery } from './exposition.js';
import { parseSelector, readMetrics } from './exposition.js';

const q = (selector: string): MetricQuery => {
  const query = parseSelector(selector);
  if (!query) throw new Error(`bad selector ${selector}`);
  return query;
};

const EXPOSITION = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET"} 1027
http_requests_total{code="500",method="GET"} 3
http_requests_total{code="200",method="POST",path="/a\\"b}"} 10 1700000000000
http_requests_totalx 99
http_requests 98
# TYPE inflight gauge
inflight 4
  tcp_connections_total 12.5e1
weird{a="x"} NaN
inf_gauge +Inf
rpc_total{service="a",} 7 # {trace_id="abc"} 1
rpc_total{service="b"} 8\r
broken{a="x" 5
`;

describe('parseSelector', () => {
  test.each([
    { selector: 'http_requests_total', query: { name: 'http_requests_total', labels: [] } },
    { selector: ' a:b_c ', query: { name: 'a:b_c', labels: [] } },
    { selector: 'x{code="200"}', query: { name: 'x', labels: [['code', '200']] } },
    { selector: 'x{ code = "2\\"0", method="GET" ,}', query: { name: 'x', labels: [['code', '2"0'], ['method', 'GET']] } },
    { selector: 'x{}', query: { name: 'x', labels: [] } },
  ])('$selector', ({ selector, query }) => {
    expect(parseSelector(selector)).toEqual(query);
  });

  test.each(['', '1abc', 'x{code=200}', 'x{code="200"', 'x{"code"="1"}', 'x{a="1" b="2"}', 'a-b'])('%j is rejected', (s) => {
    expect(parseSelector(s)).toBeUndefined();
  });
});

describe('readMetrics', () => {
  test('sums a counter across label sets and reads by exact name', () => {
    expect(readMetrics(EXPOSITION, [q('http_requests_total'), q('http_requests'), q('inflight')])).toEqual([1040, 98, 4]);
  });

  test('label matchers select label sets; escaped quotes and braces in values are handled', () => {
    expect(
      readMetrics(EXPOSITION, [
        q('http_requests_total{code="200"}'),
        q('http_requests_total{method="GET",code="500"}'),
        q('http_requests_total{path="/a\\"b}"}'),
        q('http_requests_total{code="404"}'),
        q('http_requests_total{nolabel="x"}'),
      ]),
    ).toEqual([1037, 3, 10, undefined, undefined]);
  });

  test('indented lines, exponents, trailing commas, exemplars, CRLF and Inf', () => {
    expect(readMetrics(EXPOSITION, [q('tcp_connections_total'), q('rpc_total'), q('inf_gauge')])).toEqual([
      125,
      15,
      Number.POSITIVE_INFINITY,
    ]);
  });

  test('NaN samples, unterminated label blocks and absent names give undefined', () => {
    expect(readMetrics(EXPOSITION, [q('weird'), q('broken'), q('missing')])).toEqual([undefined, undefined, undefined]);
  });

  test('comments are not samples, and empty input reads nothing', () => {
    expect(readMetrics('# TYPE inflight gauge\n#inflight 3\n', [q('inflight')])).toEqual([undefined]);
    expect(readMetrics('', [q('inflight')])).toEqual([undefined]);
    expect(readMetrics('inflight 3', [q('inflight')])).toEqual([3]);
  });
});
