import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { SecurityAuthentication } from '@kubernetes/client-node';
import { sharedAuthentication, tlsIdentity } from './connections.js';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

// Stands in for an undici Agent: only close() is called on one.
class FakeAgent {
  closed = false;
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function kubeConfig(certFile: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:9', skipTLSVerify: false }, { name: 'u', certFile, keyFile: '/k' });
  return kc;
}

/** A stand-in for the KubeConfig's authentication: a new agent and the current token on every call, as client-node does. */
function fakeAuth(): { authenticate: (ctx: RequestContext) => Promise<void>; agents: FakeAgent[]; calls: () => number; token: { value: string } } {
  const agents: FakeAgent[] = [];
  const token = { value: 't1' };
  const authenticate = (ctx: RequestContext): Promise<void> => {
    const agent = new FakeAgent();
    agents.push(agent);
    ctx.setHeaderParam('Authorization', `Bearer ${token.value}`);
    ctx.setDispatcher(agent as unknown as Dispatcher);
    return Promise.resolve();
  };
  return { authenticate, agents, calls: () => agents.length, token };
}

async function send(auth: SecurityAuthentication): Promise<RequestContext> {
  const ctx = new RequestContext('https://127.0.0.1:9/api/v1/pods', HttpMethod.GET);
  await auth.applySecurityAuthentication(ctx);
  return ctx;
}

describe('sharedAuthentication', () => {
  test('requests share the first agent of their TLS identity, and authenticate once per recheckMs', async () => {
    const fake = fakeAuth();
    let t = 0;
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => 'id', authenticate: fake.authenticate, now: () => t });
    const seen = [await send(auth), await send(auth), await send(auth)].map((c) => c.getDispatcher());
    expect(seen).toEqual([fake.agents[0], fake.agents[0], fake.agents[0]]);
    expect(fake.calls()).toBe(1);
    t = 999;
    await send(auth);
    expect(fake.calls()).toBe(1);
    t = 1000;
    expect((await send(auth)).getDispatcher()).toBe(fake.agents[0]);
    expect(fake.calls()).toBe(2);
  });

  test("every request carries the last check's headers: a rotated token is sent from the next check on", async () => {
    const fake = fakeAuth();
    let t = 0;
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => 'id', authenticate: fake.authenticate, now: () => t });
    expect((await send(auth)).getHeaders().Authorization).toBe('Bearer t1');
    fake.token.value = 't2';
    expect((await send(auth)).getHeaders().Authorization).toBe('Bearer t1');
    t = 1000;
    expect((await send(auth)).getHeaders().Authorization).toBe('Bearer t2');
  });

  test('a new identity (a rotated certificate) switches to a new agent and closes the old one', async () => {
    const fake = fakeAuth();
    let id = 'a';
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => id, authenticate: fake.authenticate, recheckMs: 0 });
    const first = (await send(auth)).getDispatcher();
    id = 'b';
    const second = (await send(auth)).getDispatcher();
    const third = (await send(auth)).getDispatcher();
    expect(first).toBe(fake.agents[0]);
    expect(second).toBe(fake.agents[1]);
    expect(third).toBe(second);
    expect(fake.agents[0]?.closed).toBe(true);
    expect(fake.agents[1]?.closed).toBe(false);
  });

  test('requests that arrive while the credentials are worked out wait for that one check', async () => {
    const releases: Array<() => void> = [];
    let calls = 0;
    const authenticate = async (ctx: RequestContext): Promise<void> => {
      calls++;
      await new Promise<void>((r) => releases.push(r));
      ctx.setHeaderParam('Authorization', 'Bearer x');
    };
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => 'id', authenticate });
    const pending = [send(auth), send(auth), send(auth)];
    await new Promise((r) => setImmediate(r));
    for (const release of releases) release();
    const done = await Promise.all(pending);
    expect(calls).toBe(1);
    expect(done.map((c) => c.getHeaders().Authorization)).toEqual(['Bearer x', 'Bearer x', 'Bearer x']);
  });

  test('a failed check fails the requests that waited for it, and the next request checks again', async () => {
    let fail = true;
    const authenticate = (ctx: RequestContext): Promise<void> => {
      if (fail) return Promise.reject(new Error('exec plugin failed'));
      ctx.setHeaderParam('Authorization', 'Bearer ok');
      return Promise.resolve();
    };
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => 'id', authenticate });
    await expect(send(auth)).rejects.toThrow('exec plugin failed');
    fail = false;
    expect((await send(auth)).getHeaders().Authorization).toBe('Bearer ok');
  });

  test('without an agent (plain http, no TLS material) requests get none', async () => {
    const auth = sharedAuthentication(kubeConfig('/c'), { identity: () => 'id', authenticate: () => Promise.resolve() });
    expect((await send(auth)).getDispatcher()).toBeUndefined();
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
