// The one place that wires the operator: API clients, shared informers, one work queue per controller, leader
// election, the HTTP endpoints, the utilization scraper and an orderly shutdown. Controllers hold only their own
// domain logic; nothing here decides anything about pools or claims.
import { hostname } from 'node:os';
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { GROUP, LABEL_POOL, VERSION, CLAIM_PLURAL, POOL_PLURAL, type InstancePool, type PoolClaim } from './api/types.js';
import { ClaimController } from './claim/controller.js';
import { claimObserver } from './claim/observer.js';
import { makeInstrumentedClients } from './kube/api-metrics.js';
import { CacheIndex } from './kube/cache-index.js';
import { EventRecorder } from './kube/events.js';
import { Expectations } from './kube/expectations.js';
import { SupervisedInformer } from './kube/informer.js';
import { InformerSet } from './kube/informer-set.js';
import { LeaderElector } from './kube/leader.js';
import { runWorkers } from './kube/workers.js';
import { WorkQueue } from './kube/workqueue.js';
import { createMetrics, onApiRequest, queueHooks } from './metrics/registry.js';
import { UtilizationScraper, kubeScrapeClients } from './metrics/scraper.js';
import { PoolController } from './pool/controller.js';
import { poolObserver } from './pool/observer.js';
import { healthzHandler, metricsHandler, readyzHandler, startHttpServer } from './server/http.js';
import { logger } from './telemetry/logger.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty means all (cluster-wide RBAC). */
  namespaces?: readonly string[];
  metricsBindAddress?: string;
  healthProbeBindAddress?: string;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  identity?: string;
  /** Per-member utilization series (they multiply the series count by the member count). */
  memberMetrics?: boolean;
  poolWorkers?: number;
  claimWorkers?: number;
  /** Most members one pool may have, claimed ones included (`--max-members-per-pool`). */
  maxMembersPerPool?: number;
}

export interface RunningOperator {
  metricsPort: number;
  probePort: number;
  /** Resolves when the operator has stopped (on stop(), or after losing the lease). */
  done: Promise<void>;
  stop(): Promise<void>;
}

const log = logger('manager');

function informersFor<T extends KubernetesObject>(
  kc: KubeConfig,
  namespaces: readonly string[],
  pathFor: (ns: string | undefined) => string,
  list: (ns: string | undefined) => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
): SupervisedInformer<T>[] {
  const scopes = namespaces.length === 0 ? [undefined] : namespaces;
  return scopes.map(
    (ns) =>
      new SupervisedInformer<T>({
        kc,
        path: pathFor(ns),
        list: () => list(ns),
        labelSelector,
        onWatchError: (err, restartInMs) => log.warn('watch stopped; restarting', { path: pathFor(ns), restartInMs, err: String(err) }),
        onHandlerError: (err) => log.error('event handler failed', { err: String(err) }),
      }),
  );
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const kc = opts.kubeConfig;
  const namespaces = opts.namespaces ?? [];
  const identity = opts.identity ?? `${hostname()}-${process.pid}`;
  const metrics = createMetrics({ perMemberUtilization: opts.memberMetrics ?? false });
  const { core, custom, coordination } = makeInstrumentedClients(kc, onApiRequest(metrics));

  const customPath = (plural: string) => (ns: string | undefined) =>
    ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}` : `/apis/${GROUP}/${VERSION}/${plural}`;
  const listCustom =
    <T extends KubernetesObject>(plural: string) =>
    (ns: string | undefined): Promise<KubernetesListObject<T>> =>
      (ns
        ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })
        : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as Promise<KubernetesListObject<T>>;
  const pools = new InformerSet(informersFor<InstancePool>(kc, namespaces, customPath(POOL_PLURAL), listCustom<InstancePool>(POOL_PLURAL)));
  const claims = new InformerSet(informersFor<PoolClaim>(kc, namespaces, customPath(CLAIM_PLURAL), listCustom<PoolClaim>(CLAIM_PLURAL)));
  const pods = new InformerSet(
    informersFor<V1Pod>(
      kc,
      namespaces,
      (ns) => (ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods'),
      (ns) =>
        ns
          ? core.listNamespacedPod({ namespace: ns, labelSelector: LABEL_POOL })
          : core.listPodForAllNamespaces({ labelSelector: LABEL_POOL }),
      LABEL_POOL,
    ),
  );

  // Both controllers read one pool's members and claims per pass.
  const podsByPool = new CacheIndex<V1Pod>(pods, (p) => p.metadata?.labels?.[LABEL_POOL]);
  const claimsByPool = new CacheIndex<PoolClaim>(claims, (c) => c.spec?.poolName);

  const events = new EventRecorder({
    core,
    instance: identity,
    onError: (err) => log.debug('event write failed', { err: String(err) }),
  });
  // Pacing (see WorkQueue): a pass plans a whole pool, and a burst of binds or claims sends an event per object.
  // A pool pass may take a third of the time under such a burst, a claim pass half; an idle pool is not delayed.
  const poolQueue = new WorkQueue({ name: 'pool', hooks: queueHooks(metrics), pace: { factor: 2, maxMs: 100 } });
  const claimQueue = new WorkQueue({ name: 'claim', hooks: queueHooks(metrics), pace: { factor: 1, maxMs: 20 } });
  const poolController = new PoolController({
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
  });
  const claimController = new ClaimController({
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
  });
  poolController.register();
  claimController.register();

  const scraper = new UtilizationScraper({
    metrics,
    clients: kubeScrapeClients(kc, onApiRequest(metrics)),
    members: (ns, name) => podsByPool.list(ns, name),
    onUtilization: (key, utilization) =>
      void poolController.utilizationChanged(key, utilization).catch((err: unknown) =>
        log.warn('utilization status write failed', { key, err: String(err) }),
      ),
  });
  let leading = false;
  pools.onAdd((p) => leading && scraper.sync(p));
  pools.onUpdate((p) => leading && scraper.sync(p));
  pools.onDelete((p) => scraper.remove(p.metadata.namespace ?? '', p.metadata.name ?? ''));

  const probe = await startHttpServer({
    address: opts.healthProbeBindAddress ?? '127.0.0.1:8081',
    routes: { '/healthz': healthzHandler(), '/readyz': readyzHandler(() => pools.synced && claims.synced && pods.synced) },
  });
  const metricsServer = await startHttpServer({
    address: opts.metricsBindAddress ?? '127.0.0.1:8080',
    routes: { '/metrics': metricsHandler(metrics.registry) },
  });

  await Promise.all([pools.start(), claims.start(), pods.start()]);
  log.info('caches synced', { namespaces: namespaces.length === 0 ? 'all' : namespaces.join(',') });

  let workers: Promise<void> | undefined;
  const startControllers = (): void => {
    metrics.leader.set(1);
    leading = true;
    for (const p of pools.list()) scraper.sync(p);
    workers = Promise.all([
      runWorkers(poolQueue, opts.poolWorkers ?? 4, (key) => poolController.reconcile(key), {
        onError: (key, err) => log.warn('pool reconcile failed', { key, err: String(err) }),
      }),
      runWorkers(claimQueue, opts.claimWorkers ?? 4, (key) => claimController.reconcile(key), {
        onError: (key, err) => log.warn('claim reconcile failed', { key, err: String(err) }),
      }),
    ]).then(() => undefined);
    // Level-triggered start: every pool is reconciled once, whatever happened while nobody led.
    for (const p of pools.list()) {
      const key = `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
      poolQueue.add(key);
      claimQueue.add(key);
    }
    for (const c of claims.list()) claimQueue.add(`${c.metadata.namespace ?? ''}/${c.spec.poolName}`);
    log.info('operator started', { identity });
  };

  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  let elector: LeaderElector | undefined;

  const shutdown = async (): Promise<void> => {
    poolQueue.shutDown();
    claimQueue.shutDown();
    leading = false;
    scraper.stop();
    await workers;
    await claimController.drain();
    metrics.leader.set(0);
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping');
      if (elector) await elector.stop({ release: true });
      else await shutdown();
      await Promise.all([pools.stop(), claims.stop(), pods.stop()]);
      await events.flush?.();
      await Promise.all([probe.close(), metricsServer.close()]);
      resolveDone();
    })();
    return stopping;
  };

  if (opts.leaderElect) {
    elector = new LeaderElector({
      kc,
      coordination,
      namespace: opts.leaderElectionNamespace ?? namespaces[0] ?? 'default',
      name: opts.leaderElectionId ?? 'warmpool-operator',
      identity,
      onStartedLeading: () => startControllers(),
      onStoppedLeading: async () => {
        await shutdown();
        // Leadership lost while running: stop the process's work; a supervisor (Deployment) restarts us.
        void stop();
      },
      onNewLeader: (holder) => log.info('leader', { holder, self: holder === identity }),
      onError: (err) => log.warn('leader election', { err: String(err) }),
    });
    void elector.run();
  } else {
    startControllers();
  }

  return { metricsPort: metricsServer.port, probePort: probe.port, done, stop };
}
