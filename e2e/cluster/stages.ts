// kwok Stages that give pods the lifecycle the tests ask for through annotations (the contract is in the README):
//   sim.warmpool.dev/ready-after: <duration>       Pending -> Running and Ready after that delay (default at once)
//   sim.warmpool.dev/fail: crash|never-ready|crashloop, with sim.warmpool.dev/fail-after (default 1s)
//   sim.warmpool.dev/terminate-after: <duration>|grace   how long a deleted pod lingers (default at once)
//   sim.warmpool.dev/cpu, sim.warmpool.dev/memory  usage reported through metrics-server
// Selectors are mutually exclusive: when several stages match a pod kwok picks one at random.
// A stage's delay restarts whenever the pod is updated (kwok re-evaluates it), unlike a real kubelet.

export const SIM = {
  readyAfter: 'sim.warmpool.dev/ready-after',
  fail: 'sim.warmpool.dev/fail',
  failAfter: 'sim.warmpool.dev/fail-after',
  terminateAfter: 'sim.warmpool.dev/terminate-after',
  cpu: 'sim.warmpool.dev/cpu',
  memory: 'sim.warmpool.dev/memory',
} as const;

const ann = (key: string): string => `.metadata.annotations["${key}"]`;

const notDeleting = `    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'`;

const podIPs = `      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}`;

function stage(name: string, selector: string, delay: string, next: string): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
${selector}
  delay:
${delay}
  next:
${next}
`;
}

function conditions(ready: boolean): string {
  const s = ready ? '"True"' : '"False"';
  return `      conditions:
      - type: Initialized
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: ${s}
        lastTransitionTime: {{ $now | Quote }}${ready ? '' : `\n        reason: ContainersNotReady`}
      - type: ContainersReady
        status: ${s}
        lastTransitionTime: {{ $now | Quote }}${ready ? '' : `\n        reason: ContainersNotReady`}`;
}

const created = stage(
  'warmpool-pod-create',
  `${notDeleting}
    - key: '.status.podIP'
      operator: 'DoesNotExist'`,
  `    durationMilliseconds: 0`,
  `    statusTemplate: |
      {{ $now := Now }}
${conditions(false)}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting:
            reason: ContainerCreating
      {{ end }}
${podIPs}
      phase: Pending`,
);

function running(name: string, failSelector: string, ready: boolean): string {
  return stage(
    name,
    `${notDeleting}
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.status.podIP'
      operator: 'Exists'
    - key: '${ann(SIM.fail)}'
${failSelector}`,
    `    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '${ann(SIM.readyAfter)}'`,
    `    statusTemplate: |
      {{ $now := Now }}
${conditions(ready)}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: ${ready}
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}`,
  );
}

const ready = running('warmpool-pod-ready', `      operator: 'NotIn'\n      values: ['never-ready']`, true);
const neverReady = running('warmpool-pod-never-ready', `      operator: 'In'\n      values: ['never-ready']`, false);

function failing(name: string, mode: string, next: string): string {
  return stage(
    name,
    `${notDeleting}
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
    - key: '${ann(SIM.fail)}'
      operator: 'In'
      values: ['${mode}']`,
    `    durationMilliseconds: 1000
    durationFrom:
      expressionFrom: '${ann(SIM.failAfter)}'`,
    next,
  );
}

const crash = failing(
  'warmpool-pod-crash',
  'crash',
  `    event:
      type: Warning
      reason: Failed
      message: 'simulated crash (sim.warmpool.dev/fail: crash)'
    statusTemplate: |
      {{ $now := Now }}
${conditions(false)}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            reason: Error
            message: simulated crash
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed`,
);

const crashloop = failing(
  'warmpool-pod-crashloop',
  'crashloop',
  `    event:
      type: Warning
      reason: BackOff
      message: 'Back-off restarting failed container (sim.warmpool.dev/fail: crashloop)'
    statusTemplate: |
      {{ $now := Now }}
${conditions(false)}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 1
        started: false
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: CrashLoopBackOff
            message: 'back-off 10s restarting failed container'
      {{ end }}
      phase: Running`,
);

// A deleted pod goes once its finalizers are gone, after terminate-after (a duration, or `grace`: the
// deletionTimestamp the apiserver set from terminationGracePeriodSeconds). kwok deletes with grace period 0.
const terminate = stage(
  'warmpool-pod-delete',
  `    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.metadata.finalizers'
      operator: 'DoesNotExist'`,
  `    durationMilliseconds: 0
    durationFrom:
      expressionFrom: 'if ${ann(SIM.terminateAfter)} == "grace" then .metadata.deletionTimestamp else ${ann(SIM.terminateAfter)} end'`,
  `    delete: true`,
);

const usage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: warmpool-usage-from-annotations
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "${SIM.cpu}" in pod.metadata.annotations ? Quantity(pod.metadata.annotations["${SIM.cpu}"]) : Quantity("1m")
      memory:
        expression: |
          "${SIM.memory}" in pod.metadata.annotations ? Quantity(pod.metadata.annotations["${SIM.memory}"]) : Quantity("1Mi")
`;

/** Our pod stages and the resource usage rule, as YAML documents for kwokctl's --config. */
export function podStageDocuments(): string[] {
  return [created, ready, neverReady, crash, crashloop, terminate, usage];
}

/**
 * Audit policy: writes only, at Metadata level, so tests and benchmarks can count API writes per user (the
 * apiserver's own metrics have no user label). Reads are not logged: they would dwarf the file. Two exceptions: a GET
 * through the pod proxy, so a test can check which pods the operator's scraper reached; and every request of users
 * in the group AUDIT_ALL_VERBS_GROUP (a test counting a client's watches and gets).
 */
export const AUDIT_ALL_VERBS_GROUP = 'warmpool.dev:audit-all-verbs';
/**
 * Users in this group also have their pod creates logged with the request body: a member is created with
 * generateName, so the Metadata level names no pod, and a test that attributes each create to a pool (shards) reads
 * the pool from the body.
 */
export const AUDIT_POD_CREATE_BODY_GROUP = 'warmpool.dev:audit-pod-create-body';

export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ['RequestReceived']
rules:
- level: None
  users: ['system:kube-scheduler', 'system:kube-controller-manager', 'system:apiserver']
  verbs: ['update', 'patch']
  resources:
  - group: 'coordination.k8s.io'
    resources: ['leases']
- level: Request
  userGroups: ['${AUDIT_POD_CREATE_BODY_GROUP}']
  verbs: ['create']
  resources:
  - group: ''
    resources: ['pods']
- level: Metadata
  userGroups: ['${AUDIT_ALL_VERBS_GROUP}']
- level: Metadata
  verbs: ['create', 'update', 'patch', 'delete', 'deletecollection']
- level: Metadata
  verbs: ['get']
  resources:
  - group: ''
    resources: ['pods/proxy']
- level: None
`;
