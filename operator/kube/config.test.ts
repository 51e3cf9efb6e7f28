import { kubeConfigSource, SERVICE_ACCOUNT_TOKEN_PATH, type KubeConfigEnv, type KubeConfigSource } from './config.js';

const home = '/home/op';
const homeConfig = '/home/op/.kube/config';
const inCluster: KubeConfigEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('kubeConfigSource', () => {
  test.each<[string, KubeConfigEnv, string[], string | undefined, KubeConfigSource['kind']]>([
    ['an explicit path wins', { KUBECONFIG: '/x', ...inCluster }, [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH], '/flag', 'file'],
    ['$KUBECONFIG next', { KUBECONFIG: '/x', ...inCluster }, [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH], undefined, 'env'],
    ['an empty $KUBECONFIG is ignored', { KUBECONFIG: '' }, [homeConfig], undefined, 'file'],
    ['then ~/.kube/config', inCluster, [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH], undefined, 'file'],
    ['then the service account', inCluster, [SERVICE_ACCOUNT_TOKEN_PATH], undefined, 'in-cluster'],
    ['no service host, no in-cluster', {}, [SERVICE_ACCOUNT_TOKEN_PATH], undefined, 'none'],
    ['no token, no in-cluster', inCluster, [], undefined, 'none'],
  ])('%s', (_name, env, files, explicit, want) => {
    expect(kubeConfigSource(env, (p) => files.includes(p), home, explicit).kind).toBe(want);
  });

  test('names the file it picked, and says what to do when there is none', () => {
    expect(kubeConfigSource({}, () => true, home)).toEqual({ kind: 'file', path: homeConfig });
    const none = kubeConfigSource({}, () => false, home);
    expect(none.kind === 'none' && none.reason).toMatch(/KUBECONFIG/);
  });
});
