import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig } from './fake-http.js';
import { timeoutOptions } from './request-options.js';

describe('timeoutOptions', () => {
  test('gives each request its own abort signal and keeps other options', async () => {
    const http = fakeHttp(() => ({ status: 200, body: { metadata: { name: 'm1' } } }));
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi });
    const opts = timeoutOptions(60_000, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.patchNamespacedPod({ namespace: 'ns', name: 'm1', body: {} }, opts);
    await core.patchNamespacedPod({ namespace: 'ns', name: 'm1', body: {} }, opts);
    const [a, b] = http.requests;
    expect(a?.signal).toBeInstanceOf(AbortSignal);
    expect(a?.signal).not.toBe(b?.signal);
    expect(a?.signal?.aborted).toBe(false);
    expect(a?.headers['Content-Type']).toBe('application/merge-patch+json');
    expect(a?.headers['User-Agent']).toBe('warmpool');
  });

  test('the signal aborts after the timeout', async () => {
    const http = fakeHttp(() => ({ status: 200, body: {} }));
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi });
    await core.readNamespacedPod({ namespace: 'ns', name: 'm1' }, timeoutOptions(1));
    const signal = http.requests[0]?.signal;
    await new Promise((r) => setTimeout(r, 20));
    expect(signal?.aborted).toBe(true);
  });
});
