// The independent invariant watcher: it reads the API server itself (its own client and connections, nothing of
// the operator's caches), takes a consistent snapshot of pods, claims, pools and the Lease every tick, and checks
// the invariants over time. A check that a snapshot could fail for a moment without anything being wrong (two
// lists are not one transaction) is confirmed on the next snapshot before it counts as a violation.
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ANN_CLAIM_UID, LABEL_POOL, LABEL_STATE, type InstancePool, type PoolClaim } from '../../operator/api/types.js';

export interface Violation {
  at: number;
  kind: 'double-bind' | 'claim-rebound' | 'pod-names-other-claim' | 'ownerless-member' | 'stuck-pending';
  detail: string;
}

export interface ClaimView {
  uid: string;
  name: string;
  pool: string;
  phase?: string;
  reason?: string;
  memberUid?: string;
  deleting: boolean;
}

export interface LeaseChange {
  at: number;
  holder: string;
  acquireTime: number;
}

export interface Snapshot {
  at: number;
  pods: V1Pod[];
  claims: PoolClaim[];
  pools: InstancePool[];
}

export interface WatcherOptions {
  kubeconfig: string;
  namespace: string;
  leaseId: string;
  intervalMs?: number;
  /** A claim Pending this long (outside fault windows) while its pool has ready members is stuck. */
  pendingBoundMs?: number;
  /** A member pod with no live owner this long is a leak (the garbage collector needs a moment). */
  ownerlessBoundMs?: number;
}

const GROUP = 'warmpool.dev';
const VERSION = 'v1alpha1';

const isReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const reasonOf = (c: PoolClaim): string | undefined =>
  c.status?.conditions?.find((x) => x.type === 'Bound')?.reason ?? c.status?.conditions?.find((x) => x.type === 'Ready')?.reason;

export class InvariantWatcher {
  readonly violations: Violation[] = [];
  readonly leaseHistory: LeaseChange[] = [];
  /** Every claim ever seen, by uid, with its latest view. */
  readonly claims = new Map<string, ClaimView>();
  private readonly byName = new Map<string, ClaimView>();
  private readonly firstMember = new Map<string, string>();
  private readonly suspects = new Map<string, Violation>();
  private readonly ownerlessSince = new Map<string, number>();
  private readonly pendingWithReadyMs = new Map<string, number>();
  private readonly reported = new Set<string>();
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly coord: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastTickAt: number | undefined;
  private quietFrom = 0;
  latest: Snapshot | undefined;
  ticks = 0;
  failedTicks = 0;
  private readonly listeners: ((s: Snapshot) => void)[] = [];

  constructor(private readonly o: WatcherOptions) {
    const kc = new KubeConfig();
    kc.loadFromFile(o.kubeconfig);
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coord = kc.makeApiClient(CoordinationV1Api);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Faults are in progress until `until` (ms epoch): the stuck-pending clock does not run before it. */
  faultWindow(until: number): void {
    this.quietFrom = Math.max(this.quietFrom, until);
  }

  onSnapshot(fn: (s: Snapshot) => void): void {
    this.listeners.push(fn);
  }

  claim(name: string): ClaimView | undefined {
    return this.byName.get(name);
  }

  /** Takes one snapshot now (also used by the convergence check at the end). */
  async tick(): Promise<Snapshot | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const ns = this.o.namespace;
      const [pods, claims, pools] = await Promise.all([
        this.core.listNamespacedPod({ namespace: ns, labelSelector: LABEL_POOL, timeoutSeconds: 10 }),
        this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'poolclaims', timeoutSeconds: 10 }) as Promise<{ items: PoolClaim[] }>,
        this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'instancepools', timeoutSeconds: 10 }) as Promise<{ items: InstancePool[] }>,
      ]);
      const lease = await this.coord.readNamespacedLease({ namespace: ns, name: this.o.leaseId }).catch(() => undefined);
      const snap: Snapshot = { at: Date.now(), pods: pods.items, claims: claims.items, pools: pools.items };
      if (lease?.spec?.holderIdentity) {
        const acquire = lease.spec.acquireTime ? new Date(lease.spec.acquireTime).getTime() : 0;
        const last = this.leaseHistory.at(-1);
        if (last === undefined || last.holder !== lease.spec.holderIdentity || last.acquireTime !== acquire) {
          this.leaseHistory.push({ at: snap.at, holder: lease.spec.holderIdentity, acquireTime: acquire });
        }
      }
      this.observe(snap);
      this.latest = snap;
      this.ticks++;
      for (const l of this.listeners) l(snap);
      return snap;
    } catch {
      // The API server is down or slow: that is one of the faults; the next tick tries again.
      this.failedTicks++;
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  private violate(v: Violation, key: string, confirm: boolean, seenNow: Set<string>): void {
    seenNow.add(key);
    if (this.reported.has(key)) return;
    if (confirm && !this.suspects.has(key)) {
      this.suspects.set(key, v);
      return;
    }
    this.reported.add(key);
    this.violations.push(v);
  }

  /** Checks one snapshot against the invariants (tick calls it; public so the checks can be tested without a cluster). */
  observe(s: Snapshot): void {
    const seen = new Set<string>();
    const dt = this.lastTickAt === undefined ? 0 : s.at - this.lastTickAt;
    this.lastTickAt = s.at;
    const liveClaims = new Map<string, PoolClaim>();
    for (const c of s.claims) {
      const uid = c.metadata.uid ?? '';
      const view: ClaimView = {
        uid,
        name: c.metadata.name ?? '',
        pool: c.spec.poolName,
        phase: c.status?.phase,
        reason: reasonOf(c),
        memberUid: c.status?.member?.uid,
        deleting: c.metadata.deletionTimestamp !== undefined,
      };
      this.claims.set(uid, view);
      this.byName.set(view.name, view);
      liveClaims.set(uid, c);
      // No claim ever names two pods: a claim is never silently re-bound.
      if (view.memberUid !== undefined) {
        const first = this.firstMember.get(uid);
        if (first === undefined) this.firstMember.set(uid, view.memberUid);
        else if (first !== view.memberUid) {
          this.violate({ at: s.at, kind: 'claim-rebound', detail: `claim ${view.name} named pod ${first}, now ${view.memberUid}` }, `rebound/${uid}`, false, seen);
        }
      }
    }
    // Claims gone from the list are deleted: forget their name so a later claim of that name starts fresh.
    for (const [name, v] of this.byName) if (!liveClaims.has(v.uid)) this.byName.delete(name);

    // No pod names two claims at once: live Bound claims grouped by member.
    const boundBy = new Map<string, string[]>();
    for (const c of s.claims) {
      if (c.status?.phase !== 'Bound' || c.metadata.deletionTimestamp || !c.status.member) continue;
      const list = boundBy.get(c.status.member.uid) ?? [];
      list.push(c.metadata.name ?? '');
      boundBy.set(c.status.member.uid, list);
    }
    for (const [pod, names] of boundBy) {
      if (names.length > 1) this.violate({ at: s.at, kind: 'double-bind', detail: `pod ${pod} bound by claims ${names.join(', ')}` }, `double/${pod}/${names.sort().join(',')}`, true, seen);
    }

    const ownerUids = new Set<string>([...s.pools.map((p) => p.metadata.uid ?? ''), ...liveClaims.keys()]);
    const readyByPool = new Map<string, number>();
    for (const p of s.pods) {
      const uid = p.metadata?.uid ?? '';
      if (p.metadata?.deletionTimestamp) continue;
      const ann = p.metadata?.annotations?.[ANN_CLAIM_UID];
      // The pod and the claim agree: a Bound claim's member records that claim and no other.
      if (ann !== undefined) {
        for (const c of s.claims) {
          if (c.status?.phase === 'Bound' && !c.metadata.deletionTimestamp && c.status.member?.uid === uid && c.metadata.uid !== ann) {
            this.violate(
              { at: s.at, kind: 'pod-names-other-claim', detail: `pod ${p.metadata?.name} records claim ${ann}, claim ${c.metadata.name} says it is bound to it` },
              `other/${uid}/${c.metadata.uid}`,
              true,
              seen,
            );
          }
        }
      }
      // Every member has a live owner (its pool, or its claim once bound).
      const ctrl = p.metadata?.ownerReferences?.find((r) => r.controller === true);
      if (ctrl === undefined || !ownerUids.has(ctrl.uid)) {
        const since = this.ownerlessSince.get(uid) ?? s.at;
        this.ownerlessSince.set(uid, since);
        if (s.at - since > (this.o.ownerlessBoundMs ?? 60_000)) {
          this.violate({ at: s.at, kind: 'ownerless-member', detail: `pod ${p.metadata?.name} has no live owner for ${Math.round((s.at - since) / 1000)} s` }, `owner/${uid}`, false, seen);
        }
      } else this.ownerlessSince.delete(uid);
      if (p.metadata?.labels?.[LABEL_STATE] === 'ready' && isReady(p)) {
        const pool = p.metadata.labels[LABEL_POOL] ?? '';
        readyByPool.set(pool, (readyByPool.get(pool) ?? 0) + 1);
      }
    }

    // No claim stays Pending while ready members exist, counted only outside fault windows.
    const quiet = s.at >= this.quietFrom;
    for (const c of s.claims) {
      const uid = c.metadata.uid ?? '';
      const pending = (c.status?.phase ?? 'Pending') === 'Pending' && !c.metadata.deletionTimestamp;
      if (!pending) {
        this.pendingWithReadyMs.delete(uid);
        continue;
      }
      if (!quiet || (readyByPool.get(c.spec.poolName) ?? 0) === 0) continue;
      const ms = (this.pendingWithReadyMs.get(uid) ?? 0) + dt;
      this.pendingWithReadyMs.set(uid, ms);
      if (ms > (this.o.pendingBoundMs ?? 30_000)) {
        this.violate({ at: s.at, kind: 'stuck-pending', detail: `claim ${c.metadata.name} Pending ${Math.round(ms / 1000)} s while pool ${c.spec.poolName} had ready members` }, `pending/${uid}`, false, seen);
      }
    }
    // A suspect not seen again was a snapshot artefact.
    for (const k of [...this.suspects.keys()]) if (!seen.has(k)) this.suspects.delete(k);
  }
}
