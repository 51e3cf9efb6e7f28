// SupervisedInformer over the real client-node ListWatch and Watch, against a scripted HTTP server on loopback
// standing in for the apiserver (no cluster): checks the wiring the fake-informer tests cannot.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { loopbackServer, type LoopbackServer } from './fake-http.js';
import { SupervisedInformer, type SupervisedInformerOptions } from './informer.js';

function podJson(name: string, rv: string) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: rv, uid: `uid-${name}` } };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** An informer of the pods in namespace ns, listing through the real CoreV1Api. */
function podInformer(kc: KubeConfig, options: Partial<SupervisedInformerOptions<V1Pod>>): SupervisedInformer<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return new SupervisedInformer<V1Pod>({
    kc,
    path: '/api/v1/namespaces/ns/pods',
    list: (o) => core.listNamespacedPod({ namespace: 'ns', limit: o?.limit }),
    ...options,
  });
}

let api: LoopbackServer;
const watches: URL[] = [];
let lists = 0;
let open: ServerResponse | undefined;

beforeAll(async () => {
  api = await loopbackServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.searchParams.get('watch') !== 'true') {
      lists++;
      res.writeHead(200, { 'content-type': 'application/json' });
      // Items of a list come without kind and apiVersion, as from the real apiserver.
      const { metadata } = podJson('a', '5');
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '5' }, items: [{ metadata }] }));
      return;
    }
    watches.push(url);
    if (watches.length === 1) {
      // The first watch fails: client-node's informer stops for good on this.
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ADDED', object: podJson('b', '6') })}\n`);
    res.write(`${JSON.stringify({ type: 'MODIFIED', object: podJson('a', '7') })}\n`);
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '8' } } })}\n`);
    open = res;
  });
});

afterAll(async () => {
  open?.end();
  await api.close();
});

test('lists, survives a failed watch, then streams events with the previous object and bookmarks', async () => {
  const { kc } = api;
  const core = kc.makeApiClient(CoreV1Api);
  const watchErrors: number[] = [];
  const informer = new SupervisedInformer<V1Pod>({
    kc,
    path: '/api/v1/namespaces/ns/pods',
    list: () => core.listNamespacedPod({ namespace: 'ns', labelSelector: 'app=x' }),
    labelSelector: 'app=x',
    onWatchError: (_err, delay) => watchErrors.push(delay),
    random: () => 0,
  });
  const seen: string[] = [];
  informer.onAdd((p) => seen.push(`add ${p.kind}/${p.metadata?.name}@${p.metadata?.resourceVersion}`));
  informer.onUpdate((p, old) => seen.push(`update ${p.metadata?.name}@${p.metadata?.resourceVersion} from @${old?.metadata?.resourceVersion}`));

  await informer.start();
  expect(informer.synced).toBe(true);
  expect(seen).toEqual(['add Pod/a@5']);
  await until(() => watchErrors.length === 1, 'the failed watch to be reported');
  expect(watchErrors).toEqual([800]);

  await until(() => seen.length === 3, 'the events of the restarted watch');
  expect(seen).toEqual(['add Pod/a@5', 'add Pod/b@6', 'update a@7 from @5']);
  expect(lists).toBe(1); // the restart resumed from the resourceVersion, no relist
  const w = watches[1];
  expect(w?.searchParams.get('resourceVersion')).toBe('5');
  expect(w?.searchParams.get('allowWatchBookmarks')).toBe('true');
  expect(w?.searchParams.get('labelSelector')).toBe('app=x');
  expect(informer.get('b', 'ns')?.metadata?.uid).toBe('uid-b');
  expect(informer.lastEventAgeSeconds()).toBeLessThan(5);

  await informer.stop();
  expect(watches).toHaveLength(2);
});

// After an etcd restore the apiserver has not reached the resourceVersion the informer holds. Older apiservers keep a
// watch from it open ~3 s, send an ERROR event (504, cause ResourceVersionTooLarge) and end the stream; 1.37 holds it
// open without a word (not even a bookmark) until the watch's timeout. client-node alone watches again from the same
// resourceVersion forever, either way.
test.each([
  { answer: 'an ERROR event "Too large resource version"', silent: false, gone: false, reported: [true] },
  { answer: 'silence until the watch times out', silent: true, gone: false, reported: [true] },
  // 410 (compacted): client-node relists by itself, at once, without reporting an error.
  { answer: 'an ERROR event 410 Expired', silent: false, gone: true, reported: [] },
])('a watch answered with $answer makes the real ListWatch relist, then it follows again', async ({ silent, gone, reported }) => {
  let listCount = 0;
  const watchUrls: URL[] = [];
  let stream: ServerResponse | undefined;
  const srv = await loopbackServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch') !== 'true') {
      // The server's own resourceVersion, asked after a silent watch.
      if (url.searchParams.get('limit') === '1') return void res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '120' }, items: [] }));
      listCount++;
      // The first list answers from before the restore: a resourceVersion the server will not reach.
      const rv = listCount === 1 ? '99999999' : '120';
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: rv }, items: [{ metadata: podJson('a', '5').metadata }] }));
      return;
    }
    watchUrls.push(url);
    if (url.searchParams.get('resourceVersion') === '99999999') {
      if (silent) {
        setTimeout(() => res.end(), Number(url.searchParams.get('timeoutSeconds')) * 1000);
        return;
      }
      const expired = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 5 (120)', reason: 'Expired', code: 410 };
      const status = gone ? expired : {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'Too large resource version: 99999999, current: 120',
        reason: 'Timeout',
        details: { causes: [{ type: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
        code: 504,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    res.write(`${JSON.stringify({ type: 'ADDED', object: podJson('b', '121') })}\n`);
    stream = res;
  });
  const relists: boolean[] = [];
  const informer = podInformer(srv.kc, {
    onWatchError: (_err, _delay, relist) => relists.push(relist),
    watchTimeoutSeconds: 1,
    random: () => 0,
  });
  const added: string[] = [];
  informer.onAdd((p) => added.push(p.metadata?.name ?? ''));
  try {
    await informer.start();
    await until(() => added.includes('b'), 'the event after the relist');
    expect(relists).toEqual(reported);
    expect(listCount).toBe(2);
    expect(watchUrls.map((u) => u.searchParams.get('resourceVersion'))).toEqual(['99999999', '120']);
    expect(watchUrls[1]?.searchParams.get('timeoutSeconds')).toBe('1');
    expect(added).toEqual(['a', 'b']);
  } finally {
    await informer.stop();
    stream?.end();
    await srv.close();
  }
});

test('a quiet watch that times out without a bookmark asks the server, counts as heard and reconnects at once', async () => {
  const requests: URL[] = [];
  const srv = await loopbackServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(url);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch') !== 'true') {
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '120' }, items: [] }));
      return;
    }
    // Nothing happens: the server ends the watch at its timeout, with no bookmark (it has not moved past 120).
    setTimeout(() => res.end(), Number(url.searchParams.get('timeoutSeconds')) * 1000);
  });
  const errors: unknown[] = [];
  const informer = podInformer(srv.kc, {
    onWatchError: (err) => errors.push(err),
    watchTimeoutSeconds: 1,
  });
  try {
    await informer.start();
    const t0 = Date.now();
    const watches = () => requests.filter((u) => u.searchParams.get('watch') === 'true').length;
    await until(() => watches() >= 3, 'three watches');
    // Back to back: a clean end would have made ListWatch wait 1 s, then 2 s, before watching again.
    expect(Date.now() - t0).toBeLessThan(3_000 + 1_500);
    expect(errors).toEqual([]);
    const lists = requests.filter((u) => u.searchParams.get('watch') !== 'true');
    expect(lists.filter((u) => u.searchParams.get('limit') !== '1')).toHaveLength(1); // no relist
    expect(lists.filter((u) => u.searchParams.get('limit') === '1').length).toBeGreaterThanOrEqual(2);
    expect(requests.filter((u) => u.searchParams.get('watch') === 'true').every((u) => u.searchParams.get('resourceVersion') === '120')).toBe(true);
    expect(informer.lastEventAgeSeconds()).toBeLessThan(1.5);
  } finally {
    await informer.stop();
    await srv.close();
  }
});
