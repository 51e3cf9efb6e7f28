import { makeInstrumentedClients } from './api-metrics.js';
import { RequestTimeoutError } from './deadline.js';
import { loopbackServer } from './fake-http.js';

// A real loopback server that takes the request and never answers it, and one that answers at once: the client
// with a deadline gives up on the first (counted as no response), and the second is untouched.
test('a request not answered within the deadline is aborted with a RequestTimeoutError; an answered one is not', async () => {
  const hung: Array<() => void> = [];
  const api = await loopbackServer((req, res) => {
    if (req.url?.includes('/pods/hang') === true) {
      hung.push(() => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ok', namespace: 'ns' } }));
  });
  try {
    const codes: number[] = [];
    const { core } = makeInstrumentedClients(api.kc, (_verb, code) => codes.push(code), { requestTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(core.readNamespacedPod({ namespace: 'ns', name: 'hang' })).rejects.toBeInstanceOf(RequestTimeoutError);
    // Well before undici's own 300 s: the deadline, not anything else, ended it.
    expect(Date.now() - t0).toBeLessThan(30_000);
    const got = await core.readNamespacedPod({ namespace: 'ns', name: 'ok' });
    expect(got.metadata?.name).toBe('ok');
    expect(codes).toEqual([0, 200]);
  } finally {
    for (const end of hung) end();
    await api.close();
  }
});
