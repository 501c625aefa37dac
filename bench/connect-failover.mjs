#!/usr/bin/env node
// `node bench/connect-failover.mjs [--switches 20]` (after `npm run build`): how
// long an MCP client of `marcus-registry connect` is without a server when the
// bridged instance dies. Two real SDK Streamable HTTP servers of one project run
// under `marcus-registry run`; a real SDK client calls `whoami` through connect;
// the instance that answered is SIGKILLed and the clock runs from the kill to
// the first successful call on the other instance (the client retries once on
// the bridge's retryable error, as the README says a client may). A fresh
// instance is then started, so two are always registered. Prints the median and
// the maximum over all switches (ADR 0023).
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist/interfaces/cli/main.cjs');
const SERVER = join(root, 'test/fixtures/fixture-http-server.mjs');
const { values } = parseArgs({ options: { switches: { type: 'string', default: '20' } } });
const switches = Number(values.switches);

const dir = await mkdtemp(join(tmpdir(), 'marcus-failover-bench-'));
await chmod(dir, 0o700);
const env = { ...process.env, MARCUS_REGISTRY_DIR: dir };
const runs = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A server under `run`, resolved once it listens; its pid is the server's (what whoami says). */
async function startInstance(name) {
  const port = await freePort();
  const run = spawn(process.execPath, [CLI, 'run', '--project', 'bench', '--mcp-url', `http://127.0.0.1:${port}/mcp`, '--', process.execPath, SERVER, String(port), name], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  runs.push(run);
  await new Promise((resolve, reject) => {
    let out = '';
    run.stdout.on('data', (d) => {
      out += d.toString();
      if (/listening \d+/.test(out)) resolve();
    });
    run.once('exit', () => reject(new Error(`instance ${name} exited before listening`)));
  });
  return run;
}

async function whoami(client) {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return JSON.parse(result.content[0].text);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const client = new Client({ name: 'failover-bench', version: '1.0.0' });
try {
  await startInstance('i0');
  await startInstance('i1');
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'connect', '--project', 'bench', '--wait', '30'], env, stderr: 'inherit' });
  await client.connect(transport);
  const times = [];
  let retried = 0;
  for (let i = 0; i < switches; i++) {
    const before = await whoami(client);
    const killedAt = performance.now();
    process.kill(before.pid, 'SIGKILL');
    let after;
    for (;;) {
      try {
        after = await whoami(client);
        if (after.pid !== before.pid) break;
      } catch (error) {
        if (error?.code !== -32000) throw error;
        retried++;
      }
    }
    times.push(performance.now() - killedAt);
    await startInstance(`i${i + 2}`);
  }
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    `connect failover over ${switches} switches (SIGKILL → first successful call on another instance): median ${fmt(median(times))}, max ${fmt(Math.max(...times))}, min ${fmt(Math.min(...times))}; ${retried} call(s) answered with the retryable error\n`,
  );
} finally {
  await client.close().catch(() => {});
  for (const run of runs) if (run.exitCode === null && run.signalCode === null) run.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await rm(dir, { recursive: true, force: true });
}
