// Bundles the library's entry (`exports["."]`) after tsc has compiled dist/,
// as build-cli.mjs bundles the bin (ADR 0024, ADR 0026):
//   dist/index.modules.js  tsc's index.js, renamed: `exports["."].module`, what
//                          bundlers read (they follow its imports as usual)
//   dist/lib.bundle.cjs    every module of the library, one CommonJS file; what
//                          is imported dynamically (store adapters, the liveness
//                          probe, the monitor's server) is initialised only when
//                          first imported (esbuild's lazy module wrappers)
//   dist/lib.bundle.cache  V8's code cache for it, written here after a
//                          registrant and a discovery ran through it
//   dist/index.js          `exports["."].import`, what Node loads: a small loader
//                          (scripts/lib-loader.mjs) plus the named exports
// Importing tsc's output loads about 390 module files (245 of them
// inversify's); one bundle from the code cache loads in a fraction of that.
// Type declarations (dist/**/*.d.ts) and every other file of dist/ stay as tsc
// wrote them. Drivers stay outside the bundle (bundle-options.mjs, ADR 0006).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';
import { assertLoadableBundle, assertNoImportCalls, codeCacheBundleOptions, importsThroughLoader, loaderSource } from './code-cache-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
const bundle = `${dist}/lib.bundle.cjs`;
const cache = `${dist}/lib.bundle.cache`;

await rm(`${dist}/chunks`, { recursive: true, force: true }); // the ES-module chunks of earlier builds
await rm(cache, { force: true });
renameSync(`${dist}/index.js`, `${dist}/index.modules.js`);
writeFileSync(`${dist}/index.modules.js`, readFileSync(`${dist}/index.modules.js`, 'utf8').replace('//# sourceMappingURL=index.js.map', '//# sourceMappingURL=index.modules.js.map'));
renameSync(`${dist}/index.js.map`, `${dist}/index.modules.js.map`);

const options = bundleOptions(root);
await build({
  ...codeCacheBundleOptions(options),
  entryPoints: { 'lib.bundle': 'dist/index.modules.js' },
  minifyIdentifiers: true,
  outdir: dist,
  plugins: [...options.plugins, importsThroughLoader()],
});
assertNoImportCalls(bundle);
assertLoadableBundle(bundle);

// The names the entry exports: those of tsc's index (a flat list of re-exports, no default).
const names = namedExports(`${dist}/index.modules.js`);
writeFileSync(`${dist}/index.js`, `${loaderSource(`${root}scripts/lib-loader.mjs`)}\nexport const { ${names.join(', ')} } = library.exports;\n`);

// The code cache: a registrant (createRegistry, register) and a discovery over
// a JSON registry, then V8 serialises what it compiled.
const scratch = mkdtempSync(join(tmpdir(), 'marcus-lib-cache-'));
try {
  const workload = [
    "import { createRegistry } from './dist/index.js';",
    `const registry = await createRegistry({ store: ${JSON.stringify(`json:${join(scratch, 'registry')}`)} });`,
    "await registry.register({ mcpCommand: 'node server.js --stdio', projectName: 'cache' });",
    'await registry.discover();',
    'await registry.close();',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', workload], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', MARCUS_REGISTRY_LIB_CACHE_OUT: cache },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`writing the library code cache: the workload exited ${run.status}: ${run.stderr}`);
  readFileSync(cache); // it was written
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** The export names of a module made only of `export { a, b as c } from '…'` statements (tsc's index). */
function namedExports(file) {
  const text = readFileSync(file, 'utf8');
  const names = [];
  for (const [, list] of text.matchAll(/export\s*\{([^}]*)\}\s*from/g)) {
    for (const item of list.split(',')) {
      const name = item.trim().split(/\s+as\s+/).pop();
      if (name) names.push(name);
    }
  }
  if (/export\s+(?:default|const|let|var|function|class|\*)/.test(text)) throw new Error(`${file}: only named re-exports are supported`);
  return names;
}
