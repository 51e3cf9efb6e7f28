import { makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig, loopbackServer } from './fake-http.js';
import { HttpMethod, RequestContext, wrapHttpLibrary } from '@kubernetes/client-node';
import { FencedError, PinnedFences, ShardFences, WriteFence, isFencedRequest } from './fence.js';

const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op', namespace: 'ns' } };
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } };

function clients(fence: WriteFence | ShardFences, respond: Parameters<typeof fakeHttp>[0] = () => ({ status: 200, body: pod })) {
  const http = fakeHttp(respond);
  const { core, coordination } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, { fence, httpApi: http.httpApi });
  return { core: core, coordination: coordination, http };
}

describe('isFencedRequest', () => {
  test.each([
    { method: 'POST', path: '/api/v1/namespaces/ns/pods', fenced: true },
    { method: 'PATCH', path: '/apis/warmpool.dev/v1alpha1/namespaces/ns/poolclaims/c/status', fenced: true },
    { method: 'DELETE', path: '/api/v1/namespaces/ns/pods/p', fenced: true },
    { method: 'POST', path: '/api/v1/namespaces/ns/events', fenced: true },
    { method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/op', fenced: false },
    { method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases', fenced: false },
    { method: 'GET', path: '/api/v1/namespaces/ns/pods', fenced: false },
    // A lookalike path elsewhere is not the Lease API.
    { method: 'PUT', path: '/apis/warmpool.dev/v1/namespaces/ns/leases/op', fenced: true },
  ])('$method $path: $fenced', ({ method, path, fenced }) => {
    expect(isFencedRequest(method, `https://127.0.0.1:9${path}`)).toBe(fenced);
  });
});

describe('the write fence in the request layer', () => {
  test('closed until leading: writes are refused before they are sent; reads and the Lease go out', async () => {
    const fence = new WriteFence();
    const { core, coordination, http } = clients(fence);
    await expect(core.createNamespacedPod({ namespace: 'ns', body: pod })).rejects.toBeInstanceOf(FencedError);
    await core.readNamespacedPod({ namespace: 'ns', name: 'p' });
    await coordination.replaceNamespacedLease({ namespace: 'ns', name: 'op', body: lease });
    expect(http.requests.map((r) => r.method)).toEqual(['GET', 'PUT']);
  });

  test('open while leading and renewed; closed once the leader signal aborts', async () => {
    const fence = new WriteFence();
    const { core, http } = clients(fence);
    const term = new AbortController();
    fence.extend(Date.now() + 10_000);
    fence.lead(term.signal);
    await core.createNamespacedPod({ namespace: 'ns', body: pod });
    term.abort();
    await expect(core.deleteNamespacedPod({ namespace: 'ns', name: 'p' })).rejects.toBeInstanceOf(FencedError);
    expect(http.requests.map((r) => r.method)).toEqual(['POST']);
  });

  test('closed once the last renewal + renewDeadline has passed, even if nobody stepped down (a paused process)', async () => {
    let now = 1_000;
    const fence = new WriteFence({ now: () => now });
    const { core, http } = clients(fence);
    fence.lead(new AbortController().signal);
    fence.extend(11_000);
    await core.createNamespacedPod({ namespace: 'ns', body: pod });
    now = 11_000; // resumed after SIGSTOP: the elector has not run yet, its signal is not aborted
    await expect(core.createNamespacedPod({ namespace: 'ns', body: pod })).rejects.toBeInstanceOf(FencedError);
    fence.extend(5_000); // a late, older renewal never shortens nor reopens
    expect(fence.isOpen()).toBe(false);
    expect(http.requests).toHaveLength(1);
  });

  test('a write in flight is aborted when leadership ends', async () => {
    const fence = new WriteFence();
    const term = new AbortController();
    fence.extend(Date.now() + 10_000);
    fence.lead(term.signal);
    let seen: AbortSignal | undefined;
    const { core } = clients(fence, (req) => {
      seen = req.signal;
      return new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const write = core.createNamespacedPod({ namespace: 'ns', body: pod });
    await new Promise((r) => setImmediate(r));
    expect(seen?.aborted).toBe(false);
    term.abort();
    await expect(write).rejects.toThrow(/aborted/);
    expect(seen?.aborted).toBe(true);
  });

  test('unfenced (no leader election): always open', async () => {
    const { core, http } = clients(WriteFence.unfenced());
    await core.createNamespacedPod({ namespace: 'ns', body: pod });
    expect(http.requests).toHaveLength(1);
  });
});

describe('the fence at the socket', () => {
  test('a write that passed the first check is still refused if the fence closed before it reached the socket', async () => {
    let received = 0;
    const api = await loopbackServer((_req, res) => {
      received++;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(pod));
    });
    try {
      // The clock jumps past the lease between the request layer's check and the socket write (a paused process).
      const checks: string[] = [];
      let nowMs = 0;
      const fence = new WriteFence({ now: () => nowMs });
      fence.lead(new AbortController().signal);
      fence.extend(10_000);
      const { core } = makeInstrumentedClients(api.kc, () => undefined, { fence });
      const open = fence.isOpen.bind(fence);
      fence.isOpen = () => {
        const r = open();
        checks.push(r ? 'open' : 'closed');
        nowMs = 20_000;
        return r;
      };
      await expect(core.createNamespacedPod({ namespace: 'ns', body: pod })).rejects.toThrow();
      expect(checks).toEqual(['open', 'closed']);
      expect(received).toBe(0);
      // Reads are not fenced.
      await core.readNamespacedPod({ namespace: 'ns', name: 'p' });
      expect(received).toBe(1);
    } finally {
      await api.close();
    }
  });
});

describe('one fence per shard (--shards)', () => {
  const open = (f: WriteFence, term = new AbortController()): AbortController => {
    f.extend(Date.now() + 10_000);
    f.lead(term.signal);
    return term;
  };

  test("a pass's writes need its own shard's fence; outside any pass writes are refused", async () => {
    const fences = new ShardFences(3);
    const { core, http } = clients(fences);
    open(fences.shard(1));
    await fences.run(1, () => core.createNamespacedPod({ namespace: 'ns', body: pod }));
    await expect(fences.run(2, () => core.createNamespacedPod({ namespace: 'ns', body: pod }))).rejects.toBeInstanceOf(FencedError);
    await expect(core.createNamespacedPod({ namespace: 'ns', body: pod })).rejects.toBeInstanceOf(FencedError);
    expect(http.requests.map((r) => r.method)).toEqual(['POST']);
  });

  test('the shard follows the pass into work it starts and awaits (timers, fire-and-forget)', async () => {
    const fences = new ShardFences(2);
    const { core, http } = clients(fences);
    open(fences.shard(0));
    const later = await fences.run(0, async () => {
      await new Promise((r) => setTimeout(r, 5));
      // Started inside the pass, sent after it returned (as an Event write is).
      return new Promise<unknown>((resolve) => setTimeout(() => resolve(core.createNamespacedPod({ namespace: 'ns', body: pod })), 5));
    });
    await later;
    expect(http.requests).toHaveLength(1);
  });

  test("losing a shard aborts its writes in flight and leaves the other shard's alone", async () => {
    const fences = new ShardFences(2);
    const term0 = open(fences.shard(0));
    open(fences.shard(1));
    const { core } = clients(fences, (req) => new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new Error('aborted')))));
    const w0 = fences.run(0, () => core.createNamespacedPod({ namespace: 'ns', body: pod }));
    const w1 = fences.run(1, () => core.createNamespacedPod({ namespace: 'ns', body: pod }));
    let w1Settled = false;
    void w1.catch(() => undefined).finally(() => (w1Settled = true));
    await new Promise((r) => setImmediate(r));
    term0.abort();
    await expect(w0).rejects.toThrow(/aborted/);
    await new Promise((r) => setImmediate(r));
    expect(w1Settled).toBe(false);
  });

  test("the fence is fixed when the client is called: a write the token bucket holds back keeps its pass's shard", async () => {
    const fences = new ShardFences(2);
    open(fences.shard(0));
    const http = fakeHttp(() => ({ status: 200, body: pod }));
    const { core } = makeInstrumentedClients(fakeKubeConfig(), () => undefined, {
      fence: fences,
      httpApi: http.httpApi,
      throttle: { qps: 20, burst: 1 },
    });
    // The first write takes the only token; the second waits ~50 ms in the bucket, then goes out.
    await fences.run(0, () => Promise.all([0, 1].map(() => core.createNamespacedPod({ namespace: 'ns', body: pod }))));
    expect(http.requests).toHaveLength(2);
  });

  test('pinned when the client is called: a layer that sends the request later, from a context of its own, still sees its shard', async () => {
    const fences = new ShardFences(2);
    open(fences.shard(0));
    const pinned = new PinnedFences(fences);
    let later: (() => void) | undefined;
    // A scheduler-like layer: parks the request and sends it from a callback run outside the pass.
    const parked = pinned.pin(
      wrapHttpLibrary({
        send: (req) => new Promise((resolve) => (later = () => resolve({ open: pinned.of(req).isOpen() } as never))),
      }),
    );
    const request = new RequestContext('https://127.0.0.1:9/api/v1/namespaces/ns/pods', HttpMethod.POST);
    const sent = fences.run(0, () => parked.send(request).toPromise());
    await new Promise((r) => setImmediate(r));
    later?.();
    expect(await sent).toEqual({ open: true });
  });
});
