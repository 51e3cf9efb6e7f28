import type { V1Pod } from '@kubernetes/client-node';
import { ANN_CLAIM_UID, ANN_READY_AT, LABEL_CLAIM, LABEL_POOL, LABEL_STATE, LABEL_TEMPLATE_HASH } from '../api/types.js';
import { podChangeMatters } from '../claim/controller.js';
import { claimMember, isCold, memberRef } from '../claim/model.js';
import { podCapacity } from '../utilization/utilization.js';
import { trimPod, type CachedPod } from './cached-pod.js';
import { classifyMember, memberOwner } from './members.js';

const T0 = new Date('2026-12-07T03:00:00Z');
const T1 = new Date('2026-12-07T03:00:02Z');

/** A member as kube-apiserver returns it (defaults filled in, kwok's status), less managedFields. */
function apiPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-x7k2p',
      namespace: 'team-a',
      uid: '0f9d8c7b-1111-2222-3333-444455556666',
      resourceVersion: '48213',
      creationTimestamp: T0,
      labels: { [LABEL_POOL]: 'web', [LABEL_STATE]: 'ready', [LABEL_TEMPLATE_HASH]: 'abc123' },
      annotations: { [ANN_READY_AT]: T1.toISOString() },
      ownerReferences: [{ apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'web', uid: 'pool-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      volumes: [
        {
          name: 'kube-api-access-9qz4t',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      initContainers: [
        { name: 'proxy', image: 'envoy:1', restartPolicy: 'Always', resources: { requests: { cpu: '50m', memory: '32Mi' } } },
        { name: 'setup', image: 'busybox:1', resources: {} },
      ],
      containers: [
        {
          name: 'main',
          image: 'registry.example/web:1.2.3',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [{ name: 'kube-api-access-9qz4t', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: 'kwok-node-3',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: T0 },
        { type: 'Ready', status: 'True', lastTransitionTime: T1 },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: T1 },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: T0 },
      ],
      hostIP: '10.0.0.3',
      hostIPs: [{ ip: '10.0.0.3' }],
      podIP: '10.0.3.17',
      podIPs: [{ ip: '10.0.3.17' }],
      startTime: T0,
      initContainerStatuses: [
        {
          name: 'proxy',
          image: 'envoy:1',
          imageID: 'docker-pullable://envoy@sha256:aa',
          containerID: 'containerd://0a',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: T0 } },
          lastState: {},
        },
      ],
      containerStatuses: [
        {
          name: 'main',
          image: 'registry.example/web:1.2.3',
          imageID: 'docker-pullable://registry.example/web@sha256:bb',
          containerID: 'containerd://1b',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: T1 } },
          lastState: {},
        },
      ],
      qosClass: 'Burstable',
    },
  };
}

/** The pod trimmed, built afresh (a structuredClone inside jest's sandbox would turn its Dates into another realm's). */
const trimmed = (make: () => V1Pod): CachedPod => {
  const pod: CachedPod = make();
  trimPod(pod);
  return pod;
};
const changed = (change: (p: V1Pod) => void) => (): V1Pod => {
  const pod = apiPod();
  change(pod);
  return pod;
};

describe('trimPod', () => {
  test('keeps the metadata whole and, of spec and status, only what the operator reads', () => {
    const pod = apiPod();
    expect(trimmed(apiPod)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: pod.metadata,
      spec: {
        nodeName: 'kwok-node-3',
        containers: [{ name: 'main', resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } } }],
        initContainers: [
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '50m', memory: '32Mi' } } },
          { name: 'setup', resources: {} },
        ],
      },
      status: {
        phase: 'Running',
        podIP: '10.0.3.17',
        conditions: pod.status?.conditions,
        initContainerStatuses: [{ name: 'proxy', ready: true, restartCount: 0 }],
        containerStatuses: [{ name: 'main', ready: true, restartCount: 0 }],
      },
    });
  });

  test('is idempotent and keeps a waiting state and the pod reason', () => {
    const make = changed((pod) => {
      pod.status = {
        ...pod.status,
        reason: 'Evicted',
        containerStatuses: [{ name: 'main', image: 'i', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }],
      };
    });
    const once = trimmed(make);
    const twice = trimmed(make);
    trimPod(twice);
    expect(twice).toEqual(once);
    expect(once.status?.reason).toBe('Evicted');
    expect(once.status?.containerStatuses).toEqual([{ name: 'main', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }]);
  });

  test('a pod without spec or status, or with malformed entries, is trimmed without throwing', () => {
    const bare: CachedPod = { metadata: { name: 'p' } };
    trimPod(bare);
    expect(bare).toEqual({ metadata: { name: 'p' } });
    const odd = { metadata: { name: 'p' }, spec: { containers: [null, { name: 'c' }], initContainers: 'x' }, status: null } as unknown as CachedPod;
    trimPod(odd);
    expect(odd).toEqual({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] }, status: null });
  });

  // Each reader of a cached member must answer the same from the trimmed pod as from the pod the API server sent.
  const variants: { name: string; change: (p: V1Pod) => void }[] = [
    { name: 'ready', change: () => undefined },
    {
      name: 'claimed',
      change: (p) => {
        Object.assign(p.metadata?.labels ?? {}, { [LABEL_STATE]: 'claimed', [LABEL_CLAIM]: 'c1' });
        Object.assign(p.metadata?.annotations ?? {}, { [ANN_CLAIM_UID]: 'claim-uid' });
      },
    },
    { name: 'failed', change: (p) => Object.assign(p.status ?? {}, { phase: 'Failed' }) },
    {
      name: 'crash-looping',
      change: (p) => {
        const c = p.status?.containerStatuses?.[0];
        if (c) Object.assign(c, { ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } });
      },
    },
    {
      name: 'restarted, not Ready',
      change: (p) => {
        const c = p.status?.initContainerStatuses?.[0];
        if (c) c.restartCount = 2;
        const ready = p.status?.conditions?.find((x) => x.type === 'Ready');
        if (ready) ready.status = 'False';
      },
    },
    { name: 'evicted', change: (p) => Object.assign(p.status ?? {}, { phase: 'Failed', reason: 'Evicted' }) },
    {
      name: 'unschedulable',
      change: (p) => {
        if (p.spec) delete p.spec.nodeName;
        Object.assign(p.status ?? {}, {
          phase: 'Pending',
          podIP: undefined,
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }],
          containerStatuses: undefined,
        });
      },
    },
    { name: 'terminating', change: (p) => Object.assign(p.metadata ?? {}, { deletionTimestamp: T1 }) },
  ];

  test.each(variants)('$name: the member view, the claim status, the capacities and the owner read the same', ({ change }) => {
    const full = changed(change)();
    const cached = trimmed(changed(change));
    expect(classifyMember(cached)).toEqual(classifyMember(full));
    expect(claimMember(cached)).toEqual(claimMember(full));
    expect(memberRef(cached)).toEqual(memberRef(full));
    expect(isCold(cached)).toBe(isCold(full));
    expect(podCapacity(cached)).toEqual(podCapacity(full));
    expect(memberOwner(cached, 'pool-uid')).toEqual(memberOwner(full, 'pool-uid'));
  });

  test.each(variants)('$name: whether a change from the ready member matters to claims reads the same', ({ change }) => {
    expect(podChangeMatters(trimmed(changed(change)), trimmed(apiPod))).toBe(podChangeMatters(changed(change)(), apiPod()));
  });
});
