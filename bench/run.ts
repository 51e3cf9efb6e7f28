// make bench: the operator's benchmarks, each on a local cluster of its own. Figures are printed, never asserted.
import { claimBenchmarks } from './claims.js';
import { poolBenchmarks } from './pools.js';

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'claims') await claimBenchmarks();
if (which === 'all' || which === 'pools') await poolBenchmarks();
