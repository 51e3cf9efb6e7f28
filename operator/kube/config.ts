// Where the operator's kube config comes from: an explicit file, $KUBECONFIG, ~/.kube/config, then the in-cluster
// service account. client-node's loadFromDefault() would silently fall back to http://localhost:8080 when none of
// these exists; this fails loudly instead.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'env' }
  | { kind: 'in-cluster' }
  | { kind: 'none'; reason: string };

export interface KubeConfigEnv {
  KUBECONFIG?: string;
  KUBERNETES_SERVICE_HOST?: string;
  KUBERNETES_SERVICE_PORT?: string;
}

/** Decides where to load from; pure over the environment and a file-existence check. */
export function kubeConfigSource(
  env: KubeConfigEnv,
  fileExists: (path: string) => boolean,
  home: string,
  explicitPath?: string,
): KubeConfigSource {
  if (explicitPath !== undefined && explicitPath !== '') return { kind: 'file', path: explicitPath };
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') return { kind: 'env' };
  const homeConfig = join(home, '.kube', 'config');
  if (home !== '' && fileExists(homeConfig)) return { kind: 'file', path: homeConfig };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fileExists(SERVICE_ACCOUNT_TOKEN_PATH)) {
    return { kind: 'in-cluster' };
  }
  return {
    kind: 'none',
    reason: 'no kubeconfig: set --kubeconfig or $KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
  };
}

export interface MakeKubeConfigOptions {
  /** A kubeconfig file that wins over everything else (a --kubeconfig flag). */
  path?: string;
  /** A context to switch to after loading. */
  context?: string;
}

export function makeKubeConfig(opts: MakeKubeConfigOptions = {}): KubeConfig {
  const source = kubeConfigSource(process.env, existsSync, homedir(), opts.path);
  const kc = new KubeConfig();
  switch (source.kind) {
    case 'file':
      kc.loadFromFile(source.path);
      break;
    case 'env':
      kc.loadFromDefault();
      break;
    case 'in-cluster':
      kc.loadFromCluster();
      break;
    case 'none':
      throw new Error(source.reason);
  }
  if (opts.context !== undefined && opts.context !== '') kc.setCurrentContext(opts.context);
  if (kc.getCurrentCluster() === null) throw new Error(`kubeconfig has no current cluster (context "${kc.getCurrentContext()}")`);
  return kc;
}
