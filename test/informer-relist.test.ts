// Issue 17, defect 9: caches can freeze while readiness says yes. After an etcd restore the apiserver has not reached
// the resourceVersion an informer holds. Older apiservers answer a watch from it with "Too large resource version";
// kube-apiserver 1.37 holds it open without a word (not even a bookmark) until the watch's timeout. Either way the
// informer used to watch again from the same resourceVersion forever while /readyz, a one-time synced flag, said 200.
//
// Here the operator (in-process) talks to the real apiserver through a loopback proxy that, while `restored` is on,
// rewrites the resourceVersion of every full list to one far ahead of the server's: each list leaves the informer
// holding a resourceVersion from "before the restore". (The list of 1 an informer sends to learn the server's own
// resourceVersion passes untouched: that is the server telling the truth.) While that lasts the informers cannot
// follow and /readyz must say so; once lists are true again they must relist, /readyz turn 200, and a pool created
// afterwards must be served.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { members, poolManifest, poolWhere } from './support/pools.js';

const FAR_AHEAD_RV = '9000000000';
const WATCH_TIMEOUT_SECONDS = 4;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let proxy: Server | undefined;
let stopOperator: (() => Promise<void>) | undefined;
let restored = true;
let rewrittenLists = 0;
const watchOutcomes: string[] = [];

/** A plain-HTTP loopback proxy to the apiserver, authenticating as the test's admin, that may rewrite list RVs. */
async function startProxy(): Promise<string> {
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfig());
  const upstream = new URL(admin.getCurrentCluster()?.server ?? '');
  const tls: RequestOptions = {};
  await admin.applyToHTTPSOptions(tls);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', upstream);
    const isWatch = url.searchParams.get('watch') === 'true';
    const isList = req.method === 'GET' && !isWatch && !url.searchParams.has('limit');
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const out = send(
      { ...tls, protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: url.pathname + url.search, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        if (!isList || !restored) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let body = Buffer.concat(chunks);
          try {
            const doc = JSON.parse(body.toString()) as { items?: unknown; metadata?: { resourceVersion?: string } };
            if (Array.isArray(doc.items) && doc.metadata?.resourceVersion !== undefined) {
              doc.metadata.resourceVersion = FAR_AHEAD_RV;
              rewrittenLists++;
              body = Buffer.from(JSON.stringify(doc));
            }
          } catch {
            // not JSON: pass it on as it is
          }
          const headers = { ...up.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
    if (isWatch && url.searchParams.get('resourceVersion') === FAR_AHEAD_RV) {
      out.on('response', (up) => {
        let text = '';
        up.on('data', (c: Buffer) => (text += c.toString()));
        up.on('end', () => watchOutcomes.push(`${up.statusCode ?? 0} ${/Too large resource version/i.test(text) ? 'too-large' : text === '' ? 'silent' : text.slice(0, 80)}`));
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readyz(port: number): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: await r.text() };
}

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('relist'));
});

afterAll(async () => {
  await stopOperator?.();
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await cleanup();
});

test('an informer told of a resourceVersion the server has not reached relists; /readyz is 503 while it cannot follow', async () => {
  const server = await startProxy();
  const kc = new KubeConfig();
  // Plain HTTP to the loopback proxy (client-node allows it only with skipTLSVerify); the proxy authenticates.
  kc.loadFromClusterAndUser({ name: 'proxy', server, skipTLSVerify: true }, { name: 'proxy' });
  const { startOperator } = await import('../operator/manager.js');
  const op = await startOperator({
    kubeConfig: kc,
    namespaces: [ns],
    metricsBindAddress: '127.0.0.1:0',
    healthProbeBindAddress: '127.0.0.1:0',
    leaderElect: false,
    watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS,
  });
  stopOperator = () => op.stop();

  // Synced from lists that claim a future the server has not reached: every watch from there is refused.
  expect(rewrittenLists).toBeGreaterThanOrEqual(3);
  const stuck = await eventually(
    '/readyz to report the stuck informers',
    async () => {
      const r = await readyz(op.probePort);
      return r.status === 503 ? r : undefined;
    },
    30_000,
    250,
  );
  expect(stuck.body).toMatch(/^not ready: .*nothing heard for \d+ s/);
  // What the server made of watches from the future (1.37: "200 silent", then the informer asks; older: "too-large").
  process.stdout.write(`watches from the future ended: ${JSON.stringify(watchOutcomes)}\n`);
  expect(watchOutcomes.length).toBeGreaterThan(0);

  // The server's lists are true again: the informers must relist (not watch the future again) and recover.
  restored = false;
  await eventually(
    '/readyz 200 again',
    async () => ((await readyz(op.probePort)).status === 200 ? true : undefined),
    45_000,
    250,
  );

  // And they follow what happens next: a pool created now is seen, its member created and seen Ready.
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'after', { targetSize: 1 }));
  await poolWhere(ns, 'after', 'one ready member', (p) => p.status?.readyCount === 1);
  expect(await members(ns, 'after')).toHaveLength(1);
});
