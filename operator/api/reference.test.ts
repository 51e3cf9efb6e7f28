import { readFileSync } from 'node:fs';
import { apiReference, withReference } from './reference.js';

test('the README carries the API reference rendered from the schema (make crds)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  expect(withReference(readme)).toBe(readme);
});

test('the reference names every spec field of both kinds', () => {
  const ref = apiReference();
  for (const f of ['spec.targetSize', 'spec.claimQueue.strategy', 'spec.metrics.port', 'status.readyCount', 'spec.poolName', 'spec.reclaimPolicy', 'status.member.podIP']) {
    expect(ref).toContain(`\`${f}\``);
  }
});
