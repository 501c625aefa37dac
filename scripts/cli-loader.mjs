#!/usr/bin/env node
// The `marcus-registry` bin (copied to dist/interfaces/cli/main.cjs, and main.js, by build-cli.mjs).
// Runs the CLI bundle (cli.bundle.cjs) through V8's code cache (cli.bundle.cache)
// made at build time: the functions a command runs are not parsed and compiled
// again. V8 checks the cache against its own version, flags and the source,
// and refuses one that does not match: the bundle is then compiled as usual.
//
// The bin runs this file as CommonJS (main.cjs; ADR 0028), because Node starts
// an ES module entry point about 5 ms slower (it sets up its ES module loader
// first). It is written to be valid as an ES module too (no import or require
// statements, no import.meta, no top-level await): main.js is the same file,
// taken as one.
const { realpathSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { dirname, join } = process.getBuiltinModule('node:path');
const { pathToFileURL } = process.getBuiltinModule('node:url');
const vm = process.getBuiltinModule('node:vm');
/* global readBundle, builtinRequire -- scripts/bundle-reader.js, put in by the build at `// @bundle-reader` */

// CommonJS gives this file's path; as an ES module it is the entry point, process.argv[1] (maybe through the bin's symlink).
// eslint-disable-next-line no-undef -- defined when this runs as CommonJS (typeof is safe when it is not)
const here = dirname(typeof __filename === 'string' ? __filename : realpathSync(process.argv[1]));
const bundle = join(here, 'cli.bundle.cjs');
/**
 * The command, found as main.ts finds it (the first word that is not an option
 * or the value of --store): `connect` has a code cache of its own (ADR 0028),
 * written by a connect run, so what an MCP client waits for is compiled already.
 */
const command = (() => {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--store') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
})();
const cacheFile = join(here, command === 'connect' ? 'cli.bundle.connect.cache' : 'cli.bundle.cache');
// @bundle-reader
const { source, cachedData } = readBundle(bundle, cacheFile);
const script = new vm.Script(source, { filename: bundle, cachedData });
// Only the build sets this: the cache is written after a run, with what that run compiled.
const cacheOut = process.env.MARCUS_REGISTRY_CODE_CACHE_OUT;
if (cacheOut) process.once('exit', () => writeFileSync(cacheOut, script.createCachedData()));
const bundleModule = { exports: {} };
// The bundle's import() of a package (a driver: better-sqlite3, etcd3, ps-list,
// prom-client) is this one, from the same directory as the bundle.
const importPackage = (specifier) => import(specifier);
script.runInThisContext()(bundleModule.exports, builtinRequire(bundle), bundleModule, bundle, here, pathToFileURL(bundle).href, importPackage);
