// GitOps tools read pools and claims as the operator reports them: Argo CD through the Lua health checks in
// hack/argocd (run here in the sandbox Argo CD gives such scripts, against table-driven cases and against live
// objects), kubectl wait through the Ready condition, and helm 4 --wait through kstatus (Ready, Reconciling, Stalled
// and observedGeneration).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Condition } from '../operator/api/types.js';
import { CommandError, run } from './cluster/exec.js';
import { repoRoot } from './cluster/paths.js';
import { helm, installCrds, kubectl, kubectlRaw, useNamespace } from '../test/support/kube.js';
import { startOperatorInProcess, type RunningOperator } from '../test/support/operator.js';
import { claimManifest, claimWhere, condition, getClaim, getPool, poolManifest, poolWhere } from '../test/support/pools.js';

const argocd = join(repoRoot(), 'hack', 'argocd');
const chart = join(repoRoot(), 'e2e', 'fixtures', 'gitops', 'chart');
const scratch = mkdtempSync(join(tmpdir(), 'warmpool-gitops-'));
/** A container whose cpu request no node can meet: a schema-valid spec whose members are all unschedulable. */
const unschedulable = { name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1000' } } };

let ns = '';
let idle = '';
let lua = '';
let op: RunningOperator | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  lua = (await run('bash', [join(repoRoot(), 'hack', 'lua.sh')], { timeoutMs: 300_000 })).stdout.trim();
  await installCrds();
  // `ns` has the operator; `idle` never does, so what lands there stays as the API server created it.
  const withOperator = await useNamespace('gitops');
  const withoutOperator = await useNamespace('gitops-idle');
  ns = withOperator.ns;
  idle = withoutOperator.ns;
  cleanups.push(withOperator.cleanup, withoutOperator.cleanup);
  op = await startOperatorInProcess(ns);
}, 300_000);

afterAll(async () => {
  await op?.stop();
  for (const cleanup of cleanups) await cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** A Lua string literal. Lua 5.1 has no \u escape, so every byte outside printable ASCII goes as a \ddd escape. */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * A JSON value as a Lua table constructor, as Argo CD hands a live object to a script: objects become tables keyed by
 * string, arrays sequences, numbers Lua numbers, and null leaves the key out.
 */
function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`no Lua literal for ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{ ${value.map(luaLiteral).join(', ')} }`;
  if (typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${luaLiteral(v)}`);
    return `{ ${fields.join(', ')} }`;
  }
  throw new Error(`no Lua literal for a ${typeof value}`);
}

interface HealthCase {
  kind: 'InstancePool' | 'PoolClaim';
  name: string;
  obj: unknown;
  want: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
}

/** Runs lua5.1 with no stdin (it reads none, and may exit before a write to it would land). */
function runLua(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(lua, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, output }));
  });
}

/** Runs the harness on these cases (or on its own cases.lua when none are given); resolves with its lines. */
async function healthChecks(cases?: HealthCase[]): Promise<{ code: number; lines: string[] }> {
  const args = [join(argocd, 'test.lua')];
  if (cases) {
    const file = join(scratch, `cases-${Date.now()}.lua`);
    const entries = cases.map(
      (c) => `  { kind = ${luaString(c.kind)}, name = ${luaString(c.name)}, want = ${luaString(c.want)}, obj = ${luaLiteral(c.obj)} },`,
    );
    writeFileSync(file, `return {\n${entries.join('\n')}\n}\n`);
    args.push(file);
  }
  const { code, output } = await runLua(args);
  return { code, lines: output.split('\n').filter((l) => l !== '') };
}

const failed = (lines: string[]): string[] => lines.filter((l) => !l.startsWith('ok '));

type KStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating';

interface Reported {
  metadata: { generation?: number; deletionTimestamp?: unknown };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/**
 * kstatus's verdict on a custom resource (status.Compute in fluxcd/cli-utils, which helm 4 --wait runs): deleting is
 * Terminating; an observedGeneration other than the generation is InProgress; then the first of Reconciling=True
 * (InProgress) and Stalled=True (Failed); then a Ready condition (True: Current, otherwise InProgress); and with none
 * of these the resource counts as Current.
 */
function kstatus(obj: Reported): KStatus {
  if (obj.metadata.deletionTimestamp) return 'Terminating';
  const observed = obj.status?.observedGeneration;
  if (obj.metadata.generation !== undefined && observed !== undefined && observed !== obj.metadata.generation) return 'InProgress';
  const conditions = obj.status?.conditions ?? [];
  for (const c of conditions) {
    if (c.type === 'Reconciling' && c.status === 'True') return 'InProgress';
    if (c.type === 'Stalled' && c.status === 'True') return 'Failed';
  }
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready) return ready.status === 'True' ? 'Current' : 'InProgress';
  return 'Current';
}

test("the health checks give every table-driven case its verdict inside Argo CD's sandbox", async () => {
  const { code, lines } = await healthChecks();
  expect(failed(lines)).toEqual([]);
  expect(code).toBe(0);
  expect(lines.filter((l) => l.startsWith('ok   sandbox'))).toHaveLength(10);
  // A new object with no status must never read as Healthy.
  expect(lines).toContain('ok   InstancePool new, no status: Progressing: Waiting for the operator to observe the current spec');
  expect(lines).toContain('ok   PoolClaim new, no status: Progressing: Waiting for the operator to observe the claim');
});

test('the argocd-cm snippet in the README carries the scripts exactly', () => {
  const readme = readFileSync(join(argocd, 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const cm: unknown = parse(block ?? '');
  const data = (cm as { data?: Record<string, unknown> }).data ?? {};
  for (const kind of ['InstancePool', 'PoolClaim']) {
    const script = readFileSync(join(argocd, 'warmpool.dev', kind, 'health.lua'), 'utf8');
    expect(data[`resource.customizations.health.warmpool.dev_${kind}`]).toBe(script);
  }
});

test('a new pool and claim no operator has seen: no Ready=True, Progressing to Argo CD, kubectl wait keeps waiting', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(idle, 'fresh', { targetSize: 2 }));
  await kubectl(['apply', '-f', '-'], claimManifest(idle, 'fresh', 'fresh'));
  const pool = await getPool(idle, 'fresh');
  const claim = await getClaim(idle, 'fresh');
  expect(condition(pool, 'Ready')).toBeUndefined();
  expect(condition(claim, 'Ready')).toBeUndefined();
  const { code, lines } = await healthChecks([
    { kind: 'InstancePool', name: 'fresh', obj: pool, want: 'Progressing' },
    { kind: 'PoolClaim', name: 'fresh', obj: claim, want: 'Progressing' },
  ]);
  expect(failed(lines)).toEqual([]);
  expect(code).toBe(0);
  const wait = await kubectlRaw(['-n', idle, 'wait', '--for=condition=Ready', '--timeout=2s', 'ipool/fresh']);
  expect(wait.code).not.toBe(0);
  expect(wait.stderr).toMatch(/timed out/);
});

test('kstatus reads a new pool and claim no operator has seen as InProgress, not Current', async () => {
  // kstatus takes a custom resource with no observedGeneration and no conditions for Current: only a status that
  // exists from creation on, with observedGeneration behind metadata.generation, makes it wait for the operator.
  const pool = await getPool(idle, 'fresh');
  const claim = await getClaim(idle, 'fresh');
  expect({ pool: kstatus(pool), claim: kstatus(claim) }).toEqual({ pool: 'InProgress', claim: 'InProgress' });
});

test('live pools and claims read Healthy, Progressing and Degraded to Argo CD', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'live', { targetSize: 2 }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'empty', { targetSize: 0 }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'stuck', { targetSize: 2, podSpec: { containers: [unschedulable] } }));
  await poolWhere(ns, 'live', 'Ready', (p) => condition(p, 'Ready')?.status === 'True');
  await poolWhere(ns, 'empty', 'Ready', (p) => condition(p, 'Ready')?.status === 'True');
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'held', 'live'));
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'queued', 'empty'));
  await kubectl(['apply', '-f', '-'], claimManifest(ns, 'gave-up', 'empty', { waitTimeoutSeconds: 0 }));
  const held = await claimWhere(ns, 'held', 'Bound and Ready', (c) => c.status?.phase === 'Bound' && condition(c, 'Ready')?.status === 'True');
  const queued = await claimWhere(ns, 'queued', 'Pending', (c) => c.status?.phase === 'Pending');
  const gaveUp = await claimWhere(ns, 'gave-up', 'Failed', (c) => c.status?.phase === 'Failed');
  const stuck = await poolWhere(ns, 'stuck', 'Stalled', (p) => condition(p, 'Stalled')?.status === 'True');
  // The claim took one of live's two members: its replacement must be ready before the pool reads Healthy again
  // (reading it at once raced the refill, which waits for the claims to pause and then warms up).
  const live = await poolWhere(ns, 'live', 'Ready again beside its claimed member', (p) => p.status?.claimedCount === 1 && condition(p, 'Ready')?.status === 'True');
  const { code, lines } = await healthChecks([
    { kind: 'InstancePool', name: 'live', obj: live, want: 'Healthy' },
    { kind: 'InstancePool', name: 'empty', obj: await getPool(ns, 'empty'), want: 'Healthy' },
    { kind: 'InstancePool', name: 'stuck', obj: stuck, want: 'Degraded' },
    { kind: 'PoolClaim', name: 'held', obj: held, want: 'Healthy' },
    { kind: 'PoolClaim', name: 'queued', obj: queued, want: 'Progressing' },
    { kind: 'PoolClaim', name: 'gave-up', obj: gaveUp, want: 'Degraded' },
  ]);
  expect(failed(lines)).toEqual([]);
  expect(code).toBe(0);
  expect(lines).toContain('ok   InstancePool live: Healthy: 2 of 2 members ready');
  expect(lines).toContain('ok   PoolClaim queued: Progressing: waiting for a ready member of pool empty');
});

test('kstatus reads the same live pools and claims as Current, InProgress and Failed', async () => {
  const verdicts = {
    live: kstatus(await getPool(ns, 'live')),
    stuck: kstatus(await getPool(ns, 'stuck')),
    held: kstatus(await getClaim(ns, 'held')),
    queued: kstatus(await getClaim(ns, 'queued')),
    gaveUp: kstatus(await getClaim(ns, 'gave-up')),
  };
  expect(verdicts).toEqual({ live: 'Current', stuck: 'Failed', held: 'Current', queued: 'InProgress', gaveUp: 'Failed' });
});

test('kubectl wait --for=condition=Ready returns once the pool is ready', async () => {
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'waited', { targetSize: 3 }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', '--timeout=60s', 'ipool/waited']);
  const pool = await getPool(ns, 'waited');
  expect(pool.status?.readyCount).toBe(3);
  expect(pool.status?.observedGeneration).toBe(pool.metadata.generation);
  expect(condition(pool, 'Reconciling')?.status).toBe('False');
});

test('helm 4 install --wait returns only once the pool is Ready', async () => {
  await helm('helm', ['install', 'charted', chart, '-n', ns, '--set', 'targetSize=3', '--wait', '--timeout', '90s']);
  const pool = await getPool(ns, 'charted');
  expect(pool.status?.readyCount).toBe(3);
  expect(condition(pool, 'Ready')?.status).toBe('True');
});

/** helm's outcome: 'ok', or the stderr it failed with. */
async function helmOutcome(args: readonly string[]): Promise<{ outcome: string; seconds: number }> {
  const started = Date.now();
  const outcome = await helm('helm', args).then(
    () => 'ok',
    (e: unknown) => {
      if (e instanceof CommandError) return e.result.stderr;
      throw e;
    },
  );
  return { outcome, seconds: (Date.now() - started) / 1000 };
}

test('helm 4 install --wait fails fast when the pool stalls (kstatus reads Stalled=True as Failed)', async () => {
  const { outcome, seconds } = await helmOutcome(['install', 'stalled', chart, '-n', ns, '--set', 'cpuRequest=1000', '--wait', '--timeout', '90s']);
  expect(outcome).toMatch(/InstancePool\/[^/]+\/stalled not ready\. status: Failed/);
  expect(outcome).toMatch(/unschedulable/);
  expect(seconds).toBeLessThan(30);
});

test('helm 4 install --wait fails fast when the API server refuses the members (Stalled)', async () => {
  // The pool's schema accepts the template; pod validation does not (a mount of an undeclared volume). Retrying
  // cannot help, so the pool should say Stalled rather than ScalingUp forever.
  const args = ['install', 'refused', chart, '-n', ns, '--set', 'mountUndeclaredVolume=true', '--wait', '--timeout', '20s'];
  const { outcome, seconds } = await helmOutcome(args);
  expect(outcome).toMatch(/InstancePool\/[^/]+\/refused not ready\. status: Failed/);
  expect(seconds).toBeLessThan(15);
});

test('helm 4 install --wait does not take a pool no operator has observed for ready', async () => {
  const { outcome } = await helmOutcome(['install', 'unobserved', chart, '-n', idle, '--wait', '--timeout', '5s']);
  expect(outcome).toMatch(/InstancePool\/[^/]+\/unobserved not ready\. status: InProgress/);
});
