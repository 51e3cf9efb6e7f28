// Issue 21, claims that do more, against the real API server through kubectl as a user would, with the operator
// in-process and scoped to this file's namespace. One test per acceptance line; the write budget of memberMetadata
// (still 2 operator writes on the claim path) is asserted in write-budget.test.ts, which counts writes by user.
import { installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, condition, isReady, members, poolManifest, poolWhere } from './support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('claimsplus'));
  op = await startOperatorInProcess(ns);
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

describe('memberMetadata', () => {
  beforeAll(async () => {
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'meta', { targetSize: 2 }));
    await poolWhere(ns, 'meta', '2 ready', (p) => p.status?.readyCount === 2);
  });

  test('lands on the member with the bind', async () => {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'stamped', 'meta', {
      memberMetadata: { labels: { team: 'search' }, annotations: { 'example.com/job': 'build 7' } },
    }));
    const claim = await claimWhere(ns, 'stamped', 'Bound', (c) => c.status?.phase === 'Bound');
    const pod = (await members(ns, 'meta')).find((p) => p.metadata.name === claim.status?.member?.name);
    expect(pod?.metadata.labels).toMatchObject({ team: 'search', app: 'meta', 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'stamped' });
    expect(pod?.metadata.annotations?.['example.com/job']).toBe('build 7');
  });

  test('a warmpool.dev/ key is refused at apply, naming the field and the key', async () => {
    const result = await kubectlRaw(['apply', '-f', '-'], claimManifest(ns, 'reserved', 'meta', { memberMetadata: { labels: { 'warmpool.dev/state': 'ready' } } }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.memberMetadata.labels');
    expect(result.stderr).toContain('warmpool.dev/state');
  });

  test('changing it after creation is refused', async () => {
    const result = await kubectlRaw(['apply', '-f', '-'], claimManifest(ns, 'stamped', 'meta', { memberMetadata: { labels: { team: 'other' } } }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('memberMetadata is immutable');
  });

  test('a key the template sets fails the claim (InvalidSpec) with the field and key in the message', async () => {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'clash', 'meta', { memberMetadata: { labels: { app: 'mine' } } }));
    const claim = await claimWhere(ns, 'clash', 'Failed', (c) => c.status?.phase === 'Failed');
    expect(condition(claim, 'Bound')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'spec.memberMetadata.labels: app: set by the template of pool meta' });
    expect((await members(ns, 'meta')).filter((p) => p.metadata.labels?.['warmpool.dev/claim'] === 'clash')).toEqual([]);
  });
});

describe('idleTimeoutSeconds', () => {
  beforeAll(async () => {
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'idle', { targetSize: 2 }));
    await poolWhere(ns, 'idle', '2 ready', (p) => p.status?.readyCount === 2);
  });

  test('an idle claim is Released after its timeout; one whose holder beats every second is not', async () => {
    const TIMEOUT = 3;
    for (const name of ['quiet', 'beating']) {
      await kubectl(['apply', '-f', '-'], claimManifest(ns, name, 'idle', { idleTimeoutSeconds: TIMEOUT }));
    }
    const quiet = await claimWhere(ns, 'quiet', 'Bound', (c) => c.status?.phase === 'Bound');
    await claimWhere(ns, 'beating', 'Bound', (c) => c.status?.phase === 'Bound');
    // The holder's one command, every second, for more than twice the timeout.
    const until = Date.now() + 3 * TIMEOUT * 1000;
    while (Date.now() < until) {
      await kubectl(['-n', ns, 'annotate', 'pclaim', 'beating', '--overwrite', `warmpool.dev/heartbeat=${new Date().toISOString()}`]);
      await new Promise((r) => setTimeout(r, 1000)); // the heartbeat's own period, not a wait for the operator
    }
    const released = await claimWhere(ns, 'quiet', 'Released', (c) => c.status?.phase === 'Released', 5_000);
    expect(condition(released, 'Bound')).toMatchObject({ status: 'False', reason: 'Idle' });
    // Released within a second or two of its deadline (the bind plus the timeout), not at some later pass.
    const late = Date.parse(released.status?.releasedAt ?? '') - Date.parse(quiet.status?.boundAt ?? '') - TIMEOUT * 1000;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_000);
    const beating = await claimWhere(ns, 'beating', 'still Bound', () => true);
    expect(beating.status?.phase).toBe('Bound');
    await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', `pod/${quiet.status?.member?.name ?? 'x'}`]);
  }, 60_000);
});

describe('acceptWarming', () => {
  test('on a pool whose members are all warming: Bound at once with Ready False, Ready True when the member is', async () => {
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'warm', { targetSize: 2, annotations: { 'sim.warmpool.dev/ready-after': '4s' } }));
    await poolWhere(ns, 'warm', '2 warming, none ready', (p) => p.status?.warmingCount === 2 && (p.status.readyCount ?? 0) === 0);
    const applied = Date.now();
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'eager', 'warm', { acceptWarming: true }));
    const bound = await claimWhere(ns, 'eager', 'Bound', (c) => c.status?.phase === 'Bound', 10_000);
    // At once: well before any member could be Ready (4 s; kwok restarts the delay when the bind patches the pod).
    expect(Date.now() - applied).toBeLessThan(3_000);
    expect(condition(bound, 'Ready')).toMatchObject({ status: 'False', reason: 'MemberNotReady' });
    const name = bound.status?.member?.name ?? '';
    const pod = (await members(ns, 'warm')).find((p) => p.metadata.name === name);
    expect(isReady(pod ?? { metadata: { name: '', uid: '' }, spec: {} })).toBe(false);
    const ready = await claimWhere(ns, 'eager', 'Ready True', (c) => condition(c, 'Ready')?.status === 'True', 20_000);
    expect(ready.status?.member?.name).toBe(name);
    // Ready follows the member's own transition, not some later pass.
    const member = (await members(ns, 'warm')).find((p) => p.metadata.name === name);
    const podReadyAt = Date.parse((member?.status?.conditions?.find((c) => c.type === 'Ready') as { lastTransitionTime?: string } | undefined)?.lastTransitionTime ?? '');
    const claimReadyAt = Date.parse(ready.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
    expect(claimReadyAt - podReadyAt).toBeLessThan(2_000);
  }, 60_000);
});
