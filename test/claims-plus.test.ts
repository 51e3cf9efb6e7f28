// Issue 21, claims that do more, against the real API server through kubectl as a user would, with the operator
// in-process and scoped to this file's namespace. One test per acceptance line; the write budget of memberMetadata
// (still 2 operator writes on the claim path) is asserted in write-budget.test.ts, which counts writes by user.
import { eventually, installCrds, kubectl, kubectlRaw, useNamespace } from './support/kube.js';
import { startOperatorInProcess, type RunningOperator } from './support/operator.js';
import { claimManifest, claimWhere, condition, getClaim, isReady, listClaims, members, poolManifest, poolWhere } from './support/pools.js';

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

describe('count', () => {
  test('count 3 on a pool with 2 ready and 2 warming: nothing is held until 3 are ready, then all 3 are bound in one pass', async () => {
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'trio', { targetSize: 4, annotations: { 'sim.warmpool.dev/ready-after': '3s' } }));
    const pods = await eventually('4 members', async () => {
      const list = await members(ns, 'trio');
      return list.length === 4 ? list : undefined;
    }, 15_000, 100);
    // Two of them warm up longer: kwok reads the delay from the pod and restarts it on this update.
    for (const pod of pods.slice(0, 2)) {
      await kubectl(['-n', ns, 'annotate', 'pod', pod.metadata.name, '--overwrite', 'sim.warmpool.dev/ready-after=10s']);
    }
    await poolWhere(ns, 'trio', '2 ready, 2 warming', (p) => p.status?.readyCount === 2 && p.status.warmingCount === 2, 15_000);
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'three', 'trio', { count: 3 }));
    // Until the claim is Bound, no member may be held while fewer than 3 are Ready.
    const early: string[] = [];
    const bound = await eventually('claim three Bound', async () => {
      const list = await members(ns, 'trio');
      const held = list.filter((p) => p.metadata.labels?.['warmpool.dev/claim'] === 'three');
      if (held.length > 0 && list.filter(isReady).length < 3) early.push(held.map((p) => p.metadata.name).join());
      const claim = await getClaim(ns, 'three');
      return claim.status?.phase === 'Bound' ? claim : undefined;
    }, 30_000, 200);
    expect(early).toEqual([]);
    const names = (bound.status?.members ?? []).map((m) => m.name);
    expect(new Set(names).size).toBe(3);
    expect(bound.status?.member?.name).toBe(names[0]);
    const held = (await members(ns, 'trio')).filter((p) => names.includes(p.metadata.name));
    expect(held.map((p) => p.metadata.labels?.['warmpool.dev/claim'])).toEqual(['three', 'three', 'three']);
    // One pass: the three bind patches carry the same claim time.
    expect(new Set(held.map((p) => p.metadata.annotations?.['warmpool.dev/claimed-at'])).size).toBe(1);
  }, 60_000);

  test('20 claims of 3 at once against a pool of 30: every claim gets exactly 3 distinct members, none shared', async () => {
    const CLAIMS = 20;
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'crowd', { targetSize: 30, spec: { maxSize: 90 }, annotations: { 'sim.warmpool.dev/ready-after': '300ms' } }));
    await poolWhere(ns, 'crowd', '30 ready', (p) => p.status?.readyCount === 30, 60_000);
    const items = Array.from({ length: CLAIMS }, (_, i) => JSON.parse(claimManifest(ns, `crowd-${i}`, 'crowd', { count: 3 })) as unknown);
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const claims = await eventually(`${CLAIMS} claims Bound`, async () => {
      const list = (await listClaims(ns)).filter((c) => c.spec.poolName === 'crowd');
      return list.length === CLAIMS && list.every((c) => c.status?.phase === 'Bound') ? list : undefined;
    }, 90_000, 1000);
    const owner = new Map<string, string>();
    for (const claim of claims) {
      const names = (claim.status?.members ?? []).map((m) => m.name);
      expect(new Set(names).size).toBe(3);
      for (const name of names) {
        expect(owner.get(name)).toBeUndefined();
        owner.set(name, claim.metadata.name ?? '');
      }
    }
    // What the pods record agrees: each member labelled with the one claim that lists it.
    const pods = await members(ns, 'crowd');
    for (const [name, claim] of owner) expect(pods.find((p) => p.metadata.name === name)?.metadata.labels?.['warmpool.dev/claim']).toBe(claim);
    expect(pods.filter((p) => p.metadata.labels?.['warmpool.dev/state'] === 'claimed')).toHaveLength(3 * CLAIMS);
  }, 150_000);

  test('a count beyond the pool\'s maxSize fails at once, with the reason', async () => {
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'too-many', 'trio', { count: 20 }));
    const claim = await claimWhere(ns, 'too-many', 'Failed', (c) => c.status?.phase === 'Failed', 10_000);
    expect(condition(claim, 'Bound')).toMatchObject({ reason: 'CountExceedsMaxSize', message: 'count 20 is more than the maxSize 14 of pool trio' });
  });
});

describe('fallback Cold', () => {
  test('on a pool of 0: Bound once its cold member is Ready, the pool\'s target and warm members untouched, the bind counted', async () => {
    await kubectl(['apply', '-f', '-'], poolManifest(ns, 'empty', { targetSize: 0 }));
    const before = await poolWhere(ns, 'empty', 'observed, 0 members', (p) => p.status?.observedGeneration === p.metadata.generation && (p.status?.replicas ?? 0) === 0);
    const applied = Date.now();
    await kubectl(['apply', '-f', '-'], claimManifest(ns, 'cold', 'empty', { fallback: 'Cold' }));
    const bound = await claimWhere(ns, 'cold', 'Bound', (c) => c.status?.phase === 'Bound', 15_000);
    const waited = Date.now() - applied;
    process.stdout.write(`fallback Cold: Bound ${waited} ms after the claim was applied (ready delay 1 s)\n`);
    expect(bound.status?.member?.cold).toBe(true);
    expect(condition(bound, 'Ready')?.status).toBe('True');
    // 1 s of ready delay, and little more: the create, the pod's Ready event, one status write.
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(4_000);
    const pods = await members(ns, 'empty');
    expect(pods.map((p) => p.metadata.name)).toEqual([bound.status?.member?.name]);
    const member = pods[0];
    expect(member?.metadata.labels).toMatchObject({ 'warmpool.dev/state': 'claimed', 'warmpool.dev/claim': 'cold', 'warmpool.dev/pool': 'empty', app: 'empty' });
    expect(member?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'PoolClaim', name: 'cold', uid: bound.metadata.uid, controller: true })]);
    // The pool's target is unchanged and it made no warm member: the cold one is counted as claimed.
    const after = await poolWhere(ns, 'empty', 'counts the cold member as claimed', (p) => p.status?.claimedCount === 1);
    expect(after.spec.targetSize).toBe(0);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.status?.replicas ?? 0).toBe(0);
    const metrics = await (await fetch(op?.metricsUrl ?? '')).text();
    expect(metrics).toMatch(new RegExp(`warmpool_claim_cold_members_total\\{namespace="${ns}",pool="empty"\\} 1\\b`));
    // Deleting the claim removes its cold member (Delete policy), as for any claimed member.
    await kubectl(['-n', ns, 'delete', 'pclaim', 'cold']);
    await kubectl(['-n', ns, 'wait', '--for=delete', '--timeout=30s', `pod/${member?.metadata.name ?? 'x'}`]);
  }, 60_000);
});

test('each claim option\'s example in examples/ is accepted by the API server as written', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../examples/', import.meta.url);
  const files = readdirSync(dir).filter((f) => /^claim-.+\.yaml$/.test(f));
  expect(files.sort()).toEqual(['claim-accept-warming.yaml', 'claim-cold-fallback.yaml', 'claim-count.yaml', 'claim-idle.yaml', 'claim-member-metadata.yaml']);
  for (const file of files) {
    const result = await kubectlRaw(['-n', ns, 'apply', '--dry-run=server', '-f', '-'], readFileSync(new URL(file, dir), 'utf8'));
    expect(`${file}: ${result.code === 0 ? 'accepted' : result.stderr}`).toBe(`${file}: accepted`);
  }
});
