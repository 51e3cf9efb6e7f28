import { renderJsonPath } from './jsonpath.js';

const claim = {
  metadata: { name: 'ci-runners-x7k2p', labels: { 'warmpool.dev/pool': 'ci-runners' } },
  status: { phase: 'Bound', member: { name: 'ci-runners-abc', podIP: '127.64.0.7' }, conditions: [{ type: 'Bound', status: 'True' }, { type: 'Ready', status: 'True' }] },
  items: [{ n: 'a', v: 1 }, { n: 'b', v: 2 }],
};

test.each<{ name: string; template: string; want: string }>([
  { name: 'a nested field', template: '{.status.member.podIP}', want: '127.64.0.7' },
  { name: 'literal text and a newline', template: 'ip={.status.member.podIP}{"\\n"}', want: 'ip=127.64.0.7\n' },
  { name: 'an index', template: '{.status.conditions[0].type}', want: 'Bound' },
  { name: 'a negative index', template: '{.status.conditions[-1].type}', want: 'Ready' },
  { name: 'a wildcard joins with spaces', template: '{.status.conditions[*].type}', want: 'Bound Ready' },
  { name: 'an escaped dot in a key', template: '{.metadata.labels.warmpool\\.dev/pool}', want: 'ci-runners' },
  { name: 'a quoted key', template: "{.metadata.labels['warmpool.dev/pool']}", want: 'ci-runners' },
  { name: 'a missing key is empty', template: '[{.status.nope}]', want: '[]' },
  { name: 'an object is JSON', template: '{.status.member}', want: '{"name":"ci-runners-abc","podIP":"127.64.0.7"}' },
  { name: 'a number', template: '{.items[1].v}', want: '2' },
  { name: 'range', template: '{range .items[*]}{.n}={.v};{end}', want: 'a=1;b=2;' },
  { name: 'the whole object with $', template: '{$.metadata.name}', want: 'ci-runners-x7k2p' },
  { name: 'a tab', template: '{.metadata.name}{"\\t"}{.status.phase}', want: 'ci-runners-x7k2p\tBound' },
])('$name: $template', ({ template, want }) => {
  expect(renderJsonPath(template, claim)).toBe(want);
});

test.each<{ name: string; template: string; error: RegExp }>([
  { name: 'unclosed brace', template: '{.a', error: /unclosed \{/ },
  { name: 'a filter', template: '{.items[?(@.n=="a")].v}', error: /filters and slices are not supported/ },
  { name: 'a slice', template: '{.items[0:1]}', error: /filters and slices are not supported/ },
  { name: 'recursive descent', template: '{..name}', error: /recursive descent/ },
  { name: 'range without end', template: '{range .items[*]}{.n}', error: /without \{end\}/ },
  { name: 'end without range', template: '{end}', error: /without \{range\}/ },
  { name: 'a bare word', template: '{name}', error: /a path starts with/ },
])('refuses $name', ({ template, error }) => {
  expect(() => renderJsonPath(template, claim)).toThrow(error);
});
