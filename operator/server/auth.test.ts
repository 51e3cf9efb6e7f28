import type { AccessReviewResult, ReviewClients, TokenReviewResult, UserInfo } from './auth.js';
import { MetricsAuthorizer, TtlCache, bearerToken, withAuthorization } from './auth.js';
import { healthzHandler, startHttpServer, type RunningServer } from './http.js';

describe('bearerToken', () => {
  test.each([
    { header: 'Bearer abc.def', token: 'abc.def' },
    { header: 'bearer abc', token: 'abc' },
    { header: '  BEARER   abc  ', token: 'abc' },
    { header: undefined, token: undefined },
    { header: '', token: undefined },
    { header: 'Bearer', token: undefined },
    { header: 'Bearer ', token: undefined },
    { header: 'Basic dXNlcjpwYXNz', token: undefined },
    { header: 'Bearer a b', token: undefined },
    { header: `Bearer ${'x'.repeat(16_385)}`, token: undefined },
  ])('$header', ({ header, token }) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('TtlCache', () => {
  test('expires entries and drops the oldest beyond its size', () => {
    let now = 0;
    const c = new TtlCache<number>(2, () => now);
    c.set('a', 1, 100);
    c.set('b', 2, 100);
    c.set('c', 3, 100);
    expect([c.get('a'), c.get('b'), c.get('c'), c.size]).toEqual([undefined, 2, 3, 2]);
    now = 100;
    expect(c.get('b')).toBeUndefined();
    c.set('d', 4, 0);
    expect(c.get('d')).toBeUndefined();
  });
});

// API server stand-in: tokens map to users, users map to allowed; every call is counted.
class FakeReviews implements ReviewClients {
  tokenCalls = 0;
  accessCalls = 0;
  failing = false;
  gate: Promise<void> = Promise.resolve();
  lastAccess: { user: UserInfo; path: string; verb: string } | undefined;
  constructor(
    readonly users: Record<string, UserInfo>,
    readonly allowed: Set<string>,
  ) {}
  async tokenReview(token: string): Promise<TokenReviewResult> {
    this.tokenCalls++;
    await this.gate;
    if (this.failing) throw new Error('connect ECONNREFUSED');
    const user = this.users[token];
    return user ? { authenticated: true, user } : { authenticated: false, error: 'invalid bearer token' };
  }
  async subjectAccessReview(user: UserInfo, path: string, verb: string): Promise<AccessReviewResult> {
    this.accessCalls++;
    await this.gate;
    if (this.failing) throw new Error('timeout');
    this.lastAccess = { user, path, verb };
    return { allowed: this.allowed.has(user.username) && path === '/metrics' && verb === 'get' };
  }
}

describe('MetricsAuthorizer', () => {
  const prom: UserInfo = { username: 'system:serviceaccount:mon:prometheus', uid: 'u1', groups: ['system:serviceaccounts'] };
  const other: UserInfo = { username: 'system:serviceaccount:team:app', uid: 'u2' };
  let now = 0;
  let api: FakeReviews;
  let auth: MetricsAuthorizer;
  beforeEach(() => {
    now = 0;
    api = new FakeReviews({ 'prom-token': prom, 'app-token': other }, new Set([prom.username]));
    auth = new MetricsAuthorizer({ clients: api, now: () => now });
  });

  test.each([
    { what: 'no header', header: undefined, status: 401, calls: 0 },
    { what: 'not a bearer token', header: 'Basic cHJvbTpwcm9t', status: 401, calls: 0 },
    { what: 'a token the API server rejects', header: 'Bearer forged', status: 401, calls: 1 },
    { what: 'a valid token of a user not allowed', header: 'Bearer app-token', status: 403, calls: 2 },
    { what: 'a valid token of an allowed user', header: 'Bearer prom-token', status: 200, calls: 2 },
  ])('$what: $status', async ({ header, status, calls }) => {
    expect((await auth.check(header)).status).toBe(status);
    expect(api.tokenCalls + api.accessCalls).toBe(calls);
  });

  test('asks for get on the non-resource URL /metrics as the reviewed user', async () => {
    await auth.check('Bearer prom-token');
    expect(api.lastAccess).toEqual({ user: prom, path: '/metrics', verb: 'get' });
  });

  test('a scrape every few seconds costs no API call after the first, until the entry expires', async () => {
    for (let i = 0; i < 10; i++) {
      now = i * 5_000; // 0 .. 45 s
      expect((await auth.check('Bearer prom-token')).status).toBe(200);
    }
    expect([api.tokenCalls, api.accessCalls]).toEqual([1, 1]);
    now = 60_000;
    expect((await auth.check('Bearer prom-token')).status).toBe(200);
    expect([api.tokenCalls, api.accessCalls]).toEqual([2, 2]);
  });

  test('refusals are cached for less time, so a new binding takes effect soon', async () => {
    expect((await auth.check('Bearer app-token')).status).toBe(403);
    api.allowed.add(other.username);
    now = 9_999;
    expect((await auth.check('Bearer app-token')).status).toBe(403);
    now = 10_000;
    expect((await auth.check('Bearer app-token')).status).toBe(200);
    expect(api.accessCalls).toBe(2);
  });

  test('a burst with one token shares one review', async () => {
    let open: () => void = () => undefined;
    api.gate = new Promise((r) => (open = r));
    const burst = Array.from({ length: 20 }, () => auth.check('Bearer prom-token'));
    open();
    expect((await Promise.all(burst)).map((d) => d.status)).toEqual(Array(20).fill(200));
    expect([api.tokenCalls, api.accessCalls]).toEqual([1, 1]);
  });

  test('reviews in flight are capped: beyond the cap, 429 without an API call', async () => {
    auth = new MetricsAuthorizer({ clients: api, now: () => now, maxInFlight: 3 });
    let open: () => void = () => undefined;
    api.gate = new Promise((r) => (open = r));
    const burst = Array.from({ length: 5 }, (_, i) => auth.check(`Bearer random-${i}`));
    open();
    expect((await Promise.all(burst)).map((d) => d.status)).toEqual([401, 401, 401, 429, 429]);
    expect(api.tokenCalls).toBe(3);
  });

  test('the caches are bounded', async () => {
    auth = new MetricsAuthorizer({ clients: api, now: () => now, maxEntries: 4 });
    for (let i = 0; i < 10; i++) await auth.check(`Bearer random-${i}`);
    await auth.check('Bearer random-9');
    expect(api.tokenCalls).toBe(10);
    await auth.check('Bearer random-0');
    expect(api.tokenCalls).toBe(11);
  });

  test('the API server failing: 503, nothing cached, the next request asks again', async () => {
    api.failing = true;
    const d = await auth.check('Bearer prom-token');
    expect(d.status).toBe(503);
    expect(d.message).toContain('ECONNREFUSED');
    api.failing = false;
    expect((await auth.check('Bearer prom-token')).status).toBe(200);
    expect(api.tokenCalls).toBe(2);
  });

  test('no message carries the token', async () => {
    for (const h of ['Bearer forged-secret', 'Bearer app-token']) expect((await auth.check(h)).message).not.toMatch(/forged-secret|app-token/);
  });
});

describe('withAuthorization', () => {
  const api = new FakeReviews({ good: { username: 'reader' }, other: { username: 'other' } }, new Set(['reader']));
  let server: RunningServer;
  beforeAll(async () => {
    const auth = new MetricsAuthorizer({ clients: api });
    server = await startHttpServer({ address: '127.0.0.1:0', routes: { '/metrics': withAuthorization(auth, healthzHandler()) } });
  });
  afterAll(async () => {
    await server.close();
  });
  const get = (token?: string) =>
    fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });

  test('401 with a Bearer challenge, 403, or the handler', async () => {
    const none = await get();
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect((await get('other')).status).toBe(403);
    const ok = await get('good');
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
  });
});
