import { jest } from '@jest/globals';
import { declaredRequestClass, nextClass, requestClass, withRequestClass } from './priority.js';
import { PriorityLimiter } from './throttle.js';
import { makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig } from './fake-http.js';

const API = 'https://127.0.0.1:6443';

describe('requestClass', () => {
  test.each([
    { name: 'nothing declared: refill', declared: undefined, url: `${API}/api/v1/namespaces/ns/pods/m-1`, want: 'refill' },
    { name: 'declared refill: refill', declared: 'refill' as const, url: `${API}/api/v1/namespaces/ns/pods`, want: 'refill' },
    { name: 'claim: the member patch', declared: 'claim' as const, url: `${API}/api/v1/namespaces/ns/pods/m-1`, want: 'claim' },
    {
      name: 'claim: the claim status',
      declared: 'claim' as const,
      url: `${API}/apis/warmpool.dev/v1alpha1/namespaces/ns/poolclaims/c-1/status`,
      want: 'claim',
    },
    { name: 'claim context, but an Event: refill', declared: 'claim' as const, url: `${API}/api/v1/namespaces/ns/events`, want: 'refill' },
    {
      name: 'claim context, an events.k8s.io Event: refill',
      declared: 'claim' as const,
      url: `${API}/apis/events.k8s.io/v1/namespaces/ns/events/e-1`,
      want: 'refill',
    },
    { name: 'a pod named events is still a pod', declared: 'claim' as const, url: `${API}/api/v1/namespaces/ns/pods/events`, want: 'claim' },
    { name: 'an unreadable URL in a claim context: claim', declared: 'claim' as const, url: 'not a url', want: 'claim' },
  ])('$name', ({ declared, url, want }) => {
    expect(requestClass({ declared, url })).toBe(want);
  });
});

describe('nextClass', () => {
  const base = { claimsWaiting: 0, refillsWaiting: 0, oldestRefillWaitedMs: 0, maxRefillDeferMs: 1000 };
  test.each([
    { name: 'nothing waits: nobody', input: {}, want: undefined },
    { name: 'only claims wait: a claim', input: { claimsWaiting: 2 }, want: 'claim' },
    { name: 'only refill waits: refill', input: { refillsWaiting: 3, oldestRefillWaitedMs: 5 }, want: 'refill' },
    { name: 'both wait: the claim goes first', input: { claimsWaiting: 1, refillsWaiting: 30, oldestRefillWaitedMs: 999 }, want: 'claim' },
    { name: 'refill held back its limit: it goes first', input: { claimsWaiting: 5, refillsWaiting: 1, oldestRefillWaitedMs: 1000 }, want: 'refill' },
    { name: 'no defer allowed: plain FIFO by age', input: { claimsWaiting: 1, refillsWaiting: 1, oldestRefillWaitedMs: 0, maxRefillDeferMs: 0 }, want: 'refill' },
  ])('$name', ({ input, want }) => {
    expect(nextClass({ ...base, ...input })).toBe(want);
  });
});

describe('withRequestClass', () => {
  test('the class follows the async chain, and stops at its end', async () => {
    const seen = await withRequestClass('claim', async () => {
      await Promise.resolve();
      const later = new Promise<string | undefined>((r) => setTimeout(() => r(declaredRequestClass()), 1));
      return [declaredRequestClass(), await later];
    });
    expect(seen).toEqual(['claim', 'claim']);
    expect(declaredRequestClass()).toBeUndefined();
  });
});

describe('PriorityLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** Acquires in order and records the order in which the requests were let go. */
  function line(limiter: PriorityLimiter, classes: readonly ('claim' | 'refill')[]): string[] {
    const went: string[] = [];
    classes.forEach((cls, i) => void limiter.acquire(cls).then(() => went.push(`${cls}-${i}`)));
    return went;
  }

  test('within the burst every request goes at once, whatever its class', async () => {
    const limiter = new PriorityLimiter(10, 3);
    const went = line(limiter, ['refill', 'claim', 'refill']);
    await Promise.resolve();
    expect(went).toEqual(['refill-0', 'claim-1', 'refill-2']);
  });

  test('past the burst a claim goes before the refill requests that waited longer, at the same rate', async () => {
    const limiter = new PriorityLimiter(10, 1);
    const went = line(limiter, ['refill', 'refill', 'refill', 'refill', 'claim', 'claim']);
    await Promise.resolve();
    expect(went).toEqual(['refill-0']);
    // One token per 100 ms: the two claims take the next two, then the refill resumes in its order.
    for (const want of [['claim-4'], ['claim-5'], ['refill-1'], ['refill-2'], ['refill-3']]) {
      await jest.advanceTimersByTimeAsync(100);
      expect(went.slice(-1)).toEqual(want);
    }
    expect(went).toHaveLength(6);
  });

  test('a refill request is never held back longer than maxRefillDeferMs by a stream of claims', async () => {
    const limiter = new PriorityLimiter(10, 1, 250);
    const went: string[] = [];
    void limiter.acquire('claim').then(() => went.push('first'));
    void limiter.acquire('refill').then(() => went.push('refill'));
    // A claim every 100 ms keeps the claim line busy.
    let i = 0;
    const stream = setInterval(() => void limiter.acquire('claim').then(() => went.push(`claim-${i++}`)), 100);
    void limiter.acquire('claim').then(() => went.push('claim-early'));
    await jest.advanceTimersByTimeAsync(200);
    expect(went).not.toContain('refill');
    await jest.advanceTimersByTimeAsync(200);
    clearInterval(stream);
    // Waited 250 ms: it took the next token although claims were waiting.
    expect(went).toContain('refill');
    expect(limiter.waitingCount('claim')).toBeGreaterThan(0);
  });
});

describe('the throttle serves claim-class requests first', () => {
  test("a claim pass's member patch overtakes the refill's creates waiting for tokens", async () => {
    const http = fakeHttp(() => ({ status: 200, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } } }));
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi, throttle: { qps: 50, burst: 1 } });
    const pod = { metadata: { name: 'p' } };
    const refill = Array.from({ length: 10 }, () => core.createNamespacedPod({ namespace: 'ns', body: pod }));
    const bind = withRequestClass('claim', () => core.patchNamespacedPod({ namespace: 'ns', name: 'm-1', body: [] }));
    await bind;
    // The burst token went to the first create; the bind took the next one (20 ms later), ahead of nine creates.
    const methods = http.requests.map((r) => r.method);
    expect(methods.indexOf('PATCH')).toBe(1);
    await Promise.all(refill);
    expect(http.requests).toHaveLength(11);
  });
});
