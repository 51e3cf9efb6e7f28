// Writes crds/ (and the Helm chart's crds/ when the chart exists) and the README's API reference from
// operator/api/schema.ts. With --check, writes
// nothing and exits 1 listing the files that differ. Runs compiled (node dist/hack/gen-crds.js, as `make crds` does)
// or from source (node hack/gen-crds.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// From source, the relative imports name the compiled .js files (NodeNext style): resolve them to the .ts beside them.
if (import.meta.url.endsWith('.ts')) {
  registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')
        ? nextResolve(`${specifier.slice(0, -3)}.ts`, context)
        : nextResolve(specifier, context),
  });
}
const { crdFiles } = await import('../operator/api/crd-files.js');
const { withReference } = await import('../operator/api/reference.js');

/** The repository root: the nearest folder above this script with a package.json (from hack/ or dist/hack/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('gen-crds: no package.json above this script');
    dir = parent;
  }
  return dir;
}

const root = repoRoot();
const outDirs = [join(root, 'crds')];
if (existsSync(join(root, 'charts/warmpool/Chart.yaml'))) outDirs.push(join(root, 'charts/warmpool/crds'));

const check = process.argv.includes('--check');
const files = crdFiles();
const differing: string[] = [];
for (const dir of outDirs) {
  for (const file of files) {
    const path = join(dir, file.name);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === file.text) continue;
    if (check) {
      differing.push(relative(root, path));
    } else {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, file.text);
      console.log(`wrote ${relative(root, path)}`);
    }
  }
}
// The README's API reference is rendered from the same schemas.
const readmePath = join(root, 'README.md');
if (existsSync(readmePath)) {
  const readme = readFileSync(readmePath, 'utf8');
  const next = withReference(readme);
  if (next === undefined) console.error('README.md has no api-reference markers; reference not written');
  else if (next !== readme) {
    if (check) differing.push('README.md');
    else {
      writeFileSync(readmePath, next);
      console.log('wrote README.md (API reference)');
    }
  }
}
if (differing.length > 0) {
  console.error(`CRDs out of date (run \`make crds\`):\n${differing.map((p) => `  ${p}`).join('\n')}`);
  process.exitCode = 1;
}
