// Bundles the library's entry (`exports["."]`) after tsc has compiled dist/,
// as build-cli.mjs bundles the bin (ADR 0024, ADR 0026, ADR 0035):
//   dist/index.modules.js  tsc's index.js, renamed: `exports["."].module`, what
//                          bundlers read (they follow its imports as usual)
//   dist/lib.bundle.cjs    what an import of the library runs, one CommonJS file
//   dist/lib.<chunk>.cjs   each chunk (CHUNKS): modules the code import()s, run
//                          when first imported; a chunk takes what it shares
//                          with lib.bundle.cjs from it (one instance per module)
//   dist/lib.*.cache       V8's code caches for them, written here after a
//                          registrant and a discovery ran through them
//   dist/index.js          `exports["."].import`, what Node loads: a small loader
//                          (scripts/lib-loader.mjs) plus the named exports
// Importing tsc's output loads about 390 module files (245 of them
// inversify's); the bundle from its code cache loads in a fraction of that.
// Type declarations (dist/**/*.d.ts) and every other file of dist/ stay as tsc
// wrote them. Drivers stay outside the bundles (bundle-options.mjs, ADR 0006).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions, lazyZod, lazyZodFrom } from './bundle-options.mjs';
import { moduleExports } from './module-exports.mjs';
import { assertLoadableBundle, assertNoImportCalls, codeCacheBundleOptions, importsThroughLoader, loaderSource } from './code-cache-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

/**
 * The chunks, by the modules (under dist/) the code import()s from each. What
 * an import of the library never runs: the registry's wiring (inversify) with
 * the JSON store and the liveness probe a registrant and a discovery open, the
 * other stores' adapters, the monitor's server, zod (for a malformed record).
 */
const CHUNKS = {
  registry: ['app/composition-root.js', 'adapters/json-dir/json-dir.store.js', 'adapters/liveness/select-liveness.js'],
  sqlite: ['adapters/sqlite/sqlite.store.js'],
  etcd: ['adapters/etcd/etcd.store.js', 'app/etcd-secrets.js'],
  monitor: ['interfaces/http/start-monitor.js'],
  zod: ['domain/record.zod.js'],
};
const chunkOf = new Map(Object.entries(CHUNKS).flatMap(([name, modules]) => modules.map((module) => [module, name])));
/** The module under dist/ (as CHUNKS names it) that `path` is. */
const distModule = (path) => relative(dist, path).split('\\').join('/');
/** A chunk's module as the loader names it. */
const chunkSpecifier = (module) => `marcus-chunk:${chunkOf.get(module)}/${module}`;

for (const file of readdirSync(dist)) if (/^lib\..*\.(cjs|cache|map|txt)$/.test(file)) rmSync(`${dist}/${file}`);
rmSync(`${dist}/chunks`, { recursive: true, force: true }); // the ES-module chunks of earlier builds
renameSync(`${dist}/index.js`, `${dist}/index.modules.js`);
writeFileSync(`${dist}/index.modules.js`, readFileSync(`${dist}/index.modules.js`, 'utf8').replace('//# sourceMappingURL=index.js.map', '//# sourceMappingURL=index.modules.js.map'));
renameSync(`${dist}/index.js.map`, `${dist}/index.modules.js.map`);

const options = bundleOptions(root);
const plugins = [...options.plugins.filter((plugin) => plugin !== lazyZod), lazyZodFrom(`require(${JSON.stringify(chunkSpecifier('domain/record.zod.js'))})`)];
/** import() of a chunk's module goes to the loader, which runs the chunk. */
const chunkImports = importsThroughLoader((specifier, importer) => {
  if (!specifier.startsWith('.')) return undefined;
  const module = distModule(resolve(dirname(importer), specifier));
  return chunkOf.has(module) ? chunkSpecifier(module) : undefined;
});

/** A virtual entry module of `contents` (absolute imports). */
const virtualEntry = (contents) => ({
  name: 'virtual-entry',
  setup(b) {
    b.onResolve({ filter: /^marcus-entry$/ }, () => ({ path: 'marcus-entry', namespace: 'marcus-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'marcus-entry' }, () => ({ contents, resolveDir: root, loader: 'js' }));
  },
});

/**
 * The names a module under dist/ exports. The library's exports and the
 * modules the chunks share are handed over as plain objects, values read once
 * (ADR 0035): the build refuses one declared with `let` or `var`, which a later
 * assignment could change (an enum compiled to `var` too: give it as a const).
 */
const exportsOf = new Map();
function exportNames(module) {
  if (!exportsOf.has(module)) {
    const names = [];
    for (const [name, { file, kind }] of moduleExports(`${dist}/${module}`)) {
      if (kind === 'let' || kind === 'var') throw new Error(`build-lib: ${module} exports ${name}, a ${kind} of ${distModule(file)}: a plain object would keep the value it had when built`);
      names.push(name);
    }
    exportsOf.set(module, names);
  }
  return exportsOf.get(module);
}

/**
 * Imports of `modules` (under dist/) by name, and `name`: an object from each
 * module to a frozen plain object of its exports (no getters: what a chunk
 * reads is one property load).
 */
function plainNamespaces(name, modules) {
  const lines = [];
  const objects = [];
  for (const [i, module] of modules.entries()) {
    const names = exportNames(module);
    lines.push(`import { ${names.map((n, j) => `${JSON.stringify(n)} as m${i}_${j}`).join(', ')} } from ${JSON.stringify(`${dist}/${module}`)};`);
    objects.push(`${JSON.stringify(module)}: Object.freeze({ ${names.map((n, j) => `${JSON.stringify(n)}: m${i}_${j}`).join(', ')} })`);
  }
  lines.push(`const ${name} = { ${objects.join(', ')} };`);
  return lines.join('\n');
}

/**
 * The main bundle's entry: the library's exports as one plain object, each
 * exported class and function given its public name back (local names are
 * minified, ADR 0031: util.inspect and loggers print a class's own name, a
 * trace a function's), and the modules the chunks take from it (`shared`).
 */
function mainEntry(shared) {
  const names = exportNames('index.modules.js');
  return [
    `import { ${names.join(', ')} } from ${JSON.stringify(`${dist}/index.modules.js`)};`,
    plainNamespaces('shared', shared),
    `const api = { ${names.join(', ')} };`,
    "for (const name in api) if (typeof api[name] === 'function' && api[name].name !== name) Object.defineProperty(api[name], 'name', { value: name });",
    'export default { api, shared };',
  ].join('\n');
}

/** The main bundle: the library's entry, and the modules of `shared` (what the chunks take from it). */
async function buildMain(shared) {
  return build({
    ...codeCacheBundleOptions(options),
    entryPoints: { 'lib.bundle': 'marcus-entry' },
    minifyIdentifiers: true,
    external: [...options.external, 'marcus-chunk:*'],
    outdir: dist,
    write: false,
    metafile: true,
    plugins: [...plugins, chunkImports, virtualEntry(mainEntry(shared))],
  });
}

/**
 * A chunk: its modules' exports, by module, as its default export. What the main bundle
 * holds (`inMain`, paths under dist/) is `marcus-shared:<module>`, taken from it.
 */
async function buildChunk(name, inMain, taken) {
  const fromMain = {
    name: 'from-main-bundle',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (args.namespace !== 'file' || !args.importer.startsWith(`${dist}/`) || args.importer.includes('/node_modules/')) return undefined;
        const module = distModule(resolve(args.resolveDir, args.path));
        if (!inMain.has(module)) return undefined;
        taken.add(module);
        return { path: `marcus-shared:${module}`, external: true };
      });
    },
  };
  return build({
    ...codeCacheBundleOptions(options),
    entryPoints: { [`lib.${name}`]: 'marcus-entry' },
    minifyIdentifiers: true,
    external: [...options.external, 'marcus-chunk:*'],
    outdir: dist,
    write: false,
    metafile: true,
    plugins: [fromMain, ...plugins, chunkImports, virtualEntry(`${plainNamespaces('modules', CHUNKS[name])}\nexport default modules;`)],
  });
}

const inputsOf = (result) => Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('marcus-entry:'));
const underDist = (input) => (input.startsWith('dist/') ? input.slice('dist/'.length) : undefined);

// A module two chunks would both bundle moves to the main bundle (one instance of each module),
// and the main bundle is built again with what the chunks take from it, until neither changes.
let shared = [];
let main;
let chunks;
for (;;) {
  main = await buildMain(shared);
  const inMain = new Set(inputsOf(main).map(underDist).filter(Boolean));
  const taken = new Set(shared);
  chunks = await Promise.all(Object.keys(CHUNKS).map(async (name) => ({ name, result: await buildChunk(name, inMain, taken) })));
  const owner = new Map();
  const twice = new Set();
  for (const { name, result } of chunks) {
    for (const input of inputsOf(result)) {
      if (owner.has(input) && owner.get(input) !== name) twice.add(input);
      owner.set(input, name);
    }
  }
  const outside = [...twice].filter((input) => underDist(input) === undefined);
  if (outside.length > 0) throw new Error(`build-lib: two chunks would each bundle ${outside.join(', ')}; put it in one chunk or import it from the main bundle`);
  const next = [...new Set([...taken, ...[...twice].map(underDist)])].sort();
  // `next` holds all of `shared`: the same length is the same list, the one `main` was built with.
  if (twice.size === 0 && next.length === shared.length) break;
  shared = next;
}
// One instance of each module: nothing a chunk bundles is in the main bundle too (lazy-os's
// wrappers of node:os hold no state), and no chunk's module is. What only a chunk may hold
// besides: an import of the library runs none of it.
const mainInputs = new Set(inputsOf(main));
const CHUNK_ONLY = /^node_modules\/(inversify|@inversifyjs|reflect-metadata|zod|proper-lockfile)\//;
const misplaced = [
  ...[...mainInputs].filter((input) => CHUNK_ONLY.test(input) || chunkOf.has(underDist(input))).map((input) => `${input} (main)`),
  ...chunks.flatMap(({ name, result }) => inputsOf(result).filter((input) => mainInputs.has(input) && !input.startsWith('lazy-os:')).map((input) => `${input} (main and ${name})`)),
];
if (misplaced.length > 0) throw new Error(`build-lib: a module in the wrong bundle: ${misplaced.slice(0, 5).join(', ')}`);
for (const { path, contents } of [...main.outputFiles, ...chunks.flatMap(({ result }) => result.outputFiles)]) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents);
}
const bundles = ['lib.bundle', ...Object.keys(CHUNKS).map((name) => `lib.${name}`)];
for (const name of bundles) {
  assertNoImportCalls(`${dist}/${name}.cjs`);
  assertLoadableBundle(`${dist}/${name}.cjs`);
}

// The names the entry exports: those of tsc's index (a flat list of re-exports, no default).
writeFileSync(`${dist}/index.js`, `${loaderSource(`${root}scripts/lib-loader.mjs`)}\nexport const { ${exportNames('index.modules.js').join(', ')} } = library;\n`);

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
    env: { ...process.env, NODE_OPTIONS: '', MARCUS_REGISTRY_LIB_CACHE_OUT: dist },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`writing the library code cache: the workload exited ${run.status}: ${run.stderr}`);
  for (const name of ['lib.bundle', 'lib.registry']) readFileSync(`${dist}/${name}.cache`); // they were written
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
