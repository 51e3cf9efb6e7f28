import { kubeConfigSource, SERVICE_ACCOUNT_TOKEN_PATH, type KubeConfigEnv, type KubeConfigSource } from './config.js';

const home = '/home/op';
const homeConfig = '/home/op/.kube/config';
const inCluster: KubeConfigEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('kubeConfigSource', () => {
  test.each<{ name: string; env: KubeConfigEnv; files: string[]; explicit: string | undefined; want: KubeConfigSource['kind'] }>([
    {
      name: 'an explicit path wins',
      env: { KUBECONFIG: '/x', ...inCluster },
      files: [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH],
      explicit: '/flag',
      want: 'file',
    },
    {
      name: '$KUBECONFIG next',
      env: { KUBECONFIG: '/x', ...inCluster },
      files: [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH],
      explicit: undefined,
      want: 'env',
    },
    { name: 'an empty $KUBECONFIG is ignored', env: { KUBECONFIG: '' }, files: [homeConfig], explicit: undefined, want: 'file' },
    { name: 'then ~/.kube/config', env: inCluster, files: [homeConfig, SERVICE_ACCOUNT_TOKEN_PATH], explicit: undefined, want: 'file' },
    { name: 'then the service account', env: inCluster, files: [SERVICE_ACCOUNT_TOKEN_PATH], explicit: undefined, want: 'in-cluster' },
    { name: 'no service host, no in-cluster', env: {}, files: [SERVICE_ACCOUNT_TOKEN_PATH], explicit: undefined, want: 'none' },
    { name: 'no token, no in-cluster', env: inCluster, files: [], explicit: undefined, want: 'none' },
  ])('$name', ({ env, files, explicit, want }) => {
    expect(kubeConfigSource(env, (p) => files.includes(p), home, explicit).kind).toBe(want);
  });

  test('names the file it picked, and says what to do when there is none', () => {
    expect(kubeConfigSource({}, () => true, home)).toEqual({ kind: 'file', path: homeConfig });
    const none = kubeConfigSource({}, () => false, home);
    expect(none.kind === 'none' && none.reason).toMatch(/KUBECONFIG/);
  });
});
