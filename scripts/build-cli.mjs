// Bundles the CLI (`bin`: dist/interfaces/cli/main.cjs) after tsc has compiled dist/,
// into one CommonJS file run through V8's code cache (ADR 0011, ADR 0024):
//   dist/interfaces/cli/cli.bundle.cjs    every module the CLI uses, one file; each
//                                  command and store adapter is initialised only
//                                  when imported (esbuild's lazy module wrappers)
//   dist/interfaces/cli/cli.bundle.cache  V8's code cache for it, written here by
//                                  running `list` over a small registry, so the
//                                  functions a command runs are not compiled again
//   dist/interfaces/cli/main.cjs          the bin: a small loader (scripts/cli-loader.mjs);
//                                  main.js is the same loader, run as an ES module
// A cold `marcus-registry list` otherwise spends most of its time resolving,
// compiling and evaluating modules — docs/benchmarks.md has the figures. The
// bundle is made from tsc's output.
// V8 refuses a cache made by another V8 version or with other flags; the loader
// then compiles the source as usual. Drivers stay outside the bundle (see
// bundle-options.mjs, ADR 0006): they are import()ed from node_modules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';
import { assertLoadableBundle, assertNoImportCalls, codeCacheBundleOptions, importsThroughLoader as importsThroughLoaderPlugin, loaderSource } from './code-cache-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/interfaces/cli`;
const bundle = `${outdir}/cli.bundle.cjs`;
const cache = `${outdir}/cli.bundle.cache`;
/** The same bundle's code cache as a `connect` run compiles it (ADR 0028). */
const connectCache = `${outdir}/cli.bundle.connect.cache`;

/**
 * Our import() of what stays outside the bundle goes through the loader
 * (code-cache-bundle.mjs). The MCP SDK, which only `connect` needs, is bundled
 * apart as ES modules (dist/interfaces/cli/mcp-sdk/, one entry per SDK module
 * the CLI imports): the other commands never read it.
 */
const SDK = '@modelcontextprotocol/sdk/';
const sdkModules = new Set();
const importsThroughLoader = importsThroughLoaderPlugin((specifier) => {
  if (!specifier.startsWith(SDK)) return undefined;
  const name = specifier.slice(SDK.length).replace(/\.js$/, '');
  sdkModules.add(name);
  return `./mcp-sdk/${name}.js`;
});

await rm(`${outdir}/chunks`, { recursive: true, force: true });
await rm(`${outdir}/mcp-sdk`, { recursive: true, force: true });
await rm(cache, { force: true });
await rm(connectCache, { force: true });
const options = bundleOptions(root);
await build({
  ...codeCacheBundleOptions(options),
  // Local names shortened too: the bundle is a third smaller, which every command reads before
  // it runs (~3 ms here). A bug's stack trace is printed through the linked source map
  // (mapped-stack.ts: Node maps nothing run through vm.Script, even with --enable-source-maps).
  minifyIdentifiers: true,
  entryPoints: { 'cli.bundle': 'dist/interfaces/cli/main.js' },
  outdir,
  plugins: [...options.plugins, importsThroughLoader],
});
assertNoImportCalls(bundle);
// The SDK modules connect imports, as ES modules of their own (shared code in chunks).
await build({
  ...options,
  entryPoints: Object.fromEntries([...sdkModules].map((name) => [name, `${SDK}${name}.js`])),
  outdir: `${outdir}/mcp-sdk`,
  chunkNames: 'chunks/[name]-[hash]',
});
// The bundle is compiled as a script (one function expression): a hashbang line there is a syntax error.
writeFileSync(bundle, readFileSync(bundle, 'utf8').replace(/^#!.*/, '//'));
assertLoadableBundle(bundle);
// The bin runs as CommonJS (Node starts a CommonJS entry point faster: ADR 0028):
// main.cjs. main.js, the same loader taken as an ES module, keeps older paths
// working. No package.json here saying `commonjs`: tsc's modules in this
// directory (ConnectionFailedError) stay ES modules for `exports["."].module`.
const loader = loaderSource(`${root}scripts/cli-loader.mjs`);
for (const name of ['main.cjs', 'main.js']) {
  writeFileSync(`${outdir}/${name}`, loader);
  chmodSync(`${outdir}/${name}`, 0o755);
}

// The code cache: `list --json` over a registry like the ones it meets (reading,
// validating, judging a live process by its start time, removing a stale entry,
// printing), then V8 serialises what it compiled. Functions the run did not
// reach are compiled when first called: the records are what `register()`
// writes, of this (live) build process, and one of a process that is gone.
const scratch = mkdtempSync(join(tmpdir(), 'marcus-cli-cache-'));
try {
  const dir = join(scratch, 'registry');
  mkdirSync(dir, { mode: 0o700 });
  const now = new Date().toISOString().replace('Z', '+00:00');
  const live = await liveRecordFields(now);
  for (const i of [1, 2, 3]) writeRecord(dir, { ...live, instance_id: `marcus_cache_${i}`, mcp_args: ['node', 'server.js', '--instance', `${i}`] });
  writeRecord(dir, { ...live, instance_id: 'marcus_cache_gone', pid: 4_194_303, process_start_time: undefined });
  const run = spawnSync(process.execPath, [`${outdir}/main.cjs`, '--store', `json:${dir}`, 'list', '--json'], {
    env: { ...process.env, NODE_OPTIONS: '', MARCUS_REGISTRY_CODE_CACHE_OUT: cache },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`writing the CLI code cache: list exited ${run.status}: ${run.stderr}`);
  readFileSync(cache); // it was written
  writeConnectCache(scratch, live);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * The second code cache, for `connect` (ADR 0028): the loader uses it when the
 * command is connect. Written by a connect run against a small stdio server
 * (below: it answers every request with an empty result and exits when its
 * stdin ends), through an initialize and the initialized notification, so
 * the bridge's functions are in it; the client's end of input then ends the
 * run. Same bundle source: only the cache differs.
 */
function writeConnectCache(scratch, live) {
  const dir = join(scratch, 'connect-registry');
  mkdirSync(dir, { mode: 0o700 });
  const server = join(scratch, 'cache-server.cjs');
  writeFileSync(
    server,
    [
      "let buffer = '';",
      "process.stdin.on('data', (chunk) => {",
      '  buffer += chunk;',
      "  for (let at = buffer.indexOf('\\n'); at !== -1; at = buffer.indexOf('\\n')) {",
      '    const message = JSON.parse(buffer.slice(0, at));',
      '    buffer = buffer.slice(at + 1);',
      "    const result = message.method === 'initialize' ? { protocolVersion: message.params.protocolVersion, capabilities: {}, serverInfo: { name: 'cache', version: '1' } } : {};",
      "    if (message.id !== undefined) process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id, result })}\\n`);",
      '  }',
      '});',
      "process.stdin.on('end', () => process.exit(0));",
    ].join('\n'),
  );
  // A live record (this build process, as register() writes it) started from its argv.
  const record = { ...live, instance_id: 'marcus_cache_connect', mcp_command: `${process.execPath} ${server}`, mcp_args: [process.execPath, server], transport: 'stdio', log_dir: scratch, working_directory: scratch };
  writeFileSync(join(dir, 'marcus_cache_connect.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  const input = [
    { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'marcus-build', version: '1' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
  ];
  const run = spawnSync(process.execPath, [`${outdir}/main.cjs`, '--store', `json:${dir}`, 'connect'], {
    input: input.map((m) => `${JSON.stringify(m)}\n`).join(''),
    env: { ...process.env, NODE_OPTIONS: '', MARCUS_REGISTRY_CODE_CACHE_OUT: connectCache },
    encoding: 'utf8',
  });
  // Only an optimisation: without it the loader compiles the bundle for connect as usual.
  if (run.status !== 0 || !run.stdout.includes('"id":0')) {
    rmSync(connectCache, { force: true });
    process.stderr.write(`build-cli: no code cache for connect (connect exited ${run.status}): ${run.stderr}\n`);
  }
}

/** A record as `register()` writes it for this build process (live while the cache is written). */
async function liveRecordFields(now) {
  const { defaultLivenessProbe } = await import(`${root}dist/adapters/liveness/select-liveness.js`);
  const { formatTimestamp } = await import(`${root}dist/domain/timestamp.js`);
  const start = await (await defaultLivenessProbe()).startOf(process.pid);
  return {
    pid: process.pid,
    mcp_command: 'node server.js',
    log_dir: tmpdir(),
    project_name: 'cache',
    provider: 'github',
    status: 'running',
    started_at: now,
    last_heartbeat: now,
    platform: process.platform === 'linux' ? 'Linux' : process.platform,
    working_directory: tmpdir(),
    runtime: 'node',
    runtime_version: process.versions.node,
    schema_version: 1,
    hostname: hostname(),
    ...(start?.timeMs === undefined ? {} : { process_start_time: formatTimestamp(start.timeMs) }),
    heartbeat_interval_ms: 30_000,
    capabilities: ['tasks', 'agents'],
  };
}

function writeRecord(dir, record) {
  writeFileSync(join(dir, `${record.instance_id}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}
