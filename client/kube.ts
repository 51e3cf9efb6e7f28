// Kubeconfig and API clients for the client library and the plugin. One client per KubeConfig, cached, so every
// request of a program (claimMany, a loop of claims) shares one keep-alive connection per identity, as the operator
// does (operator/kube/connections.ts explains why: client-node would otherwise do a TLS handshake per request).
import {
  CoreV1Api,
  CustomObjectsApi,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
} from '@kubernetes/client-node';
import { sharedAuthentication } from '../operator/kube/connections.js';

export interface KubeOptions {
  /** A loaded KubeConfig; default: KUBECONFIG or ~/.kube/config (or the in-cluster service account). */
  kubeConfig?: KubeConfig;
  /** Path of a kubeconfig file (kubectl's --kubeconfig); ignored when kubeConfig is given. */
  kubeconfigPath?: string;
  /** Context to use instead of the current one (kubectl's --context). */
  context?: string;
}

export interface Kube {
  kc: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  /** The namespace of the kubeconfig's context, or "default". */
  namespace: string;
}

const clients = new WeakMap<KubeConfig, Kube>();
let defaultConfig: KubeConfig | undefined;

function copyOf(kc: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  return copy;
}

/** The KubeConfig these options name, with the context switched when asked (on a copy: the caller's stays as it is). */
export function loadKubeConfig(opts: KubeOptions = {}): KubeConfig {
  let kc: KubeConfig;
  if (opts.kubeConfig !== undefined) kc = opts.kubeConfig;
  else if (opts.kubeconfigPath !== undefined && opts.kubeconfigPath !== '') {
    kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfigPath);
  } else {
    if (defaultConfig === undefined) {
      defaultConfig = new KubeConfig();
      defaultConfig.loadFromDefault();
    }
    kc = defaultConfig;
  }
  if (opts.context !== undefined && opts.context !== '' && opts.context !== kc.getCurrentContext()) {
    if (kc.getContextObject(opts.context) === null) throw new Error(`context: no context "${opts.context}" in the kubeconfig`);
    kc = copyOf(kc);
    kc.setCurrentContext(opts.context);
  }
  return kc;
}

export function kubeFor(opts: KubeOptions = {}): Kube {
  const kc = loadKubeConfig(opts);
  const cached = clients.get(kc);
  if (cached !== undefined) return cached;
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig: no current cluster (set a context, or KUBECONFIG)');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: sharedAuthentication(kc) },
    httpApi: new IsomorphicFetchHttpLibrary(),
    middleware: [setHeaderMiddleware('User-Agent', 'warmpool-client')],
  });
  const context = kc.getContextObject(kc.getCurrentContext());
  const kube: Kube = {
    kc,
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    namespace: context?.namespace !== undefined && context.namespace !== '' ? context.namespace : 'default',
  };
  clients.set(kc, kube);
  return kube;
}
