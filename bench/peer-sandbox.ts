// agent-sandbox v1.0.3, the peer `make bench-peers` runs beside warmpool: where its build is, its CRDs, how its
// controller is started on the benchmark's cluster, and the objects the scenarios make (a SandboxTemplate, a
// SandboxWarmPool of it, SandboxClaims against the pool). Its claim counts as bound when its Ready condition is
// True: the Sandbox is adopted and ready, the point a user's code can use it (our PoolClaim's Bound).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { run } from '../e2e/cluster/exec.js';
import { repoRoot } from '../e2e/cluster/paths.js';
import type { Cluster } from '../e2e/cluster/cluster.js';
import type { ClaimWatchTarget } from './claims.js';

export const PEER_VERSION = 'v1.0.3';
export const PEER_USER = 'agent-sandbox-controller';
export const EXT = { group: 'extensions.agents.x-k8s.io', version: 'v1beta1' } as const;

/** The agent-sandbox build (hack/tools/agent-sandbox): builds it when the cache is cold, progress on stderr. */
export async function peerTools(): Promise<{ bin: string; crds: string }> {
  const script = join(repoRoot(), 'hack', 'tools', 'agent-sandbox', 'build-agent-sandbox.sh');
  const dir = (await run('bash', [script, '--print-dir'])).stdout.trim();
  if (!existsSync(join(dir, '.complete'))) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
    });
  }
  return { bin: join(dir, 'bin', 'agent-sandbox-controller'), crds: join(dir, 'share', 'crds') };
}

/** Installs the CRDs from the module that was built, and waits until the API server serves them. */
export async function installPeerCrds(cluster: Cluster, crds: string): Promise<void> {
  await cluster.kubectl(['apply', '--server-side', '-f', crds]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/sandboxes.agents.x-k8s.io',
    'crd/sandboxtemplates.extensions.agents.x-k8s.io',
    'crd/sandboxwarmpools.extensions.agents.x-k8s.io',
    'crd/sandboxclaims.extensions.agents.x-k8s.io',
  ]);
}

/**
 * Starts the controller as its deployment manifest does (k8s/extensions.controller.yaml: --extensions), with its
 * other settings at their defaults, except: leader election off (one process, nothing to elect), the metrics and
 * probe servers off (their defaults listen on every interface), and logs at error level, as quiet as warmpool's
 * operator is in the benchmark (warn), so neither pays for a log line per object.
 */
export function startPeer(bin: string, kubeconfig: string, logFd: number): ChildProcess {
  const args = ['--extensions', '--leader-elect=false', '--metrics-bind-address=0', '--health-probe-bind-address=0', '--zap-log-level=error'];
  return spawn(bin, args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', logFd, logFd],
  });
}

/** The SandboxTemplate every pool uses: one container, pods Ready 1 s after creation (kwok), as warmpool's. */
export function peerTemplate(namespace: string, name: string): KubernetesObject {
  return {
    apiVersion: `${EXT.group}/${EXT.version}`,
    kind: 'SandboxTemplate',
    metadata: { name, namespace },
    spec: {
      podTemplate: {
        metadata: { annotations: { 'sim.warmpool.dev/ready-after': '1s' } },
        spec: { containers: [{ name: 'main', image: 'example.invalid/runner:1' }] },
      },
    },
  } as KubernetesObject;
}

export function peerPool(namespace: string, name: string, template: string, replicas: number): KubernetesObject {
  return {
    apiVersion: `${EXT.group}/${EXT.version}`,
    kind: 'SandboxWarmPool',
    metadata: { name, namespace },
    spec: { replicas, sandboxTemplateRef: { name: template } },
  } as KubernetesObject;
}

export function peerClaim(namespace: string, name: string, pool: string): KubernetesObject {
  return {
    apiVersion: `${EXT.group}/${EXT.version}`,
    kind: 'SandboxClaim',
    metadata: { name, namespace },
    spec: { warmPoolRef: { name: pool } },
  } as KubernetesObject;
}

interface Conditioned {
  status?: { conditions?: { type: string; status: string }[] };
}

export const peerClaimsIn = (namespace: string): ClaimWatchTarget => ({
  ...EXT,
  plural: 'sandboxclaims',
  namespace,
  isBound: (c) => ((c as Conditioned).status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
});

/** A SandboxWarmPool's ready count (status.readyReplicas). */
export function peerPoolReady(pool: unknown): number {
  return (pool as { status?: { readyReplicas?: number } }).status?.readyReplicas ?? 0;
}
