// The kubectl plugin as a user runs it: `kubectl warmpool ...` through the cluster's kubectl with the repository's
// bin/ on PATH (kubectl finds kubectl-warmpool there), against the local cluster, the operator in-process.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PoolClaim } from '../operator/api/types.js';
import { runRaw, type RunResult } from './cluster/exec.js';
import { repoRoot } from './cluster/paths.js';
import { bin, eventually, installCrds, kubeconfig, kubectl, useNamespace } from '../test/support/kube.js';
import { startOperatorInProcess, type RunningOperator } from '../test/support/operator.js';
import { listClaims, members, poolManifest, poolWhere } from '../test/support/pools.js';

let ns = '';
let cleanup: () => Promise<void> = async () => undefined;
let op: RunningOperator | undefined;

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  KUBECONFIG: kubeconfig(),
  PATH: `${join(repoRoot(), 'bin')}:${process.env.PATH ?? ''}`,
  ...extra,
});

/** `kubectl warmpool ARGS`, as typed in a shell. */
function plugin(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runRaw(bin('kubectl'), ['warmpool', ...args], { env: env(extra), timeoutMs: 60_000 });
}

async function claimsNamed(prefix: string): Promise<PoolClaim[]> {
  return (await listClaims(ns)).filter((c) => (c.metadata.name ?? '').startsWith(prefix));
}

beforeAll(async () => {
  await installCrds();
  ({ ns, cleanup } = await useNamespace('plugin'));
  op = await startOperatorInProcess(ns);
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'ci-runners', { targetSize: 2 }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'idle', { targetSize: 0 }));
  await kubectl(['apply', '-f', '-'], poolManifest(ns, 'full', { targetSize: 0, spec: { claimQueue: { maxPending: 0 } } }));
  await poolWhere(ns, 'ci-runners', 'ready', (p) => p.status?.readyCount === 2);
});

afterAll(async () => {
  await op?.stop();
  await cleanup();
});

test("kubectl warmpool claim --wait -o jsonpath='{.status.member.podIP}' prints the bound member's IP; release frees it", async () => {
  const res = await plugin(['claim', 'ci-runners', '--wait', '-n', ns, '--acquired-by', 'ci-job', '-o', 'jsonpath={.status.member.podIP}']);
  expect(res).toMatchObject({ code: 0, stderr: '' });
  expect(res.stdout).toMatch(/^127\.\d+\.\d+\.\d+$/);
  const [bound] = (await listClaims(ns)).filter((c) => c.status?.member?.podIP === res.stdout);
  expect(bound?.status?.phase).toBe('Bound');
  expect(bound?.spec.acquiredBy).toBe('ci-job');
  const name = bound?.metadata.name ?? '';

  const status = await plugin(['status', 'ci-runners', '-n', ns]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(`Pool ci-runners (namespace ${ns}): Active, target 2`);
  expect(status.stdout).toMatch(new RegExp(`${bound?.status?.member?.name ?? 'x'}\\s+claimed\\s+\\S+\\s+\\S+\\s+\\S+\\s+${res.stdout.replace(/\./g, '\\.')}\\s+${name}\\s+ci-job`));

  const release = await plugin(['release', name, '-n', ns]);
  expect(release).toMatchObject({ code: 0, stdout: `poolclaim.warmpool.dev "${name}" deleted\n` });
  expect(await claimsNamed(name)).toEqual([]);
  const again = await plugin(['release', name, '-n', ns]);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`PoolClaim ${ns}/${name} not found`);
});

test('output formats: name, json and yaml; without --wait the claim is only created', async () => {
  const byName = await plugin(['claim', 'ci-runners', '--wait', '-n', ns, '-o', 'name']);
  expect(byName.code).toBe(0);
  expect(byName.stdout).toMatch(/^poolclaim\.warmpool\.dev\/ci-runners-[a-z0-9]{5}\n$/);
  const name = byName.stdout.trim().split('/')[1] ?? '';

  const created = await plugin(['claim', 'idle', '-n', ns, '-o', 'json']);
  expect(created.code).toBe(0);
  const claim = JSON.parse(created.stdout) as PoolClaim;
  expect(claim.spec.poolName).toBe('idle');
  expect(claim.status?.phase).toBeUndefined();

  const asYaml = await plugin(['claim', 'idle', '-n', ns, '-o', 'yaml', '--priority', '5']);
  expect((parse(asYaml.stdout) as PoolClaim).spec).toMatchObject({ poolName: 'idle', priority: 5 });
  const other = (parse(asYaml.stdout) as PoolClaim).metadata.name ?? '';

  const top = await plugin(['top', '-n', ns]);
  expect(top.code).toBe(0);
  expect(top.stdout).toMatch(/POOL\s+TARGET\s+READY\s+CLAIMED\s+REQ\/S\s+IN-FLIGHT\s+CPU%\s+MEMORY%/);
  expect(top.stdout).toMatch(/ci-runners\s+2\s+\d+\s+1\s/);
  expect(top.stdout).toMatch(/POOL\s+MEMBER\s+STATE\s+CPU\(cores\)/);

  const released = await plugin(['release', name, claim.metadata.name ?? '', other, '-n', ns, '-o', 'name']);
  expect(released.code).toBe(0);
  expect(released.stdout.trim().split('\n')).toHaveLength(3);
});

test('failures exit 1 and leave no claim: timeout, QueueFull, unknown context, bad flags', async () => {
  const t0 = Date.now();
  const timedOut = await plugin(['claim', 'idle', '--wait', '--timeout', '2s', '-n', ns]);
  expect(timedOut.code).toBe(1);
  expect(timedOut.stderr).toMatch(/^error: timed out waiting for a member: .* not bound within 2000 ms.*the claim was deleted\n$/);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);

  const full = await plugin(['claim', 'full', '--wait', '-n', ns]);
  expect(full.code).toBe(1);
  expect(full.stderr).toMatch(/^error: QueueFull: the queue of pool full is full .*\(PoolClaim full-[a-z0-9]{5} deleted\)\n$/);

  expect(await claimsNamed('idle-')).toEqual([]);
  expect(await claimsNamed('full-')).toEqual([]);

  const context = await plugin(['status', '--context', 'nope', '-n', ns]);
  expect(context).toMatchObject({ code: 1, stderr: 'error: context: no context "nope" in the kubeconfig\n' });
  const flag = await plugin(['claim', 'idle', '--timeout', '5s', '-n', ns]);
  expect(flag.code).toBe(1);
  expect(flag.stderr).toContain('--timeout applies to claim --wait only');
  const jsonpath = await plugin(['claim', 'idle', '-o', 'jsonpath={..x}', '-n', ns]);
  expect(jsonpath.code).toBe(1);
  expect(await claimsNamed('idle-')).toEqual([]);
  const help = await plugin(['-h']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('kubectl warmpool claim POOL');
});

test('Ctrl-C during claim --wait deletes the claim and exits 1', async () => {
  const child = spawn(bin('kubectl'), ['warmpool', 'claim', 'idle', '--wait', '-n', ns, '--acquired-by', 'ctrl-c'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Interrupt once the claim exists: the plugin is waiting on it.
  await eventually('the claim created', async () => ((await listClaims(ns)).some((c) => c.spec.acquiredBy === 'ctrl-c') ? true : undefined));
  // kubectl runs the plugin with exec: the plugin is this very process.
  child.kill('SIGINT');
  expect(await exited).toBe(1);
  expect(stderr).toMatch(/^error: interrupted: .*the claim was deleted\n$/);
  expect((await listClaims(ns)).filter((c) => c.spec.acquiredBy === 'ctrl-c')).toEqual([]);
});

test("--kubeconfig is honoured, and the namespace defaults to the context's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wp-plugin-'));
  const file = join(dir, 'config');
  copyFileSync(kubeconfig(), file);
  await kubectl(['--kubeconfig', file, 'config', 'set-context', '--current', `--namespace=${ns}`]);
  const res = await plugin(['--kubeconfig', file, 'claim', 'ci-runners', '--wait', '-o', 'jsonpath={.metadata.namespace} {.status.member.name}'], { KUBECONFIG: '/nonexistent' });
  expect(res.code).toBe(0);
  const [namespace, member] = res.stdout.split(' ');
  expect(namespace).toBe(ns);
  expect((await members(ns, 'ci-runners')).some((p) => p.metadata.name === member)).toBe(true);
  const claimName = (await listClaims(ns)).find((c) => c.status?.member?.name === member)?.metadata.name ?? '';
  expect((await plugin(['--kubeconfig', file, 'release', claimName], { KUBECONFIG: '/nonexistent' })).code).toBe(0);
});
