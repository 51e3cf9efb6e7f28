// Stands in for the members' own Prometheus endpoints. On the local cluster every pod IP is a loopback address
// (127.x.y.z), so the test can listen on <podIP>:<port> itself and the operator scrapes it exactly as it would scrape
// a real member. Members are found by polling the API for the pool's pods; each gets its server once it has an IP.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { LABEL_POOL } from '../../operator/api/types.js';
import { kubeconfig } from './kube.js';

export interface MemberEndpointsOptions {
  namespace: string;
  pool: string;
  port: number;
  /** Default /metrics. */
  path?: string;
  /** Name of the counter served (default http_requests_total). */
  counter?: string;
  /** How fast the counter grows (default 20 a second). */
  perSecond?: number;
  /** Members that answer 500 instead, by order of appearance (0 = the first member seen). */
  failing?: (order: number) => boolean;
}

interface Endpoint {
  server: Server;
  ip: string;
  fails: boolean;
  scrapes: number;
  /** When the counter started: its first scrape. */
  since: number | undefined;
}

export class MemberEndpoints {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly core: CoreV1Api;
  private timer: NodeJS.Timeout | undefined;
  private seen = 0;
  private stopped = false;
  /** Addresses that could not be bound (e.g. the port is taken there), with the error. */
  readonly bindErrors: string[] = [];

  private constructor(private readonly o: MemberEndpointsOptions) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig());
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Starts watching the pool's members; servers come and go with them until stop(). */
  static start(o: MemberEndpointsOptions): MemberEndpoints {
    const m = new MemberEndpoints(o);
    void m.poll();
    return m;
  }

  /** Members with a server, by pod name. */
  members(): string[] {
    return [...this.endpoints.keys()];
  }

  /** Members whose server answers 500. */
  failingMembers(): string[] {
    return [...this.endpoints].filter(([, e]) => e.fails).map(([name]) => name);
  }

  /** How many scrapes a member's server has answered (successfully or not). */
  scrapes(member: string): number {
    return this.endpoints.get(member)?.scrapes ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.endpoints.values()].map((e) => close(e.server)));
    this.endpoints.clear();
  }

  private async poll(): Promise<void> {
    try {
      const list = await this.core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: `${LABEL_POOL}=${this.o.pool}` });
      await this.sync(list.items.flatMap((p) => {
        const name = p.metadata?.name;
        const ip = p.status?.podIP;
        return name && ip && !p.metadata?.deletionTimestamp ? [{ name, ip }] : [];
      }));
    } catch {
      // The next poll tries again; a test that needs the servers waits for them with a deadline.
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), 250);
  }

  private async sync(pods: readonly { name: string; ip: string }[]): Promise<void> {
    const live = new Set(pods.map((p) => p.name));
    for (const [name, e] of this.endpoints) {
      if (live.has(name)) continue;
      this.endpoints.delete(name);
      await close(e.server);
    }
    for (const { name, ip } of pods) {
      if (this.stopped) return;
      if (this.endpoints.has(name)) continue;
      const e: Endpoint = { server: createServer(), ip, fails: false, scrapes: 0, since: undefined };
      e.server.on('request', (req, res) => this.answer(e, req.url ?? '', res));
      try {
        await listen(e.server, ip, this.o.port);
      } catch (err) {
        this.bindErrors.push(`${ip}:${this.o.port} (${name}): ${String(err)}`);
        continue;
      }
      e.fails = this.o.failing?.(this.seen) ?? false;
      this.seen++;
      this.endpoints.set(name, e);
    }
  }

  private answer(e: Endpoint, url: string, res: ServerResponse): void {
    e.scrapes++;
    if (url.split('?')[0] !== (this.o.path ?? '/metrics')) {
      res.writeHead(404).end();
      return;
    }
    if (e.fails) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error\n');
      return;
    }
    const now = Date.now();
    e.since ??= now;
    const counter = this.o.counter ?? 'http_requests_total';
    // A whole number, like a real request counter: it grows by perSecond every second since the first scrape.
    const value = Math.floor(((now - e.since) / 1000) * (this.o.perSecond ?? 20));
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(
      `# HELP ${counter} Requests served.\n# TYPE ${counter} counter\n${counter}{code="200"} ${value}\n`,
    );
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
