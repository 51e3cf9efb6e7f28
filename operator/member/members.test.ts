import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { ANN_CLAIM_UID, ANN_READY_AT, ANN_WARMING_STARTED, LABEL_CLAIM, LABEL_STATE, LABEL_TEMPLATE_HASH } from '../api/types.js';
import type { MemberView } from './members.js';
import { classifyMember, poolCreated, toMillis } from './members.js';

const T0 = '2026-11-24T12:00:00Z';
const T1 = '2026-11-24T12:00:05Z';
const T2 = '2026-11-24T12:00:09Z';

function cond(type: string, status: string, extra: Partial<V1PodCondition> = {}): V1PodCondition {
  return { type, status, lastTransitionTime: new Date(T1), ...extra };
}

function container(extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus {
  return { name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, ...extra };
}

interface PodOpts {
  state?: string;
  claim?: string;
  ready?: boolean;
  deleting?: boolean;
  phase?: string;
  reason?: string;
  conditions?: V1PodCondition[];
  containers?: V1ContainerStatus[];
  annotations?: Record<string, string>;
}

function pod(o: PodOpts = {}): V1Pod {
  const labels: Record<string, string> = { [LABEL_STATE]: o.state ?? 'warming', [LABEL_TEMPLATE_HASH]: 'h1' };
  if (o.claim !== undefined) labels[LABEL_CLAIM] = o.claim;
  const conditions = o.conditions ?? [cond('PodScheduled', 'True'), ...(o.ready ? [cond('Ready', 'True')] : [])];
  const pod: V1Pod = {
    metadata: {
      name: 'p1',
      uid: 'u1',
      resourceVersion: '42',
      creationTimestamp: new Date(T0),
      labels,
      annotations: o.annotations ?? {},
    },
    spec: { containers: [{ name: 'main' }], nodeName: 'node-a' },
    status: { phase: o.phase ?? 'Running', conditions, containerStatuses: o.containers ?? [] },
  };
  if (o.reason !== undefined && pod.status) pod.status.reason = o.reason;
  if (o.deleting && pod.metadata) pod.metadata.deletionTimestamp = new Date(T2);
  return pod;
}

type Expect = Partial<MemberView>;

const cases: { name: string; opts: PodOpts; want: Expect }[] = [
  { name: 'a new member is warming', opts: {}, want: { phase: 'warming', healthy: true, ready: false } },
  { name: 'a Ready pod still labelled warming is ready', opts: { ready: true }, want: { phase: 'ready', ready: true, stateLabel: 'warming' } },
  { name: 'a labelled ready, Ready pod is ready', opts: { state: 'ready', ready: true }, want: { phase: 'ready' } },
  { name: 'the claimed label makes it claimed', opts: { state: 'claimed', claim: 'c1', ready: true }, want: { phase: 'claimed', claimName: 'c1' } },
  { name: 'a claim label alone makes it claimed', opts: { claim: 'c1', ready: true }, want: { phase: 'claimed' } },
  {
    name: 'a claimed member that fails stays claimed, unhealthy',
    opts: { state: 'claimed', claim: 'c1', phase: 'Failed' },
    want: { phase: 'claimed', healthy: false, failure: 'PodFailed' },
  },
  {
    name: 'a claimed member that lost readiness is healthy but not ready',
    opts: { state: 'claimed', claim: 'c1' },
    want: { phase: 'claimed', healthy: true, ready: false, failure: undefined },
  },
  { name: 'deletionTimestamp wins over everything', opts: { state: 'claimed', claim: 'c1', deleting: true }, want: { phase: 'terminating' } },
  { name: 'a terminating warm member is terminating', opts: { ready: true, deleting: true }, want: { phase: 'terminating' } },
  { name: 'pod phase Failed', opts: { phase: 'Failed' }, want: { phase: 'failed', failure: 'PodFailed', healthy: false } },
  { name: 'pod phase Succeeded', opts: { phase: 'Succeeded' }, want: { phase: 'failed', failure: 'PodSucceeded' } },
  {
    name: 'CrashLoopBackOff',
    opts: { containers: [container({ restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } })] },
    want: { phase: 'failed', failure: 'CrashLoopBackOff' },
  },
  { name: 'pending with no container statuses yet', opts: { containers: [], phase: 'Pending' }, want: { phase: 'warming', healthy: true } },
  { name: 'restarted while not Ready', opts: { containers: [container({ restartCount: 1 })] }, want: { phase: 'failed', failure: 'Restarted' } },
  {
    name: 'restarted but Ready again is fine',
    opts: { ready: true, containers: [container({ restartCount: 1, ready: true })] },
    want: { phase: 'ready', healthy: true },
  },
  { name: 'labelled ready but no longer Ready', opts: { state: 'ready' }, want: { phase: 'failed', failure: 'NotReady' } },
  {
    name: 'unschedulable',
    opts: {
      phase: 'Pending',
      conditions: [cond('PodScheduled', 'False', { reason: 'Unschedulable', message: '0/1 nodes: Insufficient cpu' })],
    },
    want: { phase: 'warming', unschedulable: true, unschedulableMessage: '0/1 nodes: Insufficient cpu', scheduledAt: undefined },
  },
  {
    name: 'pending but not unschedulable (just not scheduled yet)',
    opts: { phase: 'Pending', conditions: [] },
    want: { phase: 'warming', unschedulable: false, unschedulableMessage: undefined },
  },
  { name: 'evicted', opts: { phase: 'Failed', reason: 'Evicted' }, want: { phase: 'failed', failure: 'Evicted', evicted: true } },
  {
    name: 'marked for disruption (spot reclaim)',
    opts: { ready: true, conditions: [cond('Ready', 'True'), cond('DisruptionTarget', 'True')] },
    want: { phase: 'failed', failure: 'Evicted', evicted: true },
  },
];

describe('classifyMember', () => {
  test.each(cases)('$name', ({ opts, want }) => {
    expect(classifyMember(pod(opts))).toMatchObject(want);
  });

  test('an init container in CrashLoopBackOff fails the member', () => {
    const p = pod({ phase: 'Pending' });
    if (p.status) p.status.initContainerStatuses = [container({ restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } })];
    expect(classifyMember(p)).toMatchObject({ phase: 'failed', failure: 'CrashLoopBackOff' });
  });

  test('identity, template hash, node and claim', () => {
    const v = classifyMember(pod({ state: 'claimed', claim: 'c1', annotations: { [ANN_CLAIM_UID]: 'cu1' } }));
    expect(v).toMatchObject({ name: 'p1', uid: 'u1', resourceVersion: '42', templateHash: 'h1', nodeName: 'node-a', claimUid: 'cu1' });
  });

  test('times: annotations first, else the pod', () => {
    const plain = classifyMember(pod({ ready: true }));
    expect(plain.createdAt).toBe(Date.parse(T0));
    expect(plain.warmingStartedAt).toBe(Date.parse(T0));
    expect(plain.readyAt).toBe(Date.parse(T1));
    expect(plain.scheduledAt).toBe(Date.parse(T1));

    const stamped = classifyMember(
      pod({ ready: true, annotations: { [ANN_WARMING_STARTED]: '2026-11-24T11:59:59.250Z', [ANN_READY_AT]: '2026-11-24T12:00:01.500Z' } }),
    );
    expect(stamped.warmingStartedAt).toBe(Date.parse('2026-11-24T11:59:59.250Z'));
    expect(stamped.readyAt).toBe(Date.parse('2026-11-24T12:00:01.500Z'));
  });

  test('no readyAt while not Ready and not stamped', () => {
    expect(classifyMember(pod()).readyAt).toBeUndefined();
  });

  test('watch events carry times as strings, lists as Dates: both read the same', () => {
    const asJson = JSON.parse(JSON.stringify(pod({ ready: true, deleting: true }))) as V1Pod;
    const fromWatch = classifyMember(asJson);
    const fromList = classifyMember(pod({ ready: true, deleting: true }));
    expect(fromWatch).toEqual(fromList);
  });

  test('an empty pod does not throw', () => {
    expect(classifyMember({})).toMatchObject({ name: '', uid: '', phase: 'warming', stateLabel: undefined });
  });
});

describe('toMillis', () => {
  test.each<{ name: string; value: unknown; want: number | undefined }>([
    { name: 'a Date', value: new Date(T0), want: Date.parse(T0) },
    { name: 'an RFC 3339 string', value: T0, want: Date.parse(T0) },
    { name: 'a number is already milliseconds', value: 5, want: 5 },
    { name: 'a string that is not a time', value: 'not a time', want: undefined },
    { name: 'undefined', value: undefined, want: undefined },
    { name: 'null', value: null, want: undefined },
    { name: 'an invalid Date', value: new Date('x'), want: undefined },
  ])('$name', ({ value, want }) => {
    expect(toMillis(value)).toBe(want);
  });
});

describe('poolCreated (issue 21): which pods answer the pool\'s own creates', () => {
  const owned = (controller: { kind: string; uid: string }, annotations: Record<string, string> = {}): V1Pod => ({
    metadata: {
      name: 'p',
      uid: 'pod-uid',
      annotations,
      ownerReferences: [{ apiVersion: 'warmpool.dev/v1alpha1', kind: controller.kind, name: 'x', uid: controller.uid, controller: true }],
    },
  });
  test.each<{ name: string; pod: V1Pod; want: boolean }>([
    { name: 'a member the pool created', pod: owned({ kind: 'InstancePool', uid: 'pool-uid' }), want: true },
    { name: 'a member bound since (its claim is its controller)', pod: owned({ kind: 'PoolClaim', uid: 'c' }, { [ANN_CLAIM_UID]: 'c' }), want: true },
    { name: 'a member created cold for a claim', pod: owned({ kind: 'PoolClaim', uid: 'c' }, { [ANN_CLAIM_UID]: 'c', 'warmpool.dev/cold': 'true' }), want: false },
    { name: 'an impostor', pod: owned({ kind: 'InstancePool', uid: 'other' }), want: false },
  ])('$name', ({ pod, want }) => {
    expect(poolCreated(pod, 'pool-uid')).toBe(want);
  });
});
