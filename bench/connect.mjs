// `marcus-registry connect` against talking to the server directly (issue 17):
// from spawn (or, for a direct HTTP client, from the first request) to the MCP
// initialize response, with the MCP SDK's own client, alternated run by run.
//   - stdio: the client spawns the fixture server itself, or spawns
//     `connect`, which finds the server's record and starts it from mcp_args;
//   - Streamable HTTP: the client connects to the fixture server's URL, or
//     spawns `connect`, which finds its record and bridges stdio to it.
// The servers are test/fixtures/fixture-{stdio,http}-server.mjs (real SDK servers).
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summarize } from './harness.mjs';
import { benchRecord } from './records.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CLI_MAIN = join(repo, 'dist/interfaces/cli/main.cjs');
export const STDIO_SERVER = join(repo, 'test/fixtures/fixture-stdio-server.mjs');
const HTTP_SERVER = join(repo, 'test/fixtures/fixture-http-server.mjs');

/** A registry directory holding one live record (this process's pid, so it is healthy). */
export async function registryWith(dir, record) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(join(dir, `${record.instance_id}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return dir;
}

/** Starts the Streamable HTTP fixture on a port the OS picks; resolves with its URL and a stop function. */
export function startHttpServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HTTP_SERVER, '0', 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fixture HTTP server exited ${code}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}/mcp`, stop: () => child.kill('SIGTERM') });
    });
  });
}

/** Time from connect() (which spawns or sends the first request) until the initialize response is in. */
export async function timeInitialize(transport) {
  const client = new Client({ name: 'marcus-bench', version: '1.0.0' });
  const t0 = performance.now();
  await client.connect(transport);
  const elapsed = performance.now() - t0;
  if (!client.getServerVersion()) throw new Error('no initialize response');
  await client.close();
  return elapsed;
}

export const stdio = (command, args) => new StdioClientTransport({ command, args, stderr: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });

/** Runs the stdio and HTTP pairs; returns Figures (groups connect-*). */
export async function benchConnect({ root, quick, log, startTimeMs }) {
  log('\nconnect (spawn → MCP initialize response)');
  const rounds = quick ? 4 : 20;
  const warmups = quick ? 1 : 2;
  const http = await startHttpServer();
  const base = (id) => benchRecord(id, { startTimeMs });
  const stdioDir = await registryWith(join(root, 'connect-stdio'), {
    ...base('marcus_bench_stdio'),
    mcp_command: `${process.execPath} ${STDIO_SERVER} bench`,
    mcp_args: [process.execPath, STDIO_SERVER, 'bench'],
    transport: 'stdio',
  });
  const httpDir = await registryWith(join(root, 'connect-http'), { ...base('marcus_bench_http'), mcp_url: http.url, transport: 'streamable-http' });
  const samples = { stdioDirect: [], stdioConnect: [], httpDirect: [], httpConnect: [] };
  try {
    for (let round = 0; round < warmups + rounds; round++) {
      const keep = (into, ms) => round >= warmups && into.push(ms);
      keep(samples.stdioDirect, await timeInitialize(stdio(process.execPath, [STDIO_SERVER, 'bench'])));
      keep(samples.stdioConnect, await timeInitialize(stdio(process.execPath, [CLI_MAIN, '--store', `json:${stdioDir}`, 'connect'])));
      keep(samples.httpDirect, await timeInitialize(new StreamableHTTPClientTransport(new URL(http.url))));
      keep(samples.httpConnect, await timeInitialize(stdio(process.execPath, [CLI_MAIN, '--store', `json:${httpDir}`, 'connect'])));
    }
  } finally {
    http.stop();
  }
  return [
    summarize({ name: 'stdio server, client spawns it directly', group: 'connect-stdio-direct' }, samples.stdioDirect),
    summarize({ name: 'stdio server, client spawns connect', group: 'connect-stdio-via' }, samples.stdioConnect),
    summarize({ name: 'HTTP server, client connects directly', group: 'connect-http-direct' }, samples.httpDirect),
    summarize({ name: 'HTTP server, client spawns connect', group: 'connect-http-via' }, samples.httpConnect),
  ];
}
