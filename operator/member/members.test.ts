import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { ANN_CLAIM_UID, ANN_READY_AT, ANN_WARMING_STARTED, LABEL_CLAIM, LABEL_STATE, LABEL_TEMPLATE_HASH } from '../api/types.js';
import type { MemberView } from './members.js';
import { classifyMember, toMillis } from './members.js';

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

const cases: [string, PodOpts, Expect][] = [
  ['a new member is warming', {}, { phase: 'warming', healthy: true, ready: false }],
  ['a Ready pod still labelled warming is ready', { ready: true }, { phase: 'ready', ready: true, stateLabel: 'warming' }],
  ['a labelled ready, Ready pod is ready', { state: 'ready', ready: true }, { phase: 'ready' }],
  ['the claimed label makes it claimed', { state: 'claimed', claim: 'c1', ready: true }, { phase: 'claimed', claimName: 'c1' }],
  ['a claim label alone makes it claimed', { claim: 'c1', ready: true }, { phase: 'claimed' }],
  [
    'a claimed member that fails stays claimed, unhealthy',
    { state: 'claimed', claim: 'c1', phase: 'Failed' },
    { phase: 'claimed', healthy: false, failure: 'PodFailed' },
  ],
  [
    'a claimed member that lost readiness is healthy but not ready',
    { state: 'claimed', claim: 'c1' },
    { phase: 'claimed', healthy: true, ready: false, failure: undefined },
  ],
  ['deletionTimestamp wins over everything', { state: 'claimed', claim: 'c1', deleting: true }, { phase: 'terminating' }],
  ['a terminating warm member is terminating', { ready: true, deleting: true }, { phase: 'terminating' }],
  ['pod phase Failed', { phase: 'Failed' }, { phase: 'failed', failure: 'PodFailed', healthy: false }],
  ['pod phase Succeeded', { phase: 'Succeeded' }, { phase: 'failed', failure: 'PodSucceeded' }],
  [
    'CrashLoopBackOff',
    { containers: [container({ restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } })] },
    { phase: 'failed', failure: 'CrashLoopBackOff' },
  ],
  ['pending with no container statuses yet', { containers: [], phase: 'Pending' }, { phase: 'warming', healthy: true }],
  ['restarted while not Ready', { containers: [container({ restartCount: 1 })] }, { phase: 'failed', failure: 'Restarted' }],
  [
    'restarted but Ready again is fine',
    { ready: true, containers: [container({ restartCount: 1, ready: true })] },
    { phase: 'ready', healthy: true },
  ],
  ['labelled ready but no longer Ready', { state: 'ready' }, { phase: 'failed', failure: 'NotReady' }],
  [
    'unschedulable',
    {
      phase: 'Pending',
      conditions: [cond('PodScheduled', 'False', { reason: 'Unschedulable', message: '0/1 nodes: Insufficient cpu' })],
    },
    { phase: 'warming', unschedulable: true, unschedulableMessage: '0/1 nodes: Insufficient cpu', scheduledAt: undefined },
  ],
  [
    'pending but not unschedulable (just not scheduled yet)',
    { phase: 'Pending', conditions: [] },
    { phase: 'warming', unschedulable: false, unschedulableMessage: undefined },
  ],
  ['evicted', { phase: 'Failed', reason: 'Evicted' }, { phase: 'failed', failure: 'Evicted', evicted: true }],
  [
    'marked for disruption (spot reclaim)',
    { ready: true, conditions: [cond('Ready', 'True'), cond('DisruptionTarget', 'True')] },
    { phase: 'failed', failure: 'Evicted', evicted: true },
  ],
];

describe('classifyMember', () => {
  test.each(cases)('%s', (_name, opts, expected) => {
    expect(classifyMember(pod(opts))).toMatchObject(expected);
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
  test.each<[unknown, number | undefined]>([
    [new Date(T0), Date.parse(T0)],
    [T0, Date.parse(T0)],
    [5, 5],
    ['not a time', undefined],
    [undefined, undefined],
    [null, undefined],
    [new Date('x'), undefined],
  ])('%p', (value, expected) => {
    expect(toMillis(value)).toBe(expected);
  });
});
