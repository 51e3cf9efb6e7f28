// make bench: the operator's benchmarks, each on a local cluster of its own. Figures are printed, never asserted.
// node dist/bench/run.js [all|claims|pools|autosize] [claim scenarios...]: e.g. `claims serial burst`.
import { autosizeBenchmark } from './autosize.js';
import { claimBenchmarks } from './claims.js';
import { poolBenchmarks } from './pools.js';

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'claims') await claimBenchmarks(process.argv.slice(3));
if (which === 'all' || which === 'pools') await poolBenchmarks();
if (which === 'all' || which === 'autosize') await autosizeBenchmark();
