// `make chaos`: the long chaos run, with its parameters from the environment (CHAOS_COUNT and friends), the report
// printed and written as JSON. Exits 1 when an acceptance line fails (a double bind, a leak, a stuck claim, no
// convergence), so CI or a person sees it without reading the report.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';
import { FAULT_KINDS, formatReport, runChaos, type FaultKind } from './run.js';

const num = (name: string, dflt: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: want a positive number, got ${JSON.stringify(raw)}`);
  return v;
};

function faultList(): FaultKind[] {
  const raw = process.env.CHAOS_FAULTS;
  if (raw === undefined || raw === '' || raw === 'all') return [...FAULT_KINDS];
  return raw.split(',').map((k) => {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`CHAOS_FAULTS: unknown fault ${JSON.stringify(k)} (one of ${FAULT_KINDS.join(', ')})`);
    return k as FaultKind;
  });
}

const out = join(repoRoot(), '.cache', 'chaos');
mkdirSync(out, { recursive: true });
const reportFile = process.env.CHAOS_REPORT ?? join(out, `report-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const report = await runChaos({
  name: `wp-chaos-${process.pid}`,
  count: num('CHAOS_COUNT', 10_000),
  ratePerSecond: num('CHAOS_RATE', 20),
  concurrency: num('CHAOS_CONCURRENCY', 100),
  pools: num('CHAOS_POOLS', 3),
  poolSize: num('CHAOS_POOL_SIZE', 20),
  faults: faultList(),
  mixed: process.env.CHAOS_MIXED !== '0',
  mixedEveryMs: num('CHAOS_MIXED_EVERY_S', 20) * 1000,
  apiserverDownMs: num('CHAOS_APISERVER_DOWN_S', 15) * 1000,
  etcdDownMs: num('CHAOS_ETCD_DOWN_S', 10) * 1000,
  throttleMs: num('CHAOS_THROTTLE_S', 20) * 1000,
  seed: num('CHAOS_SEED', 20261206),
  reportFile,
  log: (l) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}\n`),
});
process.stdout.write(formatReport(report) + `\nreport: ${reportFile}\n`);
const bad =
  report.violations.length > 0 || report.leakedPods.length > 0 || report.claims.stuck.length > 0 || !report.converged.ok || report.writesAfterLeaseLoss.length > 0;
process.exit(bad ? 1 : 0);
