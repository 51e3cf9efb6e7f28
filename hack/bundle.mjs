// Bundles the compiled CLI (dist/cmd/warmpool.js and everything it imports, node_modules included) into one file,
// dist/warmpool.mjs, which bin/warmpool and the image run; and the kubectl plugin (dist/client/cli/kubectl-warmpool.js)
// into dist/kubectl-warmpool.mjs, which bin/kubectl-warmpool runs (it starts in a fraction of the time that loading
// client-node's whole index from node_modules takes). Why: V8 keeps the source text of every module it loads,
// and client-node's package index loads all of its generated APIs (7 MB in one file alone): 22 MB of the operator's
// heap was library source. Bundled, only what is reachable is kept and whitespace is gone: with 100 pools of 10
// members the operator's resident set went from about 138 MiB to about 118 MiB. Identifiers are not minified, so
// stack traces stay readable; dist/warmpool.mjs.map maps them back (NODE_OPTIONS=--enable-source-maps).
//   node hack/bundle.mjs            (make compile runs it after tsc)
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundles = [
  { entry: join(root, 'dist', 'cmd', 'warmpool.js'), out: 'warmpool.mjs' },
  { entry: join(root, 'dist', 'client', 'cli', 'kubectl-warmpool.js'), out: 'kubectl-warmpool.mjs' },
];
for (const { entry, out } of bundles) {
  const started = Date.now();
  const result = await build({
    entryPoints: [entry],
    outfile: join(root, 'dist', out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'external',
    // Some dependencies are CommonJS and call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __warmpoolCreateRequire } from 'node:module'; const require = __warmpoolCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + (o.bytes ?? 0), 0);
  console.log(`[bundle] dist/${out} (${(bytes / 2 ** 20).toFixed(1)} MiB with its map) in ${Date.now() - started} ms`);
}
