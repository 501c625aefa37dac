#!/usr/bin/env node
// The `marcus-registry` bin (copied to dist/interfaces/cli/main.js by build-cli.mjs).
// Runs the CLI bundle (cli.bundle.cjs) through V8's code cache (cli.bundle.cache)
// made at build time: the functions a command runs are not parsed and compiled
// again. V8 checks the cache against its own version, flags and the source,
// and refuses one that does not match: the bundle is then compiled as usual.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('./cli.bundle.cjs', import.meta.url));
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
const cacheFile = fileURLToPath(new URL(command === 'connect' ? './cli.bundle.connect.cache' : './cli.bundle.cache', import.meta.url));
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // no cache (a build without it): compile as usual
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __importMetaUrl, __marcusImport) {${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  cachedData,
});
// Only the build sets this: the cache is written after a run, with what that run compiled.
const cacheOut = process.env.MARCUS_REGISTRY_CODE_CACHE_OUT;
if (cacheOut) process.once('exit', () => writeFileSync(cacheOut, script.createCachedData()));
const module = { exports: {} };
// The bundle's import() of a package (a driver: better-sqlite3, etcd3, ps-list,
// prom-client) is this one, from the same directory as the bundle.
const importPackage = (specifier) => import(specifier);
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), pathToFileURL(bundle).href, importPackage);
