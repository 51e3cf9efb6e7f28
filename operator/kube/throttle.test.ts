import { makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig, loopbackServer } from './fake-http.js';
import { retryAfterMs, throttleRetryDelayMs } from './throttle.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');
  test.each([
    { value: undefined, want: undefined },
    { value: '3', want: 3000 },
    { value: ' 0 ', want: 0 },
    { value: '-1', want: undefined },
    { value: '1.5', want: undefined },
    { value: 'soon', want: undefined },
    { value: 'Sun, 06 Dec 2026 00:00:02 GMT', want: 2000 },
    { value: 'Sat, 05 Dec 2026 23:00:00 GMT', want: 0 },
  ])('$value: $want', ({ value, want }) => {
    expect(retryAfterMs(value, now)).toBe(want);
  });
});

describe('throttleRetryDelayMs', () => {
  const base = { status: 429, retryAfter: '1', attempt: 0, maxRetries: 5, maxRetryAfterMs: 10_000, nowMs: 0, random: 0 };
  test.each([
    { name: '429 with Retry-After: that delay', input: {}, want: 1000 },
    { name: 'jitter on top, at most 20 %', input: { random: 0.999 }, want: 1199 },
    { name: 'a huge Retry-After is clamped', input: { retryAfter: '86400' }, want: 10_000 },
    { name: 'clamped, with jitter', input: { retryAfter: '86400', random: 0.5 }, want: 11_000 },
    { name: 'Retry-After 0 still waits a little', input: { retryAfter: '0' }, want: 50 },
    { name: 'no Retry-After: not retried here', input: { retryAfter: undefined }, want: undefined },
    { name: 'another status', input: { status: 503 }, want: undefined },
    { name: 'retries used up', input: { attempt: 5 }, want: undefined },
  ])('$name', ({ input, want }) => {
    const got = throttleRetryDelayMs({ ...base, ...input });
    expect(got === undefined ? undefined : Math.floor(got)).toBe(want);
  });
});

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } };

describe('the throttle in the request layer', () => {
  test('a 429 with Retry-After is retried after the delay instead of failing; each attempt is counted', async () => {
    let answered = 0;
    const api = await loopbackServer((_req, res) => {
      answered++;
      if (answered <= 2) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(pod));
    });
    try {
      const codes: number[] = [];
      const waits: number[] = [];
      const { core } = makeInstrumentedClients(api.kc, (_verb, code) => codes.push(code), {
        throttle: { qps: 100, burst: 10, onRetry: (ms) => waits.push(ms) },
      });
      const t0 = Date.now();
      const got = await (core).createNamespacedPod({ namespace: 'ns', body: pod });
      const took = Date.now() - t0;
      expect(got.metadata?.name).toBe('p');
      expect(codes).toEqual([429, 429, 200]);
      expect(waits).toHaveLength(2);
      // Two waits of 1 s (+ up to 20 % jitter each).
      expect(took).toBeGreaterThanOrEqual(2000);
      expect(took).toBeLessThan(2400 + 1000);
    } finally {
      await api.close();
    }
  });

  test('still 429 after the last retry: the error reaches the caller (its own requeue takes over)', async () => {
    const http = fakeHttp(() => ({ status: 429, body: { kind: 'Status', code: 429 } }));
    // The fake answers without Retry-After: nothing to honour, no retry.
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi, throttle: { qps: 100, burst: 10 } });
    await expect((core).readNamespacedPod({ namespace: 'ns', name: 'p' })).rejects.toMatchObject({ code: 429 });
    expect(http.requests).toHaveLength(1);
  });

  test('the token bucket spaces requests beyond the burst at 1/qps', async () => {
    const http = fakeHttp(() => ({ status: 200, body: pod }));
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi, throttle: { qps: 20, burst: 5 } });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 15 }, () => (core).readNamespacedPod({ namespace: 'ns', name: 'p' })));
    const took = Date.now() - t0;
    // 5 at once, then 10 more at 20/s: about 500 ms.
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
    // Lease requests skip the bucket: a renewal never queues behind a burst.
    const l0 = Date.now();
    const { coordination } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi, throttle: { qps: 1, burst: 1 } });
    await Promise.all(Array.from({ length: 5 }, () => coordination.readNamespacedLease({ namespace: 'ns', name: 'op' })));
    expect(Date.now() - l0).toBeLessThan(500);
  });
});
