// The chaos suite's short CI variant: a few hundred claims under every fault kind once, on a cluster of its own
// (faults kill its API server and etcd, so never the shared test cluster), checked by the independent invariant
// watcher. runChaos always deletes its cluster (finally, SIGINT and SIGTERM); afterAll deletes it again and
// process exit kills whatever is left, in case jest itself is torn down mid-run.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deleteCluster } from './cluster/cluster.js';
import { repoRoot } from './cluster/paths.js';
import { FAULT_KINDS, formatReport, killChaosNow, runChaos, type ChaosReport, type FaultKind } from './chaos/run.js';

// Every fault kind, the paused leader included: the request layer's write fence (operator/kube/fence.ts) keeps a
// replica that lost its Lease from writing, so a write after Lease loss is a failure.
const FAULTS: readonly FaultKind[] = FAULT_KINDS;

const name = `wp-chaos-ci-${process.pid}`;
const reportDir = join(repoRoot(), '.cache', 'chaos');
mkdirSync(reportDir, { recursive: true });
// An 'exit' handler runs no promise: it kills the cluster's processes and the replicas synchronously.
const teardown = (): void => killChaosNow(name);
process.once('exit', teardown);

afterAll(async () => {
  await deleteCluster(name).catch(() => undefined);
  process.removeListener('exit', teardown);
}, 60_000);

let report: ChaosReport;

test(
  'a few hundred claims under every fault kind once: no double bind, no leak, nothing stuck, pools converge',
  async () => {
    report = await runChaos({
      name,
      count: 300,
      ratePerSecond: 5,
      concurrency: 40,
      pools: 3,
      poolSize: 5,
      faults: FAULTS,
      mixed: false,
      mixedEveryMs: 0,
      apiserverDownMs: 12_000,
      etcdDownMs: 8_000,
      seed: 20261206,
      reportFile: join(reportDir, `ci-${process.pid}.json`),
      log: (l) => process.stderr.write(`[chaos] ${l}\n`),
    });
    process.stderr.write(formatReport(report) + '\n');
    expect(report.violations).toEqual([]);
    expect(report.leakedPods).toEqual([]);
    expect(report.claims.stuck).toEqual([]);
    expect(report.claims.total).toBe(300);
    expect(report.converged).toMatchObject({ ok: true });
    // Every fault was injected and a claim made after it was Bound again.
    expect(report.faults.map((f) => f.kind)).toEqual(FAULTS);
    expect(report.faults.filter((f) => f.error !== undefined || f.recoverySeconds === undefined)).toEqual([]);
    // Only claims whose member a fault took may end Lost, and always with the reason.
    for (const c of report.claims.lost) expect(c.reason).toBe('MemberLost');
    expect(report.claims.failed).toEqual([]);
    expect(report.writesAfterLeaseLoss).toEqual([]);
    // The throttling fault was real: the API server answered the operator 429 while it lasted.
    expect(report.faults.find((f) => f.kind === 'apf-throttle')?.rejected429).toBeGreaterThan(0);
  },
  600_000,
);
