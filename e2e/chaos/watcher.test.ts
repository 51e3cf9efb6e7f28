// The invariant checks on their own: snapshots in, violations out, so each check is seen to fire (and to stay
// quiet on what only looks wrong for one snapshot) without a cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim } from '../../operator/api/types.js';
import { writesAfterLeaseLoss } from './run.js';
import { InvariantWatcher, type Snapshot, type Violation } from './watcher.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-watcher-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  }),
);

const pool: InstancePool = { apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', metadata: { name: 'p', uid: 'pool-uid' }, spec: { targetSize: 1 } } as InstancePool;

function pod(name: string, o: { state: string; claimUid?: string; owner?: string; ready?: boolean }): V1Pod {
  return {
    metadata: {
      name,
      uid: `${name}-uid`,
      labels: { 'warmpool.dev/pool': 'p', 'warmpool.dev/state': o.state },
      annotations: o.claimUid === undefined ? {} : { 'warmpool.dev/claim-uid': o.claimUid },
      ownerReferences: o.owner === undefined ? [] : [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: o.owner, controller: true }],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function claim(name: string, o: { phase: string; member?: string }): PoolClaim {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'PoolClaim',
    metadata: { name, uid: `${name}-uid` },
    spec: { poolName: 'p' },
    status: { phase: o.phase, member: o.member === undefined ? undefined : { name: o.member, uid: `${o.member}-uid` } },
  } as PoolClaim;
}

const snap = (at: number, pods: V1Pod[], claims: PoolClaim[]): Snapshot => ({ at, pods, claims, pools: [pool] });

interface Case {
  name: string;
  snapshots: Snapshot[];
  faultUntil?: number;
  want: Violation['kind'][];
}

const cases: Case[] = [
  {
    name: 'two Bound claims on one pod in two snapshots running is a double bind',
    snapshots: [1000, 1500].map((t) => snap(t, [pod('m', { state: 'claimed', claimUid: 'a-uid', owner: 'a-uid' })], [claim('a', { phase: 'Bound', member: 'm' }), claim('b', { phase: 'Bound', member: 'm' })])),
    want: ['double-bind', 'pod-names-other-claim'],
  },
  {
    name: 'the same in one snapshot only (two lists are not one transaction) is not',
    snapshots: [
      snap(1000, [pod('m', { state: 'claimed', claimUid: 'a-uid', owner: 'a-uid' })], [claim('a', { phase: 'Bound', member: 'm' }), claim('b', { phase: 'Bound', member: 'm' })]),
      snap(1500, [pod('m', { state: 'claimed', claimUid: 'a-uid', owner: 'a-uid' })], [claim('a', { phase: 'Bound', member: 'm' })]),
    ],
    want: [],
  },
  {
    name: 'a claim that names another pod later was re-bound',
    snapshots: [
      snap(1000, [], [claim('a', { phase: 'Bound', member: 'm1' })]),
      snap(1500, [], [claim('a', { phase: 'Bound', member: 'm2' })]),
    ],
    want: ['claim-rebound'],
  },
  {
    name: 'a member with no live owner past the bound is a leak',
    snapshots: [0, 30_000, 61_000].map((t) => snap(t, [pod('m', { state: 'ready', owner: 'gone' })], [])),
    want: ['ownerless-member'],
  },
  {
    name: 'a member owned by its pool is fine',
    snapshots: [0, 30_000, 61_000].map((t) => snap(t, [pod('m', { state: 'ready', owner: 'pool-uid' })], [])),
    want: [],
  },
  {
    name: 'a claim Pending past the bound while a ready member exists is stuck',
    snapshots: Array.from({ length: 32 }, (_, i) => snap(i * 1000, [pod('m', { state: 'ready', owner: 'pool-uid' })], [claim('a', { phase: 'Pending' })])),
    want: ['stuck-pending'],
  },
  {
    name: 'not while a fault is in progress',
    snapshots: Array.from({ length: 32 }, (_, i) => snap(i * 1000, [pod('m', { state: 'ready', owner: 'pool-uid' })], [claim('a', { phase: 'Pending' })])),
    faultUntil: 40_000,
    want: [],
  },
  {
    name: 'nor when the ready member is not Ready',
    snapshots: Array.from({ length: 32 }, (_, i) => snap(i * 1000, [pod('m', { state: 'ready', owner: 'pool-uid', ready: false })], [claim('a', { phase: 'Pending' })])),
    want: [],
  },
];

test.each(cases)('$name', ({ snapshots, faultUntil, want }) => {
  const w = new InvariantWatcher({ kubeconfig, namespace: 'chaos', leaseId: 'l' });
  if (faultUntil !== undefined) w.faultWindow(faultUntil);
  for (const s of snapshots) w.observe(s);
  expect(w.violations.map((v) => v.kind).sort()).toEqual([...want].sort());
});

test('writes that succeed while another replica holds the Lease are found in the audit log; others are not', () => {
  const audit = join(dir, 'audit.log');
  const ev = (user: string, at: string, verb: string, resource: string, code: number, receivedAt = at): string =>
    JSON.stringify({ stage: 'ResponseComplete', stageTimestamp: at, requestReceivedTimestamp: receivedAt, verb, user: { username: user }, objectRef: { resource, namespace: 'chaos', name: 'x' }, responseStatus: { code } });
  writeFileSync(
    audit,
    [
      ev('chaos-op-a', '2026-01-01T00:00:05Z', 'create', 'pods', 201), // a holds: fine
      ev('chaos-op-a', '2026-01-01T00:00:25Z', 'patch', 'pods', 200), // b holds since 20 s: a violation
      ev('chaos-op-a', '2026-01-01T00:00:26Z', 'patch', 'pods', 409), // refused: fine
      ev('chaos-op-a', '2026-01-01T00:00:27Z', 'update', 'leases', 200), // the Lease itself: fine
      ev('chaos-op-b', '2026-01-01T00:00:28Z', 'create', 'pods', 201), // the holder: fine
      // Received while a held the Lease, completed after b took it (a request on the wire across a pause): fine.
      ev('chaos-op-a', '2026-01-01T00:00:21Z', 'patch', 'pods', 200, '2026-01-01T00:00:19Z'),
    ].join('\n') + '\n',
  );
  const found = writesAfterLeaseLoss(
    audit,
    [
      { name: 'replica-a', user: 'chaos-op-a' },
      { name: 'replica-b', user: 'chaos-op-b' },
    ],
    [
      { at: 0, holder: 'replica-a', acquireTime: Date.parse('2026-01-01T00:00:00Z') },
      { at: 0, holder: 'replica-b', acquireTime: Date.parse('2026-01-01T00:00:20Z') },
    ],
  );
  expect(found.map((w) => [w.replica, w.verb, w.code])).toEqual([['replica-a', 'patch', 200]]);
});
