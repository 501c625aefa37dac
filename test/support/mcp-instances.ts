// Real MCP servers registered through `marcus-registry run`, and real SDK clients
// of `marcus-registry connect`: shared by the failover, probe and catalog tests.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLI, Child, FIXTURES, cli, waitFor } from './processes.js';

export const HTTP_SERVER = join(FIXTURES, 'fixture-http-server.mjs');
export const STDIO_SERVER = join(FIXTURES, 'fixture-stdio-server.mjs');

/** A port on 127.0.0.1 nobody listens on (as long as nobody takes it meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** What a test started, to be stopped after it: `run` processes, the servers they started, clients. */
export class Started {
  readonly children: Child[] = [];
  readonly clients: Client[] = [];
  readonly pids: number[] = [];

  async stop(): Promise<void> {
    for (const client of this.clients.splice(0)) await client.close().catch(() => {});
    await Promise.all(
      this.children.splice(0).map(async (child) => {
        if (child.process.exitCode !== null || child.process.signalCode !== null) return;
        child.kill('SIGTERM');
        await Promise.race([child.exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
      }),
    );
    for (const pid of this.pids.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export async function listJson(dir: string): Promise<Array<Record<string, unknown>>> {
  const result = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: dir });
  if (result.code !== 0) throw new Error(`list failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

/** `marcus-registry run ARGS` in the background, until its entry is listed; returns it with the record. */
export async function runRegistered(started: Started, dir: string, args: readonly string[], cwd?: string): Promise<{ run: Child; record: Record<string, unknown> }> {
  const { run, before } = await startRun(started, dir, args, cwd);
  return { run, record: await untilListed(started, dir, run, before) };
}

/** `marcus-registry run ARGS` started in the background, and what was listed before it. */
async function startRun(started: Started, dir: string, args: readonly string[], cwd?: string): Promise<{ run: Child; before: Set<string> }> {
  const before = new Set((await listJson(dir)).map((r) => `${String(r['instance_id'])}/${String(r['pid'])}`));
  const run = new Child(process.execPath, [CLI, 'run', ...args], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir }, cwd });
  started.children.push(run);
  return { run, before };
}

/** The record `run` registered: the first listed that was not listed `before`. */
async function untilListed(started: Started, dir: string, run: Child, before: Set<string>): Promise<Record<string, unknown>> {
  let record: Record<string, unknown> | undefined;
  await waitFor(
    async () => {
      record = (await listJson(dir)).find((r) => !before.has(`${String(r['instance_id'])}/${String(r['pid'])}`));
      return record !== undefined;
    },
    { message: () => `run never registered: ${run.stderrText}` },
  );
  started.pids.push(record?.['pid'] as number);
  return record as Record<string, unknown>;
}

/**
 * A real Streamable HTTP MCP server on 127.0.0.1, started and registered through `run`, listening.
 * Its port is chosen before the server binds it (the URL is registered with it): when another
 * process took the port meanwhile (the server exits with EADDRINUSE), another one is chosen.
 */
export async function httpInstance(started: Started, dir: string, name: string, project: string, extra: readonly string[] = []) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/mcp`;
    const { run, before } = await startRun(started, dir, ['--project', project, '--mcp-url', url, ...extra, '--', process.execPath, HTTP_SERVER, String(port), name]);
    const listening = () => /listening \d+/.test(run.output);
    // Gone: its output read to the end (its stderr says why), not only exited.
    const gone = () => run.process.stdout?.closed === true && run.process.stderr?.closed === true;
    await waitFor(() => listening() || gone(), { message: () => `the server under run never listened: ${run.stderrText}` });
    if (!listening()) {
      if (/EADDRINUSE/.test(run.stderrText) && attempt < 5) continue;
      throw new Error(`the server under run exited: ${run.stderrText}`);
    }
    const record = await untilListed(started, dir, run, before);
    return { run, record, url, port, pid: record['pid'] as number };
  }
}

/** A real SDK Client whose server is `marcus-registry connect ARGS`; counts the tools/list_changed it is sent. */
export async function connectClient(started: Started, dir: string, args: readonly string[], env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'connect', ...args],
    env: { ...(process.env as Record<string, string>), MARCUS_REGISTRY_DIR: dir, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'failover-test', version: '1.0.0' });
  started.clients.push(client);
  const counts = { toolsListChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    counts.toolsListChanged++;
  });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, counts };
}

export async function whoami(client: Client): Promise<{ name: string; pid: number; transport: string }> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return JSON.parse((result.content as Array<{ text: string }>)[0]?.text ?? 'null');
}

/** `call`, sent once more if the first answer is the bridge's retryable error (the instance went away under it). */
export async function retryOnce<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if ((error as { code?: unknown }).code !== -32000) throw error;
    return call();
  }
}

/** Waits until `pid` has exited (a SIGKILLed server, reaped by its `run`). */
export async function untilGone(pid: number): Promise<void> {
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}
