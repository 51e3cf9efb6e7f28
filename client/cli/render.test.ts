import type { V1Pod } from '@kubernetes/client-node';
import type { InstancePool, PoolClaim } from '../../operator/api/types.js';
import { age, renderStatus, renderTop } from './render.js';

const now = Date.parse('2026-01-01T00:10:00Z');
const pool: InstancePool = {
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'ci', namespace: 'ns', uid: 'pool-uid' },
  spec: { targetSize: 2, template: { spec: { containers: [] } } },
  status: { phase: 'Active', readyCount: 1, claimedCount: 1, warmup: { lastSeconds: 1.2, averageSeconds: 1.5, samples: 3 }, utilization: { combinedRps: 3, httpRps: 3, tcpRps: 0, methodRps: 0, inflight: 2, avgCpuPercent: 25, sampledAt: '2026-01-01T00:09:50Z' } },
};

function pod(name: string, o: { state: string; owner: 'pool' | 'claim' | 'stranger'; ready: boolean; claim?: string }): V1Pod {
  const ownerReferences =
    o.owner === 'pool'
      ? [{ apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'ci', uid: 'pool-uid', controller: true }]
      : o.owner === 'claim'
        ? [{ apiVersion: 'warmpool.dev/v1alpha1', kind: 'PoolClaim', name: o.claim ?? '', uid: 'claim-uid', controller: true }]
        : [];
  return {
    metadata: {
      name,
      creationTimestamp: new Date('2026-01-01T00:07:00Z'),
      labels: { 'warmpool.dev/pool': 'ci', 'warmpool.dev/state': o.state, ...(o.claim ? { 'warmpool.dev/claim': o.claim } : {}) },
      annotations: {
        'warmpool.dev/warming-started-at': '2026-01-01T00:07:00Z',
        ...(o.ready ? { 'warmpool.dev/ready-at': '2026-01-01T00:07:01.500Z' } : {}),
        ...(o.claim ? { 'warmpool.dev/claim-uid': 'claim-uid', 'warmpool.dev/acquired-by': 'job-9' } : {}),
      },
      ownerReferences,
    },
    spec: { nodeName: 'node-0', containers: [{ name: 'main', image: 'x', resources: { requests: { cpu: '500m', memory: '256Mi' } } }] },
    status: { podIP: '127.64.0.9', conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
  };
}

const pods = [
  pod('ci-ready', { state: 'ready', owner: 'pool', ready: true }),
  pod('ci-claimed', { state: 'claimed', owner: 'claim', ready: true, claim: 'ci-x1' }),
  pod('ci-warming', { state: 'warming', owner: 'pool', ready: false }),
  pod('impostor', { state: 'ready', owner: 'stranger', ready: true }),
];
const waiting: PoolClaim = {
  apiVersion: 'warmpool.dev/v1alpha1',
  kind: 'PoolClaim',
  metadata: { name: 'ci-w', creationTimestamp: '2026-01-01T00:09:30Z' as unknown as Date },
  spec: { poolName: 'ci', priority: 7, acquiredBy: 'job-10' },
  status: { phase: 'Pending', queuePosition: 1, conditions: [{ type: 'Bound', status: 'False', reason: 'Queued', message: '', lastTransitionTime: '' }] },
};

test('status: members by state with age and warm-up, pending claims, utilization; impostors are not members', () => {
  const out = renderStatus({ pool, pods, claims: [waiting], now });
  expect(out).toContain('Pool ci (namespace ns): Active, target 2 (min 0, max 12)');
  expect(out).toContain('members:     1 ready, 1 warming, 1 claimed');
  expect(out).toContain('pending:     1 claim waiting');
  expect(out).toContain('warm-up:     last 1.2s, average 1.5s over 3 members');
  expect(out).toContain('utilization: 3.00 req/s (http 3.00, tcp 0.00, method 0.00), 2 in flight, cpu 25.0%, memory <unknown> (sampled 10s ago)');
  const lines = out.split('\n');
  const header = lines.findIndex((l) => l.startsWith('MEMBER'));
  expect(lines.slice(header + 1, header + 4).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
    ['ci-claimed', 'claimed', '3m', '1.5s'],
    ['ci-ready', 'ready', '3m', '1.5s'],
    ['ci-warming', 'warming', '3m', '-'],
  ]);
  expect(out).toMatch(/ci-claimed\s+claimed\s+3m\s+1\.5s\s+node-0\s+127\.64\.0\.9\s+ci-x1\s+job-9/);
  expect(out).not.toContain('impostor');
  expect(out).toMatch(/PENDING CLAIM\s+PRIORITY\s+POSITION\s+REASON\s+ACQUIRED-BY\s+AGE\nci-w\s+7\s+1\s+Queued\s+job-10\s+30s/);
});

test('top: the pool from its status, members from PodMetrics as a share of their requests', () => {
  const usage = new Map([['ci-claimed', { name: 'ci-claimed', containers: [{ name: 'main', cpu: 0.25, memory: 64 * 2 ** 20 }] }]]);
  const out = renderTop({ pools: [pool], pods, usage });
  expect(out).toMatch(/POOL\s+TARGET\s+READY\s+CLAIMED\s+REQ\/S\s+IN-FLIGHT\s+CPU%\s+MEMORY%\nci\s+2\s+1\s+1\s+3\.00\s+2\s+25\.0%\s+<unknown>/);
  expect(out).toMatch(/ci\s+ci-claimed\s+claimed\s+250m\s+50\.0%\s+64Mi\s+25\.0%/);
  expect(out).toMatch(/ci\s+ci-ready\s+ready\s+<unknown>/);
  expect(out).not.toContain('impostor');
  expect(renderTop({ pools: [pool], pods, usage: undefined })).toContain('need metrics.k8s.io');
});

test('a pool without spec.metrics: cpu and memory only, no request figures made up', () => {
  const plain: InstancePool = { ...pool, status: { ...pool.status, utilization: { avgCpuPercent: 40, avgMemoryPercent: 12.5, sampledAt: '2026-01-01T00:09:50Z' } } };
  expect(renderStatus({ pool: plain, pods, claims: [], now })).toContain('utilization: requests not measured (no spec.metrics), cpu 40.0%, memory 12.5% (sampled 10s ago)');
  expect(renderTop({ pools: [plain], pods, usage: undefined })).toMatch(/ci\s+2\s+1\s+1\s+-\s+-\s+40\.0%\s+12\.5%/);
});

test.each<{ ms: number; want: string }>([
  { ms: 45_000, want: '45s' },
  { ms: 192_000, want: '3m12s' },
  { ms: 25 * 60_000, want: '25m' },
  { ms: 5 * 3_600_000, want: '5h' },
  { ms: 76 * 3_600_000, want: '3d4h' },
])('age $ms ms is $want', ({ ms, want }) => {
  expect(age(ms)).toBe(want);
});
