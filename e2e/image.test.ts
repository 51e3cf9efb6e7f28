// The operator image, built and run on this machine: hack/image/build.sh builds the Dockerfile (docker, or
// buildah on a locally made Node 24 base where there is no Docker daemon), hack/image/smoke.sh runs it against the
// test cluster as the chart's Deployment would and checks it runs as non-root and brings a pool to target.
// With WARMPOOL_TEST_IMAGE set (hack/e2e-kind.sh built and loaded it already) the build is skipped.
import { join } from 'node:path';
import { run } from './cluster/exec.js';
import { repoRoot } from './cluster/paths.js';
import { bin, kubeconfig } from '../test/support/kube.js';

const root = repoRoot();
const image = process.env.WARMPOOL_TEST_IMAGE ?? 'localhost/warmpool:e2e';

// Building an image takes minutes and a container toolchain (buildah, podman, runc from Debian): opt in with
// WARMPOOL_TEST_IMAGE_BUILD=1 (make image-test), or name a built image in WARMPOOL_TEST_IMAGE.
const enabled = process.env.WARMPOOL_TEST_IMAGE_BUILD === '1' || process.env.WARMPOOL_TEST_IMAGE !== undefined;

(enabled ? test : test.skip)(
  'the image runs the operator as uid 65532 and brings a pool to target',
  async () => {
    if (!process.env.WARMPOOL_TEST_IMAGE) {
      await run('bash', [join(root, 'hack', 'image', 'build.sh'), image], { timeoutMs: 400_000 });
    }
    const smoke = await run('bash', [join(root, 'hack', 'image', 'smoke.sh'), image], {
      env: { ...process.env, KUBECONFIG: kubeconfig(), KUBECTL: bin('kubectl') },
      timeoutMs: 180_000,
    });
    expect(smoke.stdout).toMatch(/^smoke: runs as uid 65532$/m);
    expect(smoke.stdout).toMatch(/^smoke: pool smoke at target: 3 of 3 ready/m);
  },
  600_000,
);
