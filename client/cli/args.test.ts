import { parseArgs, parseDuration, parseOutput, UsageError } from './args.js';

test.each<{ name: string; argv: string[]; command: string; args: string[]; flags: Record<string, string | boolean> }>([
  { name: 'flags after the argument', argv: ['claim', 'ci', '--wait', '-o', 'name'], command: 'claim', args: ['ci'], flags: { wait: true, output: 'name' } },
  { name: 'flags before the command', argv: ['-n', 'team', '--context=dev', 'status'], command: 'status', args: [], flags: { namespace: 'team', context: 'dev' } },
  { name: 'short flag glued and with =', argv: ['claim', 'ci', '-nteam', '-o=jsonpath={.a}'], command: 'claim', args: ['ci'], flags: { namespace: 'team', output: 'jsonpath={.a}' } },
  { name: 'a jsonpath with spaces and an = sign', argv: ['claim', 'ci', '-o', 'jsonpath={.a} = {.b}'], command: 'claim', args: ['ci'], flags: { output: 'jsonpath={.a} = {.b}' } },
  { name: 'boolean flag with a value', argv: ['claim', 'ci', '--wait=false'], command: 'claim', args: ['ci'], flags: { wait: false } },
  { name: '-- ends the flags', argv: ['release', '--', '-odd'], command: 'release', args: ['-odd'], flags: {} },
  { name: 'nothing is help', argv: [], command: 'help', args: [], flags: {} },
  { name: '-h anywhere is help', argv: ['claim', '-h'], command: 'help', args: ['claim'], flags: { help: true } },
])('$name', ({ argv, command, args, flags }) => {
  const p = parseArgs(argv);
  expect({ command: p.command, args: p.args, flags: Object.fromEntries(p.flags) }).toEqual({ command, args, flags });
});

test.each<{ name: string; argv: string[]; error: RegExp }>([
  { name: 'an unknown flag', argv: ['claim', 'ci', '--bogus'], error: /unknown flag: --bogus/ },
  { name: 'an unknown short flag', argv: ['claim', '-z'], error: /unknown flag: -z/ },
  { name: 'a flag without its value', argv: ['claim', 'ci', '--timeout'], error: /flag needs an argument: --timeout/ },
  { name: 'an unknown command', argv: ['grab', 'ci'], error: /unknown command "grab"/ },
  { name: 'a bad boolean', argv: ['claim', '--wait=maybe'], error: /"--wait"/ },
])('refuses $name', ({ argv, error }) => {
  expect(() => parseArgs(argv)).toThrow(UsageError);
  expect(() => parseArgs(argv)).toThrow(error);
});

test.each<{ text: string; ms: number }>([
  { text: '30s', ms: 30_000 },
  { text: '1m30s', ms: 90_000 },
  { text: '500ms', ms: 500 },
  { text: '1.5h', ms: 5_400_000 },
  { text: '0', ms: 0 },
])('duration $text is $ms ms', ({ text, ms }) => {
  expect(parseDuration('timeout', text)).toBe(ms);
});

test.each(['30', '1x', 's', '', '-5s', '1m 2s'])('duration %j is refused, naming the flag', (text) => {
  expect(() => parseDuration('timeout', text)).toThrow(/"--timeout"/);
});

test.each<{ text: string | undefined; want: unknown }>([
  { text: undefined, want: { kind: 'default' } },
  { text: 'name', want: { kind: 'name' } },
  { text: 'yaml', want: { kind: 'yaml' } },
  { text: "jsonpath={.status.member.podIP}", want: { kind: 'jsonpath', template: '{.status.member.podIP}' } },
])('output $text', ({ text, want }) => {
  expect(parseOutput(text)).toEqual(want);
});

test('an unknown output format names the allowed ones', () => {
  expect(() => parseOutput('table')).toThrow(/allowed formats are: json,jsonpath,name,yaml/);
});
