// The library's entry for Node (`exports["."].import`: dist/index.js, written
// from this file by build-lib.mjs, which appends the named exports). Runs the
// library's bundles through V8's code caches made at build time, as the CLI's
// loader does (ADR 0024, ADR 0026): the functions a registrant and a discovery
// run are not parsed and compiled again in every process that imports the
// library. V8 checks a cache against its own version, flags and the source, and
// refuses one that does not match: the bundle is then compiled as usual.
// Bundlers take `exports["."].module` (tsc's modules) instead: they cannot
// follow a file read at run time.
//
// The library is split in bundles (ADR 0035): lib.bundle.cjs holds what an
// import runs; each chunk (lib.<name>.cjs: the registry's wiring and JSON store,
// a store driver's adapter, the monitor, zod) is read and run when the code
// first imports one of its modules (`marcus-chunk:<name>/<module>`). A chunk
// takes the modules it shares with the main bundle from it
// (`marcus-shared:<module>`), so there is one instance of each module.
//
// Built-ins through process.getBuiltinModule (Node ≥ 20.16): an ES-module import
// of node:fs builds its facade, which reads every export, and fs.ReadStream's
// getter loads all of Node's streams (~3 ms).
const { writeFileSync } = process.getBuiltinModule('node:fs');
const { dirname, join } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const vm = process.getBuiltinModule('node:vm');
/* global readBundle, builtinRequire -- scripts/bundle-reader.js, put in by the build at `// @bundle-reader` */

// @bundle-reader
// Only the build sets this (a directory): each bundle's cache is written there after a run, with what that run compiled.
const cacheOut = process.env.MARCUS_REGISTRY_LIB_CACHE_OUT;
// A bundle's import() of a package (a driver: better-sqlite3, etcd3, ps-list,
// prom-client; a node: built-in) is this one, resolved from this directory; of a chunk's module, the chunk's.
const importPackage = (specifier) =>
  specifier.startsWith('marcus-chunk:') ? new Promise((resolve) => resolve(chunkModule(specifier))) : import(specifier);
const chunks = new Map();
let shared;

/** Runs dist/<name>.cjs (one function expression) with its code cache; its default export. */
function runBundle(name) {
  const url = new URL(`./${name}.cjs`, import.meta.url);
  const file = fileURLToPath(url);
  const { source, cachedData } = readBundle(file, join(dirname(file), `${name}.cache`));
  const script = new vm.Script(source, { filename: file, cachedData });
  if (cacheOut) process.once('exit', () => writeFileSync(join(cacheOut, `${name}.cache`), script.createCachedData()));
  const module = { exports: {} };
  const builtin = builtinRequire(file);
  const require = (id) => (id.startsWith('marcus-shared:') ? shared[id.slice(14)] : id.startsWith('marcus-chunk:') ? chunkModule(id) : builtin(id));
  script.runInThisContext()(module.exports, require, module, file, dirname(file), url.href, importPackage);
  return module.exports.default;
}

/** The exports of `marcus-chunk:<chunk>/<module>` (one object per module), its chunk run on first use. */
function chunkModule(specifier) {
  const slash = specifier.indexOf('/');
  const name = specifier.slice(13, slash);
  let modules = chunks.get(name);
  if (modules === undefined) {
    modules = runBundle(`lib.${name}`);
    chunks.set(name, modules);
  }
  return modules[specifier.slice(slash + 1)];
}

// The library's exports, one plain object (each class and function already named as exported), and the
// modules the chunks take from it.
const main = runBundle('lib.bundle');
shared = main.shared;
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the build appends its named exports
const library = main.api;
