// Active-active shards: three replicas as processes (bin/warmpool operator --shards 6), each under its own user so
// the audit log tells their writes apart, and pools spread over all six shards. Every write to a pool, its members
// and its claims must come from the replica that held the pool's shard at that moment (by the shard Leases' history,
// watched from before the first replica started); a replica killed with SIGKILL loses its shards to the others
// within the lease duration, and no claim is lost.
import { KubeConfig, Watch, type V1Lease } from '@kubernetes/client-node';
import { attachCluster } from '../e2e/cluster/cluster.js';
import { AUDIT_POD_CREATE_BODY_GROUP } from '../e2e/cluster/stages.js';
import { LABEL_POOL } from '../operator/api/types.js';
import { joinKey } from '../operator/kube/key.js';
import { PDB_NAME, pdbKey } from '../operator/pool/pdb.js';
import { LABEL_LEASE_ROLE, LABEL_SHARD_GROUP, shardOf, shardOfLeaseName } from '../operator/kube/shards.js';
import { requestsBy, WRITE_VERBS, type AuditEvent } from './support/audit.js';
import { eventually, installCrds, kubeconfig, kubectl, useNamespace } from './support/kube.js';
import { spawnOperator, type OperatorProcess } from './support/operator.js';
import { claimManifest, listClaims, poolManifest, poolWhere } from './support/pools.js';

const SHARDS = 6;
const LEASE = 'shards-test';
// The operator's default lease duration and retry period (kube/shard-elector.ts).
const LEASE_DURATION_S = 15;
const RETRY_S = 2 * 1.2;

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('shards'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.kill()));
});

afterAll(async () => {
  await cleanup();
});

/** One version of a shard Lease as the watch saw it. */
interface LeaseVersion {
  shard: number;
  holder: string;
  acquiredMs: number;
}

/** Every version of the shard Leases, in the order the API server made them (one watch, opened before any replica). */
async function watchShardLeases(): Promise<{ versions: LeaseVersion[]; errors: unknown[]; stop: () => void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  const versions: LeaseVersion[] = [];
  const errors: unknown[] = [];
  const req = await new Watch(kc).watch(
    `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
    { labelSelector: `${LABEL_SHARD_GROUP}=${LEASE},${LABEL_LEASE_ROLE}=shard` },
    (type: string, lease: V1Lease) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const shard = shardOfLeaseName(LEASE, lease.metadata?.name ?? '', SHARDS);
      if (shard === undefined) return;
      versions.push({ shard, holder: lease.spec?.holderIdentity ?? '', acquiredMs: new Date(lease.spec?.acquireTime ?? 0).getTime() });
    },
    (err: unknown) => {
      if (err) errors.push(err);
    },
  );
  return { versions, errors, stop: () => req.abort() };
}

/** Who held each shard from when: a tenure starts at its holder's acquireTime and ends at the next one's. */
function tenures(versions: readonly LeaseVersion[]): Map<number, { holder: string; fromMs: number; toMs: number }[]> {
  const out = new Map<number, { holder: string; fromMs: number; toMs: number }[]>();
  for (const v of versions) {
    const list = out.get(v.shard) ?? [];
    out.set(v.shard, list);
    const last = list[list.length - 1];
    if (last !== undefined && last.holder === v.holder) continue; // a renewal
    if (last !== undefined) last.toMs = v.acquiredMs;
    list.push({ holder: v.holder, fromMs: v.acquiredMs, toMs: Number.POSITIVE_INFINITY });
  }
  return out;
}

async function holders(): Promise<Map<number, string>> {
  const out = await kubectl(['-n', ns, 'get', 'leases', '-l', `${LABEL_SHARD_GROUP}=${LEASE},${LABEL_LEASE_ROLE}=shard`, '-o', 'json']);
  const items = (JSON.parse(out) as { items: V1Lease[] }).items;
  const map = new Map<number, string>();
  for (const l of items) {
    const shard = shardOfLeaseName(LEASE, l.metadata?.name ?? '', SHARDS);
    if (shard !== undefined && l.spec?.holderIdentity) map.set(shard, l.spec.holderIdentity);
  }
  return map;
}

const countsOf = (m: Map<number, string>): Record<string, number> => {
  const c: Record<string, number> = {};
  for (const h of m.values()) c[h] = (c[h] ?? 0) + 1;
  return c;
};

test('3 replicas, 6 shards: one writer per shard at a time; a killed replica loses its shards to the others and no claim is lost', async () => {
  // Two pools per shard, found by the operator's own hash, so every shard has work.
  const pools: string[] = [];
  const perShard = new Array<number>(SHARDS).fill(0);
  for (let i = 0; pools.length < 2 * SHARDS; i++) {
    const name = `p${String(i).padStart(3, '0')}`;
    const s = shardOf(joinKey(ns, name), SHARDS);
    if ((perShard[s] ?? 0) < 2) {
      perShard[s] = (perShard[s] ?? 0) + 1;
      pools.push(name);
    }
  }
  const shardOfPool = (pool: string): number => shardOf(joinKey(ns, pool), SHARDS);

  const watch = await watchShardLeases();
  const cluster = await attachCluster(process.env.WARMPOOL_TEST_CLUSTER ?? '');
  const ids = ['replica-a', 'replica-b', 'replica-c'];
  const userOf = (id: string): string => `warmpool-shards-${id}`;
  const kcs = await Promise.all(ids.map((id) => cluster.kubeconfigFor(userOf(id), ['system:masters', AUDIT_POD_CREATE_BODY_GROUP])));
  const t0 = Date.now();
  const flags = ['--namespaces', ns, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0'];
  const elect = ['--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', LEASE, '--shards', String(SHARDS)];
  const ops = await Promise.all(
    ids.map((id, i) => spawnOperator([...flags, ...elect, '--identity', id], kcs[i]).then((op) => (running.push(op), op))),
  );

  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: pools.map((p) => JSON.parse(poolManifest(ns, p, { targetSize: 2, annotations: { 'sim.warmpool.dev/ready-after': '300ms' } })) as unknown),
  }));
  // At rest: each replica holds 2 shards, and every pool is ready.
  const rest = await eventually('each replica holds 2 of the 6 shards', async () => {
    const h = await holders();
    const c = countsOf(h);
    return h.size === SHARDS && ids.every((id) => c[id] === 2) ? h : undefined;
  }, 60_000, 250);
  for (const p of pools) await poolWhere(ns, p, 'ready', (x) => x.status?.readyCount === 2, 60_000);

  const claimsOf = new Map<string, string>();
  const makeClaims = async (tag: string): Promise<void> => {
    const items = pools.flatMap((p) => [0, 1].map((i) => {
      const name = `${p}-${tag}${i}`;
      claimsOf.set(name, p);
      return JSON.parse(claimManifest(ns, name, p)) as unknown;
    }));
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  };
  await makeClaims('before');

  // Kill the replica holding shard 0's Lease, with claims made before and right after.
  const victim = rest.get(0) ?? 'replica-a';
  const lost = [...rest].filter(([, h]) => h === victim).map(([s]) => s);
  await ops[ids.indexOf(victim)]?.kill('SIGKILL');
  const killedAt = Date.now();
  await makeClaims('during');
  const moved = await eventually('the killed replica\'s shards held by the others, 3 each', async () => {
    const h = await holders();
    const c = countsOf(h);
    return h.size === SHARDS && ids.filter((id) => id !== victim).every((id) => c[id] === 3) ? h : undefined;
  }, 60_000, 200);
  const tookOverS = (Date.now() - killedAt) / 1000;
  process.stderr.write(`[shards] the killed replica's ${lost.length} shards held by the others ${tookOverS.toFixed(1)} s after the kill\n`);
  // A survivor takes a shard once it has seen its Lease unchanged for the lease duration, at its next round.
  expect(tookOverS).toBeLessThan(LEASE_DURATION_S + 2 * RETRY_S + 5);
  for (const s of lost) expect(moved.get(s)).not.toBe(victim);

  let last = '';
  await eventually('every claim Bound', async () => {
    const cs = (await listClaims(ns)).filter((c) => claimsOf.has(c.metadata.name ?? ''));
    last = cs.filter((c) => c.status?.phase !== 'Bound').map((c) => `${c.metadata.name}:${c.status?.phase ?? 'none'}`).join(' ');
    return cs.length === claimsOf.size && cs.every((c) => c.status?.phase === 'Bound') ? true : undefined;
  }, 60_000, 250).catch((e: unknown) => {
    throw new Error(`${String(e)}; not bound: ${last}`);
  });
  await eventually('the audit log has caught up', async () =>
    ids.some((id) => requestsBy(userOf(id), Date.now() - 1000).length > 0) ? true : undefined, 10_000, 200);
  watch.stop();
  expect(watch.errors).toEqual([]);

  // Which shard an audited object belongs to: the namespace's PDB its own key's; else that of the pool it belongs to:
  // the pool itself, objects named after it (members, claims, and Events about either), and a member created with
  // generateName (no name yet: its pool label, from the body).
  const shardOfWrite = (e: AuditEvent & { requestObject?: { metadata?: { labels?: Record<string, string> } } }): number | undefined => {
    if (e.objectRef?.resource === 'poddisruptionbudgets' && e.objectRef.name === PDB_NAME) return shardOf(pdbKey(ns), SHARDS);
    const label = e.objectRef?.resource === 'pods' && e.verb === 'create' ? e.requestObject?.metadata?.labels?.[LABEL_POOL] : undefined;
    const name = e.objectRef?.name ?? '';
    const pool = label !== undefined ? pools.find((p) => p === label) : pools.find((p) => name === p || name.startsWith(`${p}-`) || name.startsWith(`${p}.`));
    return pool === undefined ? undefined : shardOfPool(pool);
  };
  const history = tenures(watch.versions);
  const offences: string[] = [];
  const writesPerReplica: Record<string, number> = {};
  for (const id of ids) {
    const writes = requestsBy(userOf(id), t0).filter((e) => WRITE_VERBS.has(e.verb) && e.objectRef?.namespace === ns && e.objectRef.resource !== 'leases');
    for (const w of writes) {
      const shard = shardOfWrite(w);
      const at = Date.parse(w.requestReceivedTimestamp ?? w.stageTimestamp);
      if (shard === undefined) {
        offences.push(`${id}: ${w.verb} ${w.objectRef?.resource ?? ''}/${w.objectRef?.name ?? ''} belongs to no pool`);
        continue;
      }
      const tenure = history.get(shard)?.find((t) => t.fromMs <= at && at < t.toMs);
      if (tenure?.holder !== id) {
        offences.push(`${id}: ${w.verb} ${w.objectRef?.resource ?? ''}/${w.objectRef?.name ?? ''} at ${new Date(at).toISOString()} (shard ${shard} held by ${tenure?.holder || 'nobody'})`);
      }
      writesPerReplica[id] = (writesPerReplica[id] ?? 0) + 1;
    }
  }
  expect(offences).toEqual([]);
  // Not vacuous: every replica wrote for its shards, and the survivors took the victim's over.
  for (const id of ids) expect(writesPerReplica[id] ?? 0).toBeGreaterThan(0);
  for (const s of lost) expect(history.get(s)?.some((t) => t.holder !== victim && t.holder !== '' && t.fromMs >= killedAt - 1000)).toBe(true);
  await Promise.all(ops.map((op) => op.kill('SIGTERM')));
}, 120_000);
