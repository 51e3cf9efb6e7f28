// `warmpool operator`: flags, kube config, tracing, signals. Everything else is wired in manager.ts.
import { parseArgs } from 'node:util';
import { makeKubeConfig } from './kube/config.js';
import { DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS, MAX_KUBE_API_BURST, MAX_KUBE_API_QPS } from './kube/throttle.js';
import { MAX_SHARDS } from './kube/shards.js';
import { startOperator } from './manager.js';
import { DEFAULT_MAX_MEMBERS_PER_POOL } from './pool/model.js';
import { CLAIM_QUIET_MS, DEFAULT_REFILL_YIELD_MS, MAX_REFILL_YIELD_MS } from './pool/refill-yield.js';
import { logger } from './telemetry/logger.js';
import { startTracing } from './telemetry/tracing.js';

const USAGE = `usage: warmpool operator [flags]
  --kubeconfig PATH                  kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)
  --metrics-bind-address ADDR        serve /metrics here (default 127.0.0.1:8080)
  --metrics-secure                   serve /metrics over HTTPS, only to clients whose bearer token passes a
                                     TokenReview and whose user may get the non-resource URL /metrics
                                     (SubjectAccessReview); without it /metrics is plain HTTP, open to anyone
                                     who can reach the address (for local runs)
  --metrics-cert-dir DIR             with --metrics-secure: serve DIR/tls.crt and DIR/tls.key, re-read when they
                                     change (cert-manager); default: a self-signed certificate made at start
  --health-probe-bind-address ADDR   serve /healthz and /readyz here (default 127.0.0.1:8081)
  --leader-elect                     elect a leader with a Lease, so several replicas can run and one acts
  --leader-election-namespace NS     namespace of the Lease (default: $POD_NAMESPACE, else the first watched
                                     namespace, else "default")
  --leader-election-id NAME          name of the Lease (default warmpool-operator)
  --shards N                         with --leader-elect: split pools by a hash of namespace/name into N shards,
                                     each with its own Lease (<id>-shard-<i>); every replica acts for the shards
                                     it holds, about N / replicas each (default: $WARMPOOL_SHARDS, else 1: one
                                     Lease, one acting replica)
  --namespaces A,B                   watch only these namespaces (namespaced RBAC); default all
  --member-metrics                   export per-member utilization series
  --identity NAME                    this replica's name in the Lease (default: $POD_NAME, else host-pid)
  --max-members-per-pool N           most members one pool may have, claimed ones included (default 1000);
                                     a pool asking for more is Stalled (reason MemberLimitExceeded)
  --refill-yield-seconds S           while claims in a pool's namespace keep arriving and binding, the replacement
                                     creates of the pool (claimed within S) wait for a pause of ${CLAIM_QUIET_MS} ms, at most S
                                     seconds (default ${DEFAULT_REFILL_YIELD_MS / 1000}; 0: never wait; at most ${MAX_REFILL_YIELD_MS / 1000}); never once no ready
                                     member is left, nor in an Objective-autoscaled pool
  --kube-api-qps N                   client-side limit on API requests per second, sustained (default ${DEFAULT_KUBE_API_QPS})
  --kube-api-burst N                 requests allowed at once above that rate (default ${DEFAULT_KUBE_API_BURST}); a 429 with
                                     Retry-After is retried after the delay it asks for
Exit status: 0 after SIGTERM/SIGINT; 1 when another replica took the lease (with --leader-elect).
Logging: WARMPOOL_LOG=info (or e.g. claim=debug,pool=info). Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT.`;

/** Largest --max-members-per-pool accepted: far above any sane pool, far below what overflows anything. */
export const MAX_MEMBER_LIMIT = 1_000_000;

/** --max-members-per-pool: a whole number from 1 to MAX_MEMBER_LIMIT; anything else is refused, naming the flag. */
export function parseMemberLimit(value: string): number {
  const n = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_MEMBER_LIMIT) {
    throw new Error(`--max-members-per-pool: want a whole number from 1 to ${MAX_MEMBER_LIMIT}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** --shards (or WARMPOOL_SHARDS): a whole number from 1 to MAX_SHARDS. */
export function parseShards(value: string): number {
  const n = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SHARDS) {
    throw new Error(`--shards: want a whole number from 1 to ${MAX_SHARDS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** --refill-yield-seconds: a number from 0 to MAX_REFILL_YIELD_MS / 1000, as whole milliseconds. */
export function parseRefillYield(value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 0 && n * 1000 <= MAX_REFILL_YIELD_MS)) {
    throw new Error(`--refill-yield-seconds: want a number from 0 to ${MAX_REFILL_YIELD_MS / 1000}, got ${JSON.stringify(value)}`);
  }
  return Math.round(n * 1000);
}

/** --kube-api-qps: a number above 0, at most MAX_KUBE_API_QPS. */
export function parseQps(value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n > 0 && n <= MAX_KUBE_API_QPS)) {
    throw new Error(`--kube-api-qps: want a number above 0 and at most ${MAX_KUBE_API_QPS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** --kube-api-burst: a whole number from 1 to MAX_KUBE_API_BURST. */
export function parseBurst(value: string): number {
  const n = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_KUBE_API_BURST) {
    throw new Error(`--kube-api-burst: want a whole number from 1 to ${MAX_KUBE_API_BURST}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export async function runOperator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'metrics-bind-address': { type: 'string', default: '127.0.0.1:8080' },
      'metrics-secure': { type: 'boolean', default: false },
      'metrics-cert-dir': { type: 'string' },
      'health-probe-bind-address': { type: 'string', default: '127.0.0.1:8081' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'warmpool-operator' },
      namespaces: { type: 'string', default: '' },
      'member-metrics': { type: 'boolean', default: false },
      identity: { type: 'string' },
      'max-members-per-pool': { type: 'string', default: String(DEFAULT_MAX_MEMBERS_PER_POOL) },
      'refill-yield-seconds': { type: 'string', default: String(DEFAULT_REFILL_YIELD_MS / 1000) },
      'kube-api-qps': { type: 'string', default: String(DEFAULT_KUBE_API_QPS) },
      'kube-api-burst': { type: 'string', default: String(DEFAULT_KUBE_API_BURST) },
      shards: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['metrics-cert-dir'] !== undefined && !values['metrics-secure']) {
    process.stderr.write('warmpool operator: --metrics-cert-dir needs --metrics-secure\n');
    return 2;
  }
  const maxMembersPerPool = parseMemberLimit(values['max-members-per-pool']);
  const refillYieldMs = parseRefillYield(values['refill-yield-seconds']);
  const kubeApiQps = parseQps(values['kube-api-qps']);
  const kubeApiBurst = parseBurst(values['kube-api-burst']);
  const shards = parseShards(values.shards ?? process.env.WARMPOOL_SHARDS ?? '1');
  if (shards > 1 && !values['leader-elect']) {
    process.stderr.write('warmpool operator: --shards above 1 needs --leader-elect\n');
    return 2;
  }
  const log = logger('main');
  const stopTracing = await startTracing();
  const namespaces = values.namespaces.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const op = await startOperator({
    kubeConfig: makeKubeConfig({ path: values.kubeconfig }),
    namespaces,
    metricsBindAddress: values['metrics-bind-address'],
    metricsSecure: values['metrics-secure'],
    metricsCertDir: values['metrics-cert-dir'],
    healthProbeBindAddress: values['health-probe-bind-address'],
    leaderElect: values['leader-elect'],
    leaderElectionNamespace: values['leader-election-namespace'] ?? process.env.POD_NAMESPACE ?? namespaces[0] ?? 'default',
    leaderElectionId: values['leader-election-id'],
    identity: values.identity ?? process.env.POD_NAME,
    memberMetrics: values['member-metrics'],
    maxMembersPerPool,
    refillYieldMs,
    kubeApiQps,
    kubeApiBurst,
    shards,
  });
  log.info('listening', { metricsPort: op.metricsPort, metricsScheme: values['metrics-secure'] ? 'https' : 'http', probePort: op.probePort });

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting now', { signal: sig });
      process.exit(1);
    }
    log.info('shutting down', { signal: sig });
    void op.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const code = await op.done;
  await stopTracing();
  return code;
}
