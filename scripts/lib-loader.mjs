// The library's entry for Node (`exports["."].import`: dist/index.js, written
// from this file by build-lib.mjs, which appends the named exports). Runs the
// library bundle (lib.bundle.cjs) through V8's code cache (lib.bundle.cache)
// made at build time, as the CLI's loader does (ADR 0024, ADR 0026): the
// functions a registrant and a discovery run are not parsed and compiled again
// in every process that imports the library. V8 checks the cache against its
// own version, flags and the source, and refuses one that does not match: the
// bundle is then compiled as usual. Bundlers take `exports["."].module`
// (tsc's modules) instead: they cannot follow a file read at run time.
// Built-ins through process.getBuiltinModule (Node ≥ 20.16): an ES-module import
// of node:fs builds its facade, which reads every export, and fs.ReadStream's
// getter loads all of Node's streams (~3 ms).
const { writeFileSync } = process.getBuiltinModule('node:fs');
const { dirname } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const vm = process.getBuiltinModule('node:vm');
/* global readBundle, builtinRequire -- scripts/bundle-reader.js, put in by the build at `// @bundle-reader` */

const bundleUrl = new URL('./lib.bundle.cjs', import.meta.url);
const bundle = fileURLToPath(bundleUrl);
// @bundle-reader
const { source, cachedData } = readBundle(bundle, fileURLToPath(new URL('./lib.bundle.cache', import.meta.url)));
const script = new vm.Script(source, { filename: bundle, cachedData });
// Only the build sets this: the cache is written after a run, with what that run compiled.
const cacheOut = process.env.MARCUS_REGISTRY_LIB_CACHE_OUT;
if (cacheOut) process.once('exit', () => writeFileSync(cacheOut, script.createCachedData()));
const library = { exports: {} };
// The bundle's import() of a package (a driver: better-sqlite3, etcd3, ps-list,
// prom-client; a node: built-in) is this one, resolved from this directory.
const importPackage = (specifier) => import(specifier);
script.runInThisContext()(library.exports, builtinRequire(bundle), library, bundle, dirname(bundle), bundleUrl.href, importPackage);
// Its local names are minified (ADR 0031): what it exports gets its public name back, for what prints
// a class's or a function's name (util.inspect shows `NotFoundError [NotFoundError]: …` from the class's
// own name; loggers record `err.constructor.name`).
for (const [name, value] of Object.entries(library.exports)) {
  if (typeof value === 'function' && value.name !== name) Object.defineProperty(value, 'name', { value: name });
}
