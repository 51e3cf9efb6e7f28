import { ApiException } from '@kubernetes/client-node';
import { apiVerb, makeInstrumentedClients } from './api-metrics.js';
import { fakeHttp, fakeKubeConfig } from './fake-http.js';

describe('apiVerb', () => {
  const base = 'https://k:6443';
  test.each([
    { method: 'GET', path: '/api/v1/namespaces/ns/pods', want: 'list' },
    { method: 'GET', path: '/api/v1/namespaces/ns/pods?labelSelector=a%3Db', want: 'list' },
    { method: 'GET', path: '/api/v1/pods', want: 'list' },
    { method: 'GET', path: '/api/v1/namespaces/ns/pods/p1', want: 'get' },
    { method: 'GET', path: '/api/v1/namespaces/ns/pods/p1/status', want: 'get' },
    { method: 'GET', path: '/api/v1/namespaces', want: 'list' },
    { method: 'GET', path: '/api/v1/namespaces/ns', want: 'get' },
    { method: 'GET', path: '/api/v1/namespaces/ns/pods?watch=true', want: 'watch' },
    { method: 'GET', path: '/apis/warmpool.dev/v1alpha1/namespaces/ns/instancepools', want: 'list' },
    { method: 'GET', path: '/apis/warmpool.dev/v1alpha1/instancepools', want: 'list' },
    { method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/op', want: 'get' },
    { method: 'POST', path: '/api/v1/namespaces/ns/events', want: 'create' },
    { method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/op', want: 'update' },
    { method: 'PATCH', path: '/apis/warmpool.dev/v1alpha1/namespaces/ns/poolclaims/c/status', want: 'patch' },
    { method: 'DELETE', path: '/api/v1/namespaces/ns/pods/p1', want: 'delete' },
    { method: 'DELETE', path: '/api/v1/namespaces/ns/pods', want: 'deletecollection' },
    { method: 'GET', path: '/version', want: 'get' },
    { method: 'OPTIONS', path: '/api/v1/pods', want: 'options' },
  ])('$method $path -> $want', ({ method, path, want }) => {
    expect(apiVerb(method, base + path)).toBe(want);
  });

  test('an unparsable URL falls back to the method', () => {
    expect(apiVerb('GET', 'not a url')).toBe('get');
  });
});

describe('makeInstrumentedClients', () => {
  test('reports every request of every client with its verb and code, errors included', async () => {
    const http = fakeHttp((req) => {
      if (req.url.pathname.endsWith('/pods/missing')) return { status: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } };
      if (req.url.pathname.includes('/leases/')) throw new Error('connection reset');
      return { status: 200, body: { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] } };
    });
    const seen: string[] = [];
    const clients = makeInstrumentedClients(fakeKubeConfig(), (verb, code) => seen.push(`${verb} ${code}`), {
      httpApi: http.httpApi,
      userAgent: 'warmpool-test',
    });
    await clients.core.listNamespacedPod({ namespace: 'ns' });
    await expect(clients.core.readNamespacedPod({ namespace: 'ns', name: 'missing' })).rejects.toBeInstanceOf(ApiException);
    await expect(clients.coordination.readNamespacedLease({ namespace: 'ns', name: 'op' })).rejects.toThrow('connection reset');
    await clients.custom.listNamespacedCustomObject({ group: 'warmpool.dev', version: 'v1alpha1', namespace: 'ns', plural: 'instancepools' });
    expect(seen).toEqual(['list 200', 'get 404', 'get 0', 'list 200']);
    expect(http.requests[0]?.url.origin).toBe('https://127.0.0.1:9');
    expect(http.requests[0]?.headers['User-Agent']).toBe('warmpool-test');
    expect(http.requests[0]?.headers['Authorization']).toBe('Bearer t');
  });

  test('a throwing callback does not fail the request', async () => {
    const http = fakeHttp(() => ({ status: 200, body: { items: [] } }));
    const clients = makeInstrumentedClients(
      fakeKubeConfig(),
      () => {
        throw new Error('metrics broke');
      },
      { httpApi: http.httpApi },
    );
    await expect(clients.core.listNamespacedPod({ namespace: 'ns' })).resolves.toBeDefined();
  });
});
