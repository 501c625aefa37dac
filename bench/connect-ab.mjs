#!/usr/bin/env node
// Before and after for `connect` (docs/benchmarks.md, run E): two builds of the
// CLI measured in one run, alternated round by round, with bench/connect.mjs's
// measurement (the MCP SDK's client, from spawn, or from the first request of a
// client already running, to the initialize response), plus `list --json` on
// an empty registry and `node -e 0`, and when connect has its stdio server
// started: a server that prints its own process start time (performance.timeOrigin)
// as its initialize result, so the time from connect's spawn to the server's
// start is read without the server's own start-up in it.
//   node bench/connect-ab.mjs --before OTHER/dist/interfaces/cli/main.cjs [--rounds 20]
// The "after" is this checkout's dist/ (run `npm run build` first); "before" is
// another checkout's bin, e.g. a `git worktree` of main, built there.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultLivenessProbe } from '../dist/adapters/liveness/select-liveness.js';
import { registryWith, startHttpServer, stdio, STDIO_SERVER, timeInitialize } from './connect.mjs';
import { dropStartUpTaxes, formatMs, summarize, table } from './harness.mjs';
import { benchRecord } from './records.mjs';
import { removeScratch } from './stores.mjs';

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '20' }, 'keep-env': { type: 'boolean', default: false } } });
const removed = dropStartUpTaxes(values['keep-env']);
if (removed.length > 0) process.stdout.write(`(without ${removed.join(', ')}: see bench/harness.mjs START_UP_TAXES; --keep-env keeps it)\n`);
if (!values.before) throw new Error('--before PATH/TO/main.js is required');
const repo = fileURLToPath(new URL('..', import.meta.url));
const clis = { before: values.before, after: join(repo, 'dist/interfaces/cli/main.cjs') };
const rounds = Number(values.rounds);
const warmups = 2;
const startTimeMs = (await (await defaultLivenessProbe()).startOf(process.pid))?.timeMs;
await mkdir(join(repo, '.tmp'), { recursive: true });
const root = await mkdtemp(join(repo, '.tmp', 'connect-ab-'));
const http = await startHttpServer();
const samples = {};
const keep = (name, round, ms) => round >= warmups && (samples[name] ??= []).push(ms);
const wall = (args) => {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return performance.now() - t0;
};
try {
  const base = (id) => benchRecord(id, { startTimeMs });
  const stdioDir = await registryWith(join(root, 'stdio'), { ...base('marcus_bench_stdio'), mcp_command: `${process.execPath} ${STDIO_SERVER} bench`, mcp_args: [process.execPath, STDIO_SERVER, 'bench'], transport: 'stdio' });
  const httpDir = await registryWith(join(root, 'http'), { ...base('marcus_bench_http'), mcp_url: http.url, transport: 'streamable-http' });
  // A stdio server that answers initialize with its own start time and exits when its stdin ends.
  const stamp = "process.stdin.once('data',()=>process.stdout.write(JSON.stringify({jsonrpc:'2.0',id:0,result:{startedAt:performance.timeOrigin}})+'\\n'));process.stdin.on('end',()=>process.exit(0))";
  const stampDir = await registryWith(join(root, 'stamp'), { ...base('marcus_bench_stamp'), mcp_command: 'node -e …', mcp_args: [process.execPath, '-e', stamp], transport: 'stdio' });
  const empty = join(root, 'empty');
  await mkdir(empty, { mode: 0o700 });
  for (let round = 0; round < warmups + rounds; round++) {
    keep('node -e 0', round, wall(['-e', '0']));
    for (const [which, cli] of Object.entries(clis)) keep(`list --json, 0 entries (${which})`, round, wall([cli, '--store', `json:${empty}`, 'list', '--json']));
    keep('stdio: client spawns the server', round, await timeInitialize(stdio(process.execPath, [STDIO_SERVER, 'bench'])));
    for (const [which, cli] of Object.entries(clis)) keep(`stdio: client spawns connect (${which})`, round, await timeInitialize(stdio(process.execPath, [cli, '--store', `json:${stdioDir}`, 'connect'])));
    for (const [which, cli] of Object.entries(clis)) keep(`stdio: connect's spawn to its server's start (${which})`, round, await serverStart(cli, stampDir));
    keep('HTTP: client connects directly', round, await timeInitialize(new StreamableHTTPClientTransport(new URL(http.url))));
    for (const [which, cli] of Object.entries(clis)) keep(`HTTP: client spawns connect (${which})`, round, await timeInitialize(stdio(process.execPath, [cli, '--store', `json:${httpDir}`, 'connect'])));
  }
} finally {
  http.stop();
  await removeScratch(root);
}
/** From spawning connect to the start of the process it starts (the server's performance.timeOrigin). */
async function serverStart(cli, dir) {
  const spawnedAt = performance.timeOrigin + performance.now();
  const child = spawn(process.execPath, [cli, '--store', `json:${dir}`, 'connect'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, NODE_OPTIONS: '' } });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } })}\n`);
  const answer = await new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
  });
  child.stdin.end();
  await exited;
  return answer.result.startedAt - spawnedAt;
}

const figures = Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, summarize({ name }, ms)]));
const median = (name) => figures[name].median;
process.stdout.write(`${table(['case', 'median ms', 'p99 ms', 'runs'], Object.values(figures).map((f) => [f.name, formatMs(f.median), formatMs(f.p99), String(f.samples)]))}\n\n`);
const rows = ['before', 'after'].map((which) => [
  which,
  `+${formatMs(median(`stdio: client spawns connect (${which})`) - median('stdio: client spawns the server'))} ms`,
  `+${formatMs(median(`HTTP: client spawns connect (${which})`) - median('HTTP: client connects directly'))} ms`,
  `${(median(`list --json, 0 entries (${which})`) / median('node -e 0')).toFixed(2)}×`,
]);
process.stdout.write(`${table(['build', 'connect stdio over direct (≤ +100)', 'connect HTTP over direct (≤ +100)', 'list --json 0 entries ÷ node -e 0 (≤ 1.4×)'], rows)}\n`);
