import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ApiException } from '@kubernetes/client-node';
import winston from 'winston';
import { configureLogging, logger, parseLogLevels } from './logger.js';

describe('parseLogLevels', () => {
  test.each([
    { name: 'unset: info', spec: undefined, want: { defaultLevel: 'info', components: {}, invalid: [] } },
    { name: 'empty: info', spec: '', want: { defaultLevel: 'info', components: {}, invalid: [] } },
    {
      name: 'levels per component, * for the rest',
      spec: 'claim=debug,pool=info,*=warn',
      want: { defaultLevel: 'warn', components: { claim: 'debug', pool: 'info' }, invalid: [] },
    },
    { name: 'a bare level is the default', spec: 'debug', want: { defaultLevel: 'debug', components: {}, invalid: [] } },
    { name: 'case and spaces do not matter', spec: ' WARN ', want: { defaultLevel: 'warn', components: {}, invalid: [] } },
    // Debug namespaces: bare component names turn on debug for them, a bare * for all.
    { name: 'bare component names: debug for them', spec: 'claim,pool', want: { defaultLevel: 'info', components: { claim: 'debug', pool: 'debug' }, invalid: [] } },
    { name: 'a bare *: debug for all', spec: '*', want: { defaultLevel: 'debug', components: {}, invalid: [] } },
    { name: 'none silences the rest', spec: '*=none,claim=error', want: { defaultLevel: 'none', components: { claim: 'error' }, invalid: [] } },
    { name: 'the last entry for a component wins', spec: 'pool=info,pool=silly', want: { defaultLevel: 'info', components: { pool: 'silly' }, invalid: [] } },
    {
      name: 'unknown levels and malformed entries are reported, empty ones skipped',
      spec: 'claim=loud,=debug,a b,, ,x=',
      want: { defaultLevel: 'info', components: {}, invalid: ['claim=loud', '=debug', 'a b', 'x='] },
    },
  ])('$name', ({ spec, want }) => {
    expect(parseLogLevels(spec)).toEqual(want);
  });
});

type Line = Record<string, unknown>;

function capture(levels: string, pretty = false): { lines: Line[]; raw: string[] } {
  const lines: Line[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      if (!pretty) lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  configureLogging({ levels, pretty, transports: [new winston.transports.Stream({ stream })] });
  return { lines, raw };
}

describe('logger', () => {
  test('lines carry controller, namespace and name, as JSON', () => {
    const { lines } = capture('');
    const log = logger('pool');
    log.child({ namespace: 'team-a', name: 'web' }).info('scaled up', { from: 2, to: 4 });
    log.info('no object');
    expect(lines.map(({ timestamp, ...rest }) => [typeof timestamp, rest])).toEqual([
      ['string', { controller: 'pool', namespace: 'team-a', name: 'web', from: 2, to: 4, level: 'info', message: 'scaled up' }],
      ['string', { controller: 'pool', level: 'info', message: 'no object' }],
    ]);
  });

  test('the active span gives traceId and spanId; none outside a span', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { lines } = capture('');
      const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
      context.with(trace.setSpan(context.active(), span), () => logger('claim').warn('bind conflict'));
      logger('claim').warn('outside');
      expect(lines[0]).toMatchObject({ controller: 'claim', traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
      expect(lines[1]).not.toHaveProperty('traceId');
    } finally {
      context.disable();
    }
  });

  test('levels per component, with a default for the rest; existing loggers follow a reconfiguration', () => {
    const { lines } = capture('claim=debug,pool=info,*=warn');
    const claim = logger('claim');
    const pool = logger('pool');
    const server = logger('server');
    claim.debug('claim debug');
    claim.silly('claim silly');
    pool.debug('pool debug');
    pool.info('pool info');
    server.info('server info');
    server.warn('server warn');
    server.log('info', 'server info via log()');
    expect(lines.map((line) => line.message)).toEqual(['claim debug', 'pool info', 'server warn']);
    expect(claim.isDebugEnabled()).toBe(true);
    expect(pool.isDebugEnabled()).toBe(false);
    expect(server.isLevelEnabled('warn')).toBe(true);

    const next = capture('*=none');
    claim.error('silenced');
    expect(next.lines).toEqual([]);
  });

  test('errors become fields with their message and stack', () => {
    const { lines } = capture('');
    logger('pool').error('create failed', { error: new Error('quota exceeded') });
    logger('pool').error(new Error('on its own'));
    const error = lines[0]?.error as Record<string, unknown>;
    expect([error.name, error.message, String(error.stack).split('\n')[0]]).toEqual(['Error', 'quota exceeded', 'Error: quota exceeded']);
    expect(lines[1]).toMatchObject({ controller: 'pool', level: 'error', message: 'on its own' });
    expect(String(lines[1]?.stack).split('\n')[0]).toBe('Error: on its own');
  });

  test('an API error is one line (code, reason, message), never the client\'s HTTP dump', () => {
    const { lines, raw } = capture('');
    const status = { kind: 'Status', reason: 'TooManyRequests', message: 'too many requests, retry later', code: 429 };
    const throttled = new ApiException(429, 'Unknown API Status Code!', JSON.stringify(status), { 'retry-after': '1', 'audit-id': 'a1' });
    logger('manager').warn('watch stopped; restarting', { err: throttled });
    expect(lines[0]?.err).toBe('HTTP 429 TooManyRequests: too many requests, retry later');
    expect(raw.join('')).not.toMatch(/Headers|retry-after|audit-id/);
  });

  test('the human format is one colourised line with the object and fields', () => {
    const { raw } = capture('', true);
    logger('claim').child({ namespace: 'ns', name: 'c-1' }).info('bound', { member: 'web-1' });
    expect(raw).toHaveLength(1);
    const colour = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');
    expect(raw[0]).toMatch(colour);
    const line = (raw[0] ?? '').replace(colour, '');
    expect(line).toMatch(/^\S+ info \[claim\] ns\/c-1 bound member=web-1\n$/);
  });

  test('invalid WARMPOOL_LOG entries are reported once', () => {
    const { lines } = capture('claim=loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ controller: 'logging', level: 'warn', entries: ['claim=loud'] });
  });
});
