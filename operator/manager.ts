// The one place that wires the operator: API clients, shared informers, one work queue per controller, leader
// election, the HTTP endpoints, the utilization scraper and an orderly shutdown. Controllers hold only their own
// domain logic; nothing here decides anything about pools or claims.
import { hostname } from 'node:os';
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { GROUP, LABEL_POOL, VERSION, CLAIM_PLURAL, POOL_PLURAL, type InstancePool, type PoolClaim } from './api/types.js';
import { poolResolver } from './api/resolve.js';
import { ClaimController } from './claim/controller.js';
import { claimObserver } from './claim/observer.js';
import { makeInstrumentedClients } from './kube/api-metrics.js';
import { REQUEST_TIMEOUT_MS } from './kube/deadline.js';
import { FencedError, ShardFences, WriteFence } from './kube/fence.js';
import { ShardElector } from './kube/shard-elector.js';
import { shardOf } from './kube/shards.js';
import { DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS } from './kube/throttle.js';
import { CacheIndex } from './kube/cache-index.js';
import { describeError } from './kube/errors.js';
import { EventRecorder } from './kube/events.js';
import { Expectations } from './kube/expectations.js';
import { SupervisedInformer } from './kube/informer.js';
import { InformerSet } from './kube/informer-set.js';
import { LeaderElector } from './kube/leader.js';
import { runWorkers, type ReconcileResult } from './kube/workers.js';
import { WorkQueue } from './kube/workqueue.js';
import { createMetrics, onApiRequest, queueHooks } from './metrics/registry.js';
import { UtilizationScraper, scrapeClients } from './utilization/scraper.js';
import { UtilizationStore } from './utilization/store.js';
import { PoolController } from './pool/controller.js';
import { NamespacePdbs } from './pool/pdb-controller.js';
import { pdbKeyNamespace } from './pool/pdb.js';
import { Autoscaler } from './autoscale/controller.js';
import { ownedMembers } from './member/members.js';
import { trimPod, type CachedPod } from './member/cached-pod.js';
import { joinKey } from './kube/key.js';
import { poolObserver } from './pool/observer.js';
import { MetricsAuthorizer, reviewClients, withAuthorization } from './server/auth.js';
import { directoryCertificates, selfSignedCertificates, type CertificateSource } from './server/certs.js';
import { healthzHandler, metricsHandler, readyzHandler, startHttpServer } from './server/http.js';
import { logger } from './telemetry/logger.js';
import { clampDelayMs } from './kube/timers.js';

/** How long stop() may take before the operator exits anyway (within the chart's 30 s termination grace period). */
const STOP_TIMEOUT_MS = 10_000;

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty means all (cluster-wide RBAC). */
  namespaces?: readonly string[];
  metricsBindAddress?: string;
  /** /metrics over HTTPS, each request authenticated (TokenReview) and authorized (SubjectAccessReview). */
  metricsSecure?: boolean;
  /** tls.crt and tls.key for the secure metrics server, re-read on change; unset: self-signed, in memory. */
  metricsCertDir?: string;
  healthProbeBindAddress?: string;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  identity?: string;
  /** Per-member utilization series (they multiply the series count by the member count). */
  memberMetrics?: boolean;
  poolWorkers?: number;
  claimWorkers?: number;
  /**
   * Seconds the apiserver keeps each informer's watch open (default 25, see kube/informer.ts). Readiness fails when an
   * informer heard nothing for twice this long; tests shorten it.
   */
  watchTimeoutSeconds?: number;
  /** Most members one pool may have, claimed ones included (`--max-members-per-pool`). */
  maxMembersPerPool?: number;
  /** How long a pool's replacement creates may wait for its namespace's claims to pause (`--refill-yield-seconds`); 0 never. */
  refillYieldMs?: number;
  /** What counts as a pause in a pool's claims (pool/refill-yield.ts); tests lengthen it. */
  claimQuietMs?: number;
  /**
   * Active-active shards (`--shards`, needs leaderElect): pools split by a hash of namespace/name into this many
   * shards, each with its own Lease; every replica acts for the shards it holds. 1 (default): one Lease, one leader.
   */
  shards?: number;
  /** Client-side token bucket of the controllers' API requests (`--kube-api-qps`, `--kube-api-burst`). */
  kubeApiQps?: number;
  kubeApiBurst?: number;
  /** How often one PodMetrics list (per watched namespace, or one for all) measures every pool's cpu and memory (default 15). */
  podMetricsIntervalSeconds?: number;
}

export interface RunningOperator {
  metricsPort: number;
  probePort: number;
  /**
   * Resolves when the operator has stopped, with the process's exit code: 0 after stop(), 1 after another replica
   * took the lease (deposed: the restart should be visible, and a fresh process campaigns from a clean state).
   */
  done: Promise<number>;
  stop(): Promise<void>;
}

const log = logger('manager');

function informersFor<T extends KubernetesObject>(
  kc: KubeConfig,
  namespaces: readonly string[],
  pathFor: (ns: string | undefined) => string,
  list: (ns: string | undefined, limit: number | undefined) => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
  watchTimeoutSeconds?: number,
  trim?: (obj: T) => void,
): SupervisedInformer<T>[] {
  const scopes = namespaces.length === 0 ? [undefined] : namespaces;
  return scopes.map(
    (ns) =>
      new SupervisedInformer<T>({
        kc,
        path: pathFor(ns),
        list: (options) => list(ns, options?.limit),
        labelSelector,
        watchTimeoutSeconds,
        trim,
        onWatchError: (err, restartInMs, relist) =>
          log.warn('watch stopped; restarting', { path: pathFor(ns), restartInMs, relist, err: describeError(err) }),
        onHandlerError: (err) => log.error('event handler failed', { err: describeError(err) }),
      }),
  );
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const kc = opts.kubeConfig;
  const namespaces = opts.namespaces ?? [];
  const identity = opts.identity ?? `${hostname()}-${process.pid}`;
  const metrics = createMetrics({ perMemberUtilization: opts.memberMetrics ?? false });
  // Without leader election the fence is always open; with it, closed until this replica holds the Lease.
  const fence = opts.leaderElect ? new WriteFence() : WriteFence.unfenced();
  // Shards (--shards N > 1): the state the shard block below keeps; with 1 shard every key is this replica's.
  const shardCount = opts.shards ?? 1;
  if (shardCount > 1 && !opts.leaderElect) throw new Error('--shards: more than 1 shard needs --leader-elect');
  // One write fence per shard: a pass's writes go out only while this replica holds the pass's shard.
  const shardFences = shardCount > 1 ? new ShardFences(shardCount) : undefined;
  const heldShards = new Set<number>();
  const shardOfKey = (key: string): number => shardOf(key, shardCount);
  const ownsKey = (key: string): boolean => shardFences === undefined || heldShards.has(shardOfKey(key));
  const ownsPool = (p: KubernetesObject): boolean => ownsKey(joinKey(p.metadata?.namespace ?? '', p.metadata?.name ?? ''));
  const { core, custom, coordination, policy, rawGet } = makeInstrumentedClients(kc, onApiRequest(metrics), {
    fence: shardFences ?? fence,
    throttle: {
      qps: opts.kubeApiQps ?? DEFAULT_KUBE_API_QPS,
      burst: opts.kubeApiBurst ?? DEFAULT_KUBE_API_BURST,
      onRetry: (delayMs) => log.debug('throttled (429): retrying after Retry-After', { delayMs }),
    },
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });

  const customPath = (plural: string) => (ns: string | undefined) =>
    ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}` : `/apis/${GROUP}/${VERSION}/${plural}`;
  const listCustom =
    <T extends KubernetesObject>(plural: string) =>
    (ns: string | undefined, limit: number | undefined): Promise<KubernetesListObject<T>> =>
      (ns
        ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, limit })
        : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural, limit })) as Promise<KubernetesListObject<T>>;
  const wt = opts.watchTimeoutSeconds;
  const pools = new InformerSet(informersFor<InstancePool>(kc, namespaces, customPath(POOL_PLURAL), listCustom<InstancePool>(POOL_PLURAL), undefined, wt));
  const claims = new InformerSet(informersFor<PoolClaim>(kc, namespaces, customPath(CLAIM_PLURAL), listCustom<PoolClaim>(CLAIM_PLURAL), undefined, wt));
  // Members are cached trimmed to what the operator reads of them (member/cached-pod.ts).
  const pods = new InformerSet(
    informersFor<CachedPod>(
      kc,
      namespaces,
      (ns) => (ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods'),
      (ns, limit) =>
        ns
          ? core.listNamespacedPod({ namespace: ns, labelSelector: LABEL_POOL, limit })
          : core.listPodForAllNamespaces({ labelSelector: LABEL_POOL, limit }),
      LABEL_POOL,
      wt,
      trimPod,
    ),
  );

  // The operator's PodDisruptionBudgets (eviction protection): one per namespace and, from older operators, one per
  // pool; both carry the pool label (empty on the namespace's).
  const pdbs = new InformerSet(
    informersFor<V1PodDisruptionBudget>(
      kc,
      namespaces,
      (ns) => (ns ? `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets` : '/apis/policy/v1/poddisruptionbudgets'),
      (ns, limit) =>
        ns
          ? policy.listNamespacedPodDisruptionBudget({ namespace: ns, labelSelector: LABEL_POOL, limit })
          : policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector: LABEL_POOL, limit }),
      LABEL_POOL,
      wt,
    ),
  );

  // Both controllers read one pool's members and claims per pass.
  const podsByPool = new CacheIndex<CachedPod>(pods, (p) => p.metadata?.labels?.[LABEL_POOL]);
  const claimsByPool = new CacheIndex<PoolClaim>(claims, (c) => c.spec?.poolName);

  const events = new EventRecorder({
    core,
    instance: identity,
    onError: (err) => log.debug('event write failed', { err: describeError(err) }),
  });
  // Pacing (see WorkQueue): a pass plans a whole pool, and a burst of binds or claims sends an event per object.
  // A pool pass may take a third of the time under such a burst, a claim pass half; an idle pool is not delayed.
  const poolQueue = new WorkQueue({ name: 'pool', hooks: queueHooks(metrics), pace: { factor: 2, maxMs: 100 } });
  const claimQueue = new WorkQueue({ name: 'claim', hooks: queueHooks(metrics), pace: { factor: 1, maxMs: 20 } });
  // The scraper measures into it; the pool controller's status builder reads it.
  const utilization = new UtilizationStore();
  const autoscaleQueue = new WorkQueue({ name: 'autoscale', hooks: queueHooks(metrics) });
  // One door for every controller that reads pools: each cached version of a pool is validated once, not once each.
  const resolvePool = poolResolver();
  const autoscaler = new Autoscaler({ custom, pools, queue: autoscaleQueue, poolQueue, events, metrics, resolvePool });
  const poolController = new PoolController({
    resolvePool,
    core,
    custom,
    pools: pools,
    pods: pods,
    podsByPool,
    queue: poolQueue,
    expectations: new Expectations(),
    events,
    observer: poolObserver(metrics, logger('pool')),
    maxMembersPerPool: opts.maxMembersPerPool,
    refillYieldMs: opts.refillYieldMs,
    claimQuietMs: opts.claimQuietMs,
    utilization: (key, shown) => utilization.statusFor(key, shown),
    autoscaling: (key) => autoscaler.report(key),
  });
  // Eviction protection, one PDB per namespace: on the pool queue under its own key, sharded like a pool.
  const namespacePdbs = new NamespacePdbs({ policy, pools, pdbs, queue: poolQueue, events });
  const claimController = new ClaimController({
    resolvePool,
    core,
    custom,
    pools: pools,
    claims: claims,
    pods: pods,
    podsByPool,
    claimsByPool,
    queue: claimQueue,
    poolQueue,
    events,
    observer: claimObserver(metrics, logger('claim')),
    onArrival: (key, atMs) => {
      autoscaler.arrived(key, atMs);
      poolController.claimActivity(key, atMs);
    },
    onBound: (key, atMs) => poolController.claimActivity(key, atMs),
  });
  poolController.register();
  namespacePdbs.register();
  claimController.register();
  autoscaler.register();

  const scraper = new UtilizationScraper({
    metrics,
    // The controllers' clients: scrapes through the pod proxy and PodMetrics lists share their token bucket.
    clients: scrapeClients({ custom, rawGet }),
    // Only the pool's own members are scraped: a pod that merely carries the pool's label is not read from.
    members: (ns, name) => ownedMembers(podsByPool.list(ns, name), pools.get(name, ns)?.metadata.uid),
    // One PodMetrics list per interval for every pool: cluster-wide, or one per watched namespace (the RBAC we have).
    namespaces,
    podMetricsIntervalMs: opts.podMetricsIntervalSeconds === undefined ? undefined : opts.podMetricsIntervalSeconds * 1000,
    store: utilization,
    // The pool's pass writes status.utilization with the rest of its status.
    wake: (key) => poolQueue.add(key),
  });
  let leading = false;
  pools.onAdd((p) => leading && ownsPool(p) && scraper.sync(p));
  pools.onUpdate((p) => leading && ownsPool(p) && scraper.sync(p));
  pools.onDelete((p) => scraper.remove(p.metadata.namespace ?? '', p.metadata.name ?? ''));

  const probe = await startHttpServer({
    address: opts.healthProbeBindAddress ?? '127.0.0.1:8081',
    // Ready while every cache has synced and keeps hearing from its watch: a cache that froze is not served from.
    routes: {
      '/healthz': healthzHandler(),
      '/readyz': readyzHandler(() => [...pools.notReadyReasons(), ...claims.notReadyReasons(), ...pods.notReadyReasons(), ...pdbs.notReadyReasons()]),
    },
  });
  let certificates: CertificateSource | undefined;
  let metricsRoute = metricsHandler(metrics.registry);
  if (opts.metricsSecure) {
    certificates = opts.metricsCertDir
      ? await directoryCertificates(opts.metricsCertDir, {
          onError: (err) => log.warn('metrics certificate not reloaded; serving the previous one', { dir: opts.metricsCertDir, err: String(err) }),
        })
      : selfSignedCertificates();
    const authorizer = new MetricsAuthorizer({ clients: reviewClients(kc, onApiRequest(metrics)) });
    metricsRoute = withAuthorization(authorizer, metricsRoute, (d, r) =>
      log.debug('metrics request refused', { status: d.status, reason: d.message, remote: r.socket.remoteAddress }),
    );
  } else if (opts.metricsCertDir) {
    throw new Error('--metrics-cert-dir needs --metrics-secure');
  }
  const metricsServer = await startHttpServer({
    address: opts.metricsBindAddress ?? '127.0.0.1:8080',
    routes: { '/metrics': metricsRoute },
    tls: certificates,
  });

  await Promise.all([pools.start(), claims.start(), pods.start(), pdbs.start()]);
  log.info('caches synced', { namespaces: namespaces.length === 0 ? 'all' : namespaces.join(',') });

  let workers: Promise<void> | undefined;
  // The pool queue holds pools and, under pdbKey, namespaces' PDBs.
  const poolPass = (key: string): Promise<ReconcileResult> => {
    const namespace = pdbKeyNamespace(key);
    return namespace === undefined ? poolController.reconcile(key) : namespacePdbs.reconcile(namespace);
  };
  // A key taken while not leading (suspended during an outage) is dropped: leading again re-adds every key. With
  // shards, likewise a key of a shard this replica does not hold; the pass runs under its shard's fence.
  const whileLeading =
    (reconcile: (key: string) => Promise<ReconcileResult>) =>
    (key: string): Promise<ReconcileResult> =>
      leading && ownsKey(key) ? inShard(key, () => reconcile(key)) : Promise.resolve();
  const quietWhenFenced = (what: string) => (key: string, err: unknown) =>
    err instanceof FencedError ? log.debug(`${what} reconcile stopped: not leading`, { key }) : log.warn(`${what} reconcile failed`, { key, err: describeError(err) });
  const startControllers = (): void => {
    metrics.leader.set(1);
    leading = true;
    for (const p of pools.list()) if (ownsPool(p)) scraper.sync(p);
    scraper.start();
    workers ??= Promise.all([
      runWorkers(poolQueue, opts.poolWorkers ?? 4, whileLeading(poolPass), {
        onError: quietWhenFenced('pool'),
      }),
      runWorkers(claimQueue, opts.claimWorkers ?? 4, whileLeading((key) => claimController.reconcile(key)), {
        onError: quietWhenFenced('claim'),
      }),
      runWorkers(autoscaleQueue, 1, whileLeading((key) => autoscaler.reconcile(key)), {
        onError: quietWhenFenced('autoscale'),
      }),
    ]).then(() => undefined);
    // Level-triggered start: every pool is reconciled once, whatever happened while nobody led.
    for (const p of pools.list()) {
      const key = joinKey(p.metadata.namespace ?? '', p.metadata.name ?? '');
      poolQueue.add(key);
      claimQueue.add(key);
    }
    for (const c of claims.list()) claimQueue.add(joinKey(c.metadata.namespace ?? '', c.spec.poolName));
    for (const key of namespacePdbs.keys()) poolQueue.add(key);
    autoscaler.enqueueAll();
    log.info('operator started', { identity });
  };
  // Leadership paused while the API server cannot be reached: the fence already refuses writes and the elector
  // aborted the in-flight ones; the workers stay, idle, for when the lease comes back.
  const suspendControllers = (): void => {
    leading = false;
    metrics.leader.set(0);
    log.warn('lost contact with the API server: work stopped until the lease is renewed', { identity });
  };

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let elector: LeaderElector | undefined;

  const shutdown = async (): Promise<void> => {
    poolQueue.shutDown();
    claimQueue.shutDown();
    autoscaleQueue.shutDown();
    leading = false;
    scraper.stop();
    await workers;
    await claimController.drain();
    metrics.leader.set(0);
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping');
      // Bounded: a pass or a request that does not end must not keep a deposed replica alive past its restart.
      const watchdog = setTimeout(() => {
        log.error('stopping took too long: exiting anyway', { afterMs: STOP_TIMEOUT_MS });
        resolveDone(exitCode === 0 ? 1 : exitCode);
      }, clampDelayMs(STOP_TIMEOUT_MS));
      watchdog.unref();
      if (elector) await elector.stop({ release: true });
      else if (shardElector) {
        await shardElector.stop();
        await shutdown();
      } else await shutdown();
      await Promise.all([pools.stop(), claims.stop(), pods.stop(), pdbs.stop()]);
      await events.flush?.();
      await Promise.all([probe.close(), metricsServer.close()]);
      certificates?.stop();
      clearTimeout(watchdog);
      log.info('stopped', { exitCode });
      resolveDone(exitCode);
    })();
    return stopping;
  };

  // Shards (--shards N > 1): one ShardElector instead of the single Lease's elector. Gaining a shard re-lists
  // (informers in back-off retry now) and enqueues its pools and claims; losing one aborts its passes' writes in
  // flight (the shard's fence), and a shard given back is released only after its passes have ended.
  const passes = new Map<number, Set<Promise<unknown>>>();
  const inShard = <T>(key: string, pass: () => Promise<T>): Promise<T> => {
    if (shardFences === undefined) return pass();
    const shard = shardOfKey(key);
    const running = shardFences.run(shard, pass);
    const set = passes.get(shard) ?? new Set<Promise<unknown>>();
    passes.set(shard, set);
    set.add(running);
    void running.finally(() => set.delete(running)).catch(() => undefined);
    return running;
  };
  let shardElector: ShardElector | undefined;
  if (opts.leaderElect && shardFences !== undefined) {
    const inShardOf = (shard: number) => (p: KubernetesObject) => shardOfKey(joinKey(p.metadata?.namespace ?? '', p.metadata?.name ?? '')) === shard;
    shardElector = new ShardElector({
      kc,
      coordination,
      namespace: opts.leaderElectionNamespace ?? namespaces[0] ?? 'default',
      name: opts.leaderElectionId ?? 'warmpool-operator',
      identity,
      shards: shardCount,
      onRenewed: (shard, untilMs) => shardFences.shard(shard).extend(untilMs),
      onGained: (shard, signal) => {
        shardFences.shard(shard).lead(signal);
        heldShards.add(shard);
        metrics.leader.set(1);
        for (const set of [pools, claims, pods]) set.retryNow();
        const mine = inShardOf(shard);
        for (const p of pools.list().filter(mine)) {
          const key = joinKey(p.metadata.namespace ?? '', p.metadata.name ?? '');
          poolQueue.add(key);
          claimQueue.add(key);
          scraper.sync(p);
        }
        for (const c of claims.list()) {
          const key = joinKey(c.metadata.namespace ?? '', c.spec.poolName);
          if (shardOfKey(key) === shard) claimQueue.add(key);
        }
        for (const key of namespacePdbs.keys()) if (shardOfKey(key) === shard) poolQueue.add(key);
        log.info('shard gained', { shard, held: [...heldShards].sort((a, b) => a - b) });
      },
      onLost: async (shard, reason) => {
        heldShards.delete(shard);
        if (heldShards.size === 0) metrics.leader.set(0);
        for (const p of pools.list().filter(inShardOf(shard))) scraper.remove(p.metadata.namespace ?? '', p.metadata.name ?? '');
        // Their writes already fail (the fence closed); wait them out so the next holder starts after the last.
        await Promise.allSettled([...(passes.get(shard) ?? [])]);
        log.info('shard lost', { shard, reason, held: [...heldShards].sort((a, b) => a - b) });
      },
      onError: (err) => log.warn('shard election', { err: describeError(err) }),
    });
    // Workers run from the start; each pass checks that this replica holds its key's shard.
    startControllers();
    metrics.leader.set(0);
    void shardElector.run();
  } else if (opts.leaderElect) {
    elector = new LeaderElector({
      kc,
      coordination,
      namespace: opts.leaderElectionNamespace ?? namespaces[0] ?? 'default',
      name: opts.leaderElectionId ?? 'warmpool-operator',
      identity,
      onRenewed: (untilMs) => fence.extend(untilMs),
      onStartedLeading: (signal) => {
        fence.lead(signal);
        // Leading again after an outage: the API server answers, so informers in back-off look again now.
        for (const set of [pools, claims, pods]) set.retryNow();
        startControllers();
      },
      onStoppedLeading: async (reason) => {
        if (reason === 'unreachable') {
          suspendControllers();
          return;
        }
        await shutdown();
        if (reason === 'taken') {
          // Deposed: another replica leads. Exit non-zero so the restart is visible; a supervisor (Deployment)
          // starts us again as a standby.
          exitCode = 1;
          log.error('another replica took the lease: exiting', { identity });
          void stop();
        }
      },
      onNewLeader: (holder) => log.info('leader', { holder, self: holder === identity }),
      onError: (err) => log.warn('leader election', { err: describeError(err) }),
    });
    void elector.run();
  } else {
    startControllers();
  }

  return { metricsPort: metricsServer.port, probePort: probe.port, done, stop };
}
