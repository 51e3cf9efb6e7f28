import { makeInstrumentedClients } from './api-metrics.js';
import { isConflict } from './errors.js';
import { fakeHttp, fakeKubeConfig } from './fake-http.js';
import { customClient, mergePatchPod, removeFinalizerOps, withResourceVersion } from './patch.js';

const POOLCLAIMS = { group: 'warmpool.dev', version: 'v1alpha1', plural: 'poolclaims' };

function clients(status = 200) {
  const http = fakeHttp(() =>
    status === 200
      ? { status, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'm1' } } }
      : { status, body: { kind: 'Status', reason: 'Conflict', code: status } },
  );
  return { http, ...makeInstrumentedClients(fakeKubeConfig(), () => undefined, { httpApi: http.httpApi }) };
}

describe('withResourceVersion', () => {
  test('adds the precondition to existing metadata without touching the rest', () => {
    const patch = { metadata: { labels: { state: 'claimed' } }, spec: { x: 1 } };
    expect(withResourceVersion(patch, '42')).toEqual({
      metadata: { labels: { state: 'claimed' }, resourceVersion: '42' },
      spec: { x: 1 },
    });
    expect(patch.metadata).toEqual({ labels: { state: 'claimed' } });
  });

  test('leaves the patch alone without a resourceVersion', () => {
    const patch = { metadata: { labels: {} } };
    expect(withResourceVersion(patch, undefined)).toBe(patch);
  });
});

describe('merge patch helpers', () => {
  test('mergePatchPod sends a merge patch with the resourceVersion precondition', async () => {
    const c = clients();
    await mergePatchPod(c.core, 'ns', 'm1', { metadata: { labels: { state: 'claimed', old: null } } }, '7');
    const req = c.http.requests[0];
    expect(req?.method).toBe('PATCH');
    expect(req?.url.pathname).toBe('/api/v1/namespaces/ns/pods/m1');
    expect(req?.headers['Content-Type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ metadata: { labels: { state: 'claimed', old: null }, resourceVersion: '7' } });
  });

  test('mergePatchPod surfaces a 409 as a conflict', async () => {
    const c = clients(409);
    const err: unknown = await mergePatchPod(c.core, 'ns', 'm1', { metadata: {} }, '7').catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
  });

  test('customClient.mergePatchStatus patches the status subresource', async () => {
    const c = clients();
    await customClient(c.custom, POOLCLAIMS).mergePatchStatus({ namespace: 'ns', name: 'c1' }, { phase: 'Bound' });
    const req = c.http.requests[0];
    expect(req?.url.pathname).toBe('/apis/warmpool.dev/v1alpha1/namespaces/ns/poolclaims/c1/status');
    expect(req?.headers['Content-Type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ status: { phase: 'Bound' } });
  });

  test('customClient.mergePatchScale sets spec.replicas of the scale subresource, with the precondition', async () => {
    const c = clients();
    await customClient(c.custom, { ...POOLCLAIMS, plural: 'instancepools' }).mergePatchScale({ namespace: 'ns', name: 'web' }, 26, '7');
    const req = c.http.requests[0];
    expect(req?.method).toBe('PATCH');
    expect(req?.url.pathname).toBe('/apis/warmpool.dev/v1alpha1/namespaces/ns/instancepools/web/scale');
    expect(req?.headers['Content-Type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ spec: { replicas: 26 }, metadata: { resourceVersion: '7' } });
  });

  test('customClient.jsonPatch sends a JSON Patch of the object itself', async () => {
    const c = clients();
    const ops = removeFinalizerOps(['a', 'warmpool.dev/f', 'b'], 'warmpool.dev/f');
    await customClient(c.custom, { ...POOLCLAIMS, plural: 'instancepools' }).jsonPatch({ namespace: 'ns', name: 'web' }, ops);
    const req = c.http.requests[0];
    expect(req?.method).toBe('PATCH');
    expect(req?.url.pathname).toBe('/apis/warmpool.dev/v1alpha1/namespaces/ns/instancepools/web');
    expect(req?.headers['Content-Type']).toBe('application/json-patch+json');
    expect(JSON.parse(req?.body ?? '')).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['a', 'warmpool.dev/f', 'b'] },
      { op: 'replace', path: '/metadata/finalizers', value: ['a', 'b'] },
    ]);
  });

  test('customClient.mergePatch patches the object itself, optionally with a precondition', async () => {
    const c = clients();
    await customClient(c.custom, POOLCLAIMS).mergePatch({ namespace: 'ns', name: 'c1' }, { metadata: { finalizers: ['f'] } }, '3');
    const req = c.http.requests[0];
    expect(req?.url.pathname).toBe('/apis/warmpool.dev/v1alpha1/namespaces/ns/poolclaims/c1');
    expect(req?.headers['Content-Type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ metadata: { finalizers: ['f'], resourceVersion: '3' } });
  });

  test('the client keeps its own headers next to the patch content type', async () => {
    const c = clients();
    await mergePatchPod(c.core, 'ns', 'm1', {});
    expect(c.http.requests[0]?.headers['User-Agent']).toBe('warmpool');
  });
});
