import type { InstancePool } from '../api/types.js';
import { memberPod } from './member-pod.js';

function pool(metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }): InstancePool {
  return {
    apiVersion: 'warmpool.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'runners', namespace: 'ci', uid: 'pool-uid' },
    spec: { targetSize: 1, template: { metadata, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
  };
}

const now = new Date('2026-01-01T00:00:00Z');
/** The labels the operator puts on a new member of pool runners with template hash h1. */
const ownLabels = { 'warmpool.dev/pool': 'runners', 'warmpool.dev/state': 'warming', 'warmpool.dev/template-hash': 'h1' };

describe('memberPod', () => {
  test('copies the template keys and adds its own', () => {
    const pod = memberPod(pool({ labels: { app: 'runner' }, annotations: { 'sim.warmpool.dev/ready-after': '1s' } }), 'h1', now);
    expect(pod.metadata?.labels).toEqual({ app: 'runner', ...ownLabels });
    expect(pod.metadata?.annotations).toEqual({
      'sim.warmpool.dev/ready-after': '1s',
      'warmpool.dev/warming-started-at': now.toISOString(),
    });
    expect(pod.metadata?.ownerReferences).toEqual([
      { apiVersion: 'warmpool.dev/v1alpha1', kind: 'InstancePool', name: 'runners', uid: 'pool-uid', controller: true, blockOwnerDeletion: false },
    ]);
  });

  // A pool stored under an older CRD may carry them: the schema refuses them now, the member never gets them.
  test('never copies a reserved key from the template, whatever the operator would set itself', () => {
    const pod = memberPod(
      pool({
        labels: { app: 'runner', 'warmpool.dev/claim': 'someone', 'warmpool.dev/state': 'claimed', 'warmpool.dev/custom': 'x' },
        annotations: {
          note: 'kept',
          'team.warmpool.dev/owner': 'kept',
          'warmpool.dev/claim-uid': 'u-1',
          'warmpool.dev/acquired-by': 'mallory',
          'warmpool.dev/warming-started-at': '1999-01-01T00:00:00Z',
        },
      }),
      'h1',
      now,
    );
    expect(pod.metadata?.labels).toEqual({ app: 'runner', ...ownLabels });
    expect(pod.metadata?.annotations).toEqual({
      note: 'kept',
      'team.warmpool.dev/owner': 'kept',
      'warmpool.dev/warming-started-at': now.toISOString(),
    });
  });

  test('a template without metadata', () => {
    const pod = memberPod(pool({}), 'h1', now);
    expect(Object.keys(pod.metadata?.labels ?? {})).toEqual(Object.keys(ownLabels));
  });
});
