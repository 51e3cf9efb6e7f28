import { KubeConfig, RequestContext, ResponseContext, wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary } from '@kubernetes/client-node';
import { reuseConnections, tlsIdentity } from './connections.js';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

// Stands in for an undici Agent: only close() is called on one.
class FakeAgent {
  closed = false;
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
const Agent = FakeAgent;

function recording(): { lib: HttpLibrary; seen: unknown[] } {
  const seen: unknown[] = [];
  const lib = wrapHttpLibrary({
    send(ctx: RequestContext): Promise<ResponseContext> {
      seen.push(ctx.getDispatcher());
      return Promise.resolve(new ResponseContext(200, {}, { text: async () => '', binary: async () => Buffer.from(''), stream: () => null }));
    },
  });
  return { lib, seen };
}

function request(agent?: FakeAgent): RequestContext {
  const dispatcher = agent as unknown as Dispatcher | undefined;
  const ctx = new RequestContext('https://127.0.0.1:9/api/v1/pods', 'GET');
  if (dispatcher !== undefined) ctx.setDispatcher(dispatcher);
  return ctx;
}

function kubeConfig(certFile: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:9', skipTLSVerify: false }, { name: 'u', certFile, keyFile: '/k' });
  return kc;
}

describe('reuseConnections', () => {
  test('requests share the first agent of their TLS identity; their own agents go unused', async () => {
    const { lib, seen } = recording();
    const wrapped = reuseConnections(lib, kubeConfig('/c'), { identity: () => 'id' });
    const first = new Agent();
    await wrapped.send(request(first)).toPromise();
    await wrapped.send(request(new Agent())).toPromise();
    await wrapped.send(request(new Agent())).toPromise();
    expect(seen).toEqual([first, first, first]);
  });

  test('a new identity (a rotated certificate) switches to a new agent and closes the old one', async () => {
    const { lib, seen } = recording();
    let id = 'a';
    const wrapped = reuseConnections(lib, kubeConfig('/c'), { identity: () => id, recheckMs: 0 });
    const a = new Agent();
    const b = new Agent();
    await wrapped.send(request(a)).toPromise();
    id = 'b';
    await wrapped.send(request(b)).toPromise();
    await wrapped.send(request(new Agent())).toPromise();
    expect(seen).toEqual([a, b, b]);
    expect(a.closed).toBe(true);
    expect(b.closed).toBe(false);
  });

  test('the identity is worked out again at most every recheckMs', async () => {
    const { lib } = recording();
    let calls = 0;
    let t = 0;
    const wrapped = reuseConnections(lib, kubeConfig('/c'), { identity: () => String(++calls), recheckMs: 1000, now: () => t });
    await wrapped.send(request(new Agent())).toPromise();
    t = 999;
    await wrapped.send(request(new Agent())).toPromise();
    expect(calls).toBe(1);
    t = 1000;
    await wrapped.send(request(new Agent())).toPromise();
    expect(calls).toBe(2);
  });

  test('a request without an agent (plain http, no TLS material) is passed through untouched', async () => {
    const { lib, seen } = recording();
    await reuseConnections(lib, kubeConfig('/c'), { identity: () => 'id' }).send(request()).toPromise();
    expect(seen).toEqual([undefined]);
  });
});

describe('tlsIdentity', () => {
  test('changes when a certificate file is rewritten, not otherwise', () => {
    let mtime = 1;
    const kc = kubeConfig('/c');
    const before = tlsIdentity(kc, () => mtime);
    expect(tlsIdentity(kc, () => mtime)).toBe(before);
    mtime = 2;
    expect(tlsIdentity(kc, () => mtime)).not.toBe(before);
  });

  test('differs between users of one cluster', () => {
    expect(tlsIdentity(kubeConfig('/c1'), () => 0)).not.toBe(tlsIdentity(kubeConfig('/c2'), () => 0));
  });
});
