import { KubeConfig } from '@kubernetes/client-node';
test('client-node loads under jest ESM', () => {
  expect(new KubeConfig()).toBeInstanceOf(KubeConfig);
});
