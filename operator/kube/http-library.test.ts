import { makeInstrumentedClients } from './api-metrics.js';
import { loopbackServer } from './fake-http.js';

// The operator's clients over a real loopback server: a write's body arrives whole, and a raw GET's body can be
// read as a web stream (the scraper reads it with a cap).
test('a create sends its JSON body; a raw GET returns a readable web stream', async () => {
  const bodies: string[] = [];
  const api = await loopbackServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      bodies.push(`${req.method} ${body}`);
      res.writeHead(200, { 'content-type': req.method === 'GET' ? 'text/plain' : 'application/json' });
      res.end(req.method === 'GET' ? 'metric 1\n' : body);
    });
  });
  try {
    const { core, rawGet } = makeInstrumentedClients(api.kc, () => undefined);
    const created = await core.createNamespacedPod({ namespace: 'ns', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } } });
    expect(created.metadata?.name).toBe('p');
    expect(bodies[0]).toMatch(/^POST \{.*"name":"p"/);
    const res = await rawGet('/api/v1/namespaces/ns/pods/p/proxy/metrics');
    const reader = res.body.stream()?.getReader();
    let text = '';
    for (;;) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    expect(text).toBe('metric 1\n');
  } finally {
    await api.close();
  }
});
