// `make run` / `bin/warmpool dev`: the README's run command. With no KUBECONFIG it brings up the local cluster
// (building its tools on first use), installs the CRDs, runs the operator against it and applies a demo pool, then
// prints what to try. With KUBECONFIG set it runs the operator against that cluster and starts nothing else.
// Ctrl-C stops everything it started.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { attachCluster, clusterExists, startCluster, type Cluster } from '../e2e/cluster/cluster.js';
import { ensureTools, repoRoot } from '../e2e/cluster/paths.js';
import { startOperator } from '../operator/manager.js';

const t0 = Date.now();
const step = (line: string): void => {
  process.stderr.write(`[run +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
};

export async function devCommand(argv: string[]): Promise<number> {
  const name = argv.includes('--name') ? (argv[argv.indexOf('--name') + 1] ?? 'warmpool') : 'warmpool';
  const external = process.env.KUBECONFIG;
  let cluster: Cluster | undefined;
  let startedCluster = false;
  let kubeconfigPath: string;
  if (external) {
    step(`KUBECONFIG is set: running the operator against ${external} (install the CRDs there with: make install)`);
    kubeconfigPath = external;
  } else {
    step('checking the cluster tools (the first run builds them from Go modules: about 14 minutes)');
    await ensureTools();
    if (clusterExists(name)) {
      step(`reusing the running local cluster "${name}"`);
      cluster = await attachCluster(name);
    } else {
      step(`starting the local cluster "${name}"`);
      cluster = await startCluster({ name, nodes: 2, metrics: true, log: step });
      startedCluster = true;
    }
    kubeconfigPath = cluster.kubeconfig;
    step('installing the CRDs');
    await cluster.kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/instancepools.warmpool.dev', 'crd/poolclaims.warmpool.dev']);
  }

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  step('starting the operator (metrics on 127.0.0.1:8080/metrics, probes on 127.0.0.1:8081)');
  const op = await startOperator({ kubeConfig: kc, metricsBindAddress: '127.0.0.1:8080', healthProbeBindAddress: '127.0.0.1:8081' });

  if (cluster) {
    step('applying the demo pool (examples/ci-runners.yaml, namespace default)');
    await cluster.kubectl(['apply', '-n', 'default', '-f', '-'], readFileSync(join(repoRoot(), 'examples', 'ci-runners.yaml'), 'utf8'));
    const k = cluster.tools.bin('kubectl');
    process.stdout.write(`
warmpool is running. In another shell:

  export KUBECONFIG=${kubeconfigPath}
  alias kubectl=${k}

  kubectl get ipool -w                                   # watch the pool warm up (TARGET/WARMING/READY/CLAIMED)
  kubectl get pods -L warmpool.dev/state                 # members and their state
  kubectl apply -f ${join(repoRoot(), 'examples', 'claim.yaml')}
  kubectl wait --for=condition=Bound pclaim/build-1234   # claim a member
  kubectl get pclaim build-1234 -o jsonpath='{.status.member.podIP}{"\\n"}'
  kubectl delete pclaim build-1234                       # release it (the member is deleted and replaced)

  export PATH=${join(repoRoot(), 'bin')}:$PATH   # the kubectl plugin: kubectl warmpool ...
  kubectl warmpool claim ci-runners --wait -o jsonpath='{.status.member.podIP}{"\\n"}'
  kubectl warmpool status ci-runners                     # members by state, warm-up, pending claims
  kubectl warmpool release <claim>                       # kubectl get pclaim lists the claims

Ctrl-C stops the operator${startedCluster ? ' and the cluster' : ''}.
`);
  }

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    step('stopping the operator');
    await op.stop();
    if (cluster && startedCluster) {
      step(`stopping the local cluster "${name}"`);
      await cluster.stop();
    }
    step('stopped');
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await op.done;
  await stop();
  return 0;
}
