import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, FIXTURES, cli, runToEnd, tempRegistryDir, waitFor, type Finished } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

const HTTP_SERVER = join(FIXTURES, 'fixture-http-server.mjs');
const STDIO_SERVER = join(FIXTURES, 'fixture-stdio-server.mjs');

const children: Child[] = [];
const clients: Client[] = [];
/** Pids of the servers `run` started: a SIGKILLed `run` would leave them running. */
const servers: number[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  // SIGTERM: run forwards it to its server and unregisters; then make sure of both.
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    }),
  );
  for (const pid of servers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A port on 127.0.0.1 nobody listens on (as long as nobody takes it meanwhile). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function listJson(dir: string): Promise<Array<Record<string, unknown>>> {
  const result = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: dir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

/** `marcus-registry run ARGS` in the background, until its entry is listed; returns it with the record. */
async function runRegistered(dir: string, args: readonly string[], cwd?: string): Promise<{ run: Child; record: Record<string, unknown> }> {
  const { run, before } = await startRun(dir, args, cwd);
  return { run, record: await untilListed(dir, run, before) };
}

/** `marcus-registry run ARGS` started in the background, and the ids listed before it. */
async function startRun(dir: string, args: readonly string[], cwd?: string): Promise<{ run: Child; before: Set<unknown> }> {
  const before = new Set((await listJson(dir)).map((r) => r['instance_id']));
  const run = new Child(process.execPath, [CLI, 'run', ...args], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir }, cwd });
  children.push(run);
  return { run, before };
}

/** The record `run` registered: the first listed whose id was not listed `before`. */
async function untilListed(dir: string, run: Child, before: Set<unknown>): Promise<Record<string, unknown>> {
  let record: Record<string, unknown> | undefined;
  await waitFor(
    async () => {
      record = (await listJson(dir)).find((r) => !before.has(r['instance_id']));
      return record !== undefined;
    },
    { message: () => `run never registered: ${run.stderrText}` },
  );
  servers.push(record?.['pid'] as number);
  return record as Record<string, unknown>;
}

/**
 * A real MCP server listening on 127.0.0.1, started and registered through `run`. Its port is
 * chosen before it binds it (the URL is registered with it): taken meanwhile (EADDRINUSE), another is chosen.
 */
async function httpInstance(dir: string, name: string, project: string, transport: 'streamable-http' | 'sse' = 'streamable-http') {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = transport === 'sse' ? `http://127.0.0.1:${port}/sse` : `http://127.0.0.1:${port}/mcp`;
    const args = ['--project', project, '--mcp-url', url, ...(transport === 'sse' ? ['--transport', 'sse'] : []), '--', process.execPath, HTTP_SERVER, String(port), name];
    if (transport === 'sse') args.push('--sse');
    const { run, before } = await startRun(dir, args);
    const listening = () => /listening \d+/.test(run.output);
    // Gone: its output read to the end (its stderr says why), not only exited.
    const gone = () => run.process.stdout?.closed === true && run.process.stderr?.closed === true;
    await waitFor(() => listening() || gone(), { message: () => `the server under run never listened: ${run.stderrText}` });
    if (!listening()) {
      if (/EADDRINUSE/.test(run.stderrText) && attempt < 5) continue;
      throw new Error(`the server under run exited: ${run.stderrText}`);
    }
    return { run, record: await untilListed(dir, run, before), url };
  }
}

/** A real SDK Client whose server is `marcus-registry connect ARGS`. */
async function connectClient(dir: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'connect', ...args],
    env: { ...(process.env as Record<string, string>), MARCUS_REGISTRY_DIR: dir, ...env },
    cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'connect-test', version: '1.0.0' });
  clients.push(client);
  const connected = client.connect(transport);
  connected.catch(() => {}); // awaited by the test, perhaps later than it settles
  return { client, transport, stderr: () => stderr, connected };
}

async function whoami(client: Client): Promise<{ name: string; pid: number; transport: string }> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return JSON.parse((result.content as Array<{ text: string }>)[0]?.text ?? 'null');
}

async function echo(client: Client, text: string): Promise<string | undefined> {
  const result = await client.callTool({ name: 'echo', arguments: { text } });
  return (result.content as Array<{ text: string }>)[0]?.text;
}

/** Raw JSON-RPC over connect's stdio: writes `messages` (one per line), then ends stdin. */
function connectRaw(dir: string, args: readonly string[], messages: readonly unknown[], env: Record<string, string> = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'connect', ...args], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
  });
}

/** Every line of stdout is a JSON-RPC 2.0 message: nothing else may ever be written there. */
function jsonRpcLines(stdout: string): Array<Record<string, unknown>> {
  const lines = stdout.split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    expect(message['jsonrpc'], line).toBe('2.0');
    return message;
  });
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

describe('marcus-registry connect', () => {
  it('bridges an MCP client to a Streamable HTTP instance: lists and calls its tools, ends the session on close', async () => {
    await using tmp = await tempRegistryDir();
    const server = await httpInstance(tmp.dir, 'alpha', 'X');
    expect(server.record).toMatchObject({ mcp_url: server.url, transport: 'streamable-http', project_name: 'X' });

    const { client, stderr, connected } = await connectClient(tmp.dir, ['--project', 'X']);
    await connected;
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    expect(await echo(client, 'hello through the bridge')).toBe('hello through the bridge');
    expect(await whoami(client)).toEqual({ name: 'alpha', pid: server.record['pid'], transport: 'streamable-http' });
    expect(stderr()).toMatch(new RegExp(`connecting to ${String(server.record['instance_id'])}: ${server.url}`));

    await client.close();
    // Closing stdin ends the bridge, which ends the HTTP session (DELETE) on its way out.
    await waitFor(() => /session \S+ closed/.test(server.run.stderrText), { message: () => server.run.stderrText });
  });

  it('writes nothing but JSON-RPC to stdout (also with --debug), answers what was asked before stdin ended, and exits 0', async () => {
    await using tmp = await tempRegistryDir();
    await httpInstance(tmp.dir, 'alpha', 'X');
    const result = await connectRaw(tmp.dir, ['--project', 'X', '--debug'], [
      INITIALIZE,
      INITIALIZED,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'raw' } } },
    ]);
    expect(result.code, result.stderr).toBe(0);
    const messages = jsonRpcLines(result.stdout);
    const byId = new Map(messages.map((m) => [m['id'], m]));
    expect((byId.get(1)?.['result'] as { serverInfo: { name: string } }).serverInfo.name).toBe('fixture-alpha');
    expect((byId.get(2)?.['result'] as { tools: Array<{ name: string }> }).tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    expect(byId.get(3)?.['result']).toEqual({ content: [{ type: 'text', text: 'raw' }] });
    expect(result.stderr).toMatch(/connecting to/);
  });

  it('reaches an instance on the legacy HTTP+SSE transport', async () => {
    await using tmp = await tempRegistryDir();
    const server = await httpInstance(tmp.dir, 'gamma', 'S', 'sse');
    expect(server.record).toMatchObject({ mcp_url: server.url, transport: 'sse' });
    const { client, connected } = await connectClient(tmp.dir, ['--project', 'S']);
    await connected;
    expect(await whoami(client)).toEqual({ name: 'gamma', pid: server.record['pid'], transport: 'sse' });
    expect(await echo(client, 'over sse')).toBe('over sse');
  });

  it('starts a NEW server process from a stdio-only record’s argv, in its working directory, from anywhere', async () => {
    await using tmp = await tempRegistryDir();
    // A relative script path: it means something only in the instance's working directory.
    const { record } = await runRegistered(tmp.dir, ['--project', 'Y', '--', process.execPath, 'fixture-stdio-server.mjs', 'beta'], FIXTURES);
    expect(record['mcp_args']).toEqual([process.execPath, 'fixture-stdio-server.mjs', 'beta']);
    expect(record['mcp_url']).toBeUndefined();

    const { client, stderr, connected } = await connectClient(tmp.dir, ['--project', 'Y'], {}, tmp.dir);
    await connected;
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    const me = await whoami(client);
    expect(me.name).toBe('beta');
    expect(me.transport).toBe('stdio');
    expect(me.pid).not.toBe(record['pid']);
    expect(await echo(client, 'stdio')).toBe('stdio');
    expect(stderr()).toMatch(/connecting to .*fixture-stdio-server\.mjs beta/);
  });

  it('with a stdio instance, exits 0 when stdin ends and the server exits, and keeps stdout pure JSON-RPC', async () => {
    await using tmp = await tempRegistryDir();
    await runRegistered(tmp.dir, ['--project', 'Y', '--', process.execPath, STDIO_SERVER, 'beta']);
    const result = await connectRaw(tmp.dir, ['--project', 'Y'], [INITIALIZE, INITIALIZED, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'e' } } }]);
    expect(result.code, result.stderr).toBe(0);
    const ids = jsonRpcLines(result.stdout).map((m) => m['id']);
    expect(ids).toContain(1);
  });

  it('exits with the stdio server’s own code, and 127 when it cannot be started', async () => {
    await using tmp = await tempRegistryDir();
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    // Records of a live process (this test runner) whose command is what is under test.
    await writeFile(join(tmp.dir, 'marcus_seven.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_seven', project_name: 'seven', mcp_args: ['sh', '-c', 'exit 7'], working_directory: tmp.dir })), { mode: 0o600 });
    // A working directory that does not exist here (another host's record): started from ours, and said so.
    await writeFile(join(tmp.dir, 'marcus_away.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_away', project_name: 'away', mcp_args: ['sh', '-c', 'exit 5'], working_directory: '/nonexistent/marcus' })), { mode: 0o600 });
    await writeFile(join(tmp.dir, 'marcus_none.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_none', project_name: 'none', mcp_args: ['no-such-program-xyz'], working_directory: tmp.dir })), { mode: 0o600 });
    const seven = await cli(['connect', '--project', 'seven'], env);
    expect(seven.code, seven.stderr).toBe(7);
    expect(seven.stdout).toBe('');
    const away = await cli(['connect', '--project', 'away'], env);
    expect(away.code, away.stderr).toBe(5);
    expect(away.stderr).toMatch(/working directory \/nonexistent\/marcus does not exist here/);
    const none = await cli(['connect', '--project', 'none'], env);
    expect(none.code).toBe(127);
    expect(none.stderr).toMatch(/cannot start no-such-program-xyz/);
    expect(none.stdout).toBe('');
  });

  it('with no matching instance: exit 3, a message on stderr, nothing on stdout (also after --wait)', async () => {
    await using tmp = await tempRegistryDir();
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    const now = await cli(['connect', '--project', 'nope'], env);
    expect(now.code).toBe(3);
    expect(now.stderr).toMatch(/no running instance matches \(project "nope"\)/);
    expect(now.stdout).toBe('');
    // A client that wrote its initialize (then closed stdin) is waited for; one that wrote nothing is not (connect-exit test).
    const initialize = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`;
    const waited = await runToEnd(process.execPath, [CLI, 'connect', '--project', 'nope', '--wait', '0.6'], { env: { ...process.env, ...env }, input: initialize });
    expect(waited.code).toBe(3);
    expect(waited.stderr).toMatch(/no running instance matches \(project "nope"\) after waiting 0\.6 s/);
    expect(waited.stdout).toBe('');
    const bad = await cli(['connect', '--wait', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  });

  it('--wait connects to an instance that appears after connect started', async () => {
    await using tmp = await tempRegistryDir();
    const { client, connected, stderr } = await connectClient(tmp.dir, ['--project', 'late', '--wait', '60'], { MARCUS_REGISTRY_DEBUG: '1' });
    // connect has looked, found nothing and is waiting (its client is sending initialize into the pipe meanwhile).
    await waitFor(() => /waiting up to \d+ s/.test(stderr()), { message: () => `connect never said it waits: ${stderr()}` });
    const server = await httpInstance(tmp.dir, 'late-one', 'late');
    await connected;
    expect(await whoami(client)).toMatchObject({ name: 'late-one', pid: server.record['pid'] });
  });

  it('reaches the preferred (newest) of two instances of a project, or the pinned one', async () => {
    await using tmp = await tempRegistryDir();
    const older = await httpInstance(tmp.dir, 'older', 'P');
    const newer = await httpInstance(tmp.dir, 'newer', 'P');
    expect(String(newer.record['started_at']) > String(older.record['started_at'])).toBe(true);

    const first = await connectClient(tmp.dir, ['--project', 'P']);
    await first.connected;
    expect(await whoami(first.client)).toMatchObject({ name: 'newer', pid: newer.record['pid'] });

    const pinned = await connectClient(tmp.dir, ['--project', 'P', '--instance', String(older.record['instance_id'])]);
    await pinned.connected;
    expect(await whoami(pinned.client)).toMatchObject({ name: 'older', pid: older.record['pid'] });

    const byEnv = await connectClient(tmp.dir, ['--project', 'P'], { MARCUS_INSTANCE_ID: String(older.record['instance_id']) });
    await byEnv.connected;
    expect((await whoami(byEnv.client)).name).toBe('older');

    // An explicit --instance is strict: absent, it reaches no other instance.
    const absent = await cli(['connect', '--instance', 'marcus_absent'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(absent.code).toBe(3);
    expect(absent.stdout).toBe('');
    // MARCUS_INSTANCE_ID is only a preference: absent, the newest is reached.
    const softPin = await connectClient(tmp.dir, ['--project', 'P'], { MARCUS_INSTANCE_ID: 'marcus_absent' });
    await softPin.connected;
    expect((await whoami(softPin.client)).name).toBe('newer');
  });

  it('when the instance cannot be reached: the open request gets a JSON-RPC error, stderr says why, exit 1', async () => {
    await using tmp = await tempRegistryDir();
    const closedPort = await freePort();
    await runRegistered(tmp.dir, ['--project', 'Z', '--mcp-url', `http://127.0.0.1:${closedPort}/mcp`, '--', 'sleep', '60']);
    const result = await connectRaw(tmp.dir, ['--project', 'Z'], [INITIALIZE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`the instance at http://127\\.0\\.0\\.1:${closedPort}/mcp failed.*\\[CONNECTION_FAILED\\]`));
    const [answer, ...rest] = jsonRpcLines(result.stdout);
    expect(rest).toEqual([]);
    expect(answer).toMatchObject({ id: 1, error: { code: -32000 } });
    expect(String((answer?.['error'] as { message: string }).message)).toMatch(/CONNECTION_FAILED/);
  });

  it('a record with a bad mcp_url or an mcp_command that needs a shell: a typed error and exit 1, never a crash or a shell', async () => {
    await using tmp = await tempRegistryDir();
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    const marker = join(tmp.dir, 'pwned');
    await writeFile(join(tmp.dir, 'marcus_url.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_url', project_name: 'url', mcp_url: 'file:///etc/passwd' })), { mode: 0o600 });
    const unsafe = makeRecord({ instance_id: 'marcus_sh', project_name: 'sh', mcp_command: `node server.js; touch ${marker}` });
    delete (unsafe as Record<string, unknown>)['mcp_args'];
    await writeFile(join(tmp.dir, 'marcus_sh.json'), JSON.stringify(unsafe), { mode: 0o600 });

    const url = await cli(['connect', '--project', 'url'], env);
    expect(url.code).toBe(1);
    expect(url.stderr).toMatch(/cannot connect to instance marcus_url: mcp_url must be an http: or https: URL.*\[INVALID_CONNECTION\]/);
    expect(url.stdout).toBe('');
    const sh = await cli(['connect', '--project', 'sh'], env);
    expect(sh.code).toBe(1);
    expect(sh.stderr).toMatch(/without a shell: an unquoted ";" \(a command separator\).*\[UNSAFE_COMMAND\]/);
    expect(sh.stdout).toBe('');
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('run refuses an --mcp-url that is not http(s), and a transport that contradicts it, before starting anything', async () => {
    await using tmp = await tempRegistryDir();
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    const bad = await cli(['run', '--mcp-url', 'ftp://127.0.0.1/mcp', '--', 'sleep', '60'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mcp-url must be an http: or https: URL/);
    const contradiction = await cli(['run', '--transport', 'sse', '--', 'sleep', '60'], env);
    expect(contradiction.code).toBe(2);
    expect(contradiction.stderr).toMatch(/transport sse needs an mcp_url/);
    expect(await listJson(tmp.dir)).toEqual([]);
  });

  it('only connect loads the MCP SDK: other commands start without it', async () => {
    await using tmp = await tempRegistryDir();
    const trace = join(tmp.dir, 'trace.txt');
    await writeFile(trace, '');
    const traced = (args: string[]) =>
      new Promise<Finished>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', join(FIXTURES, 'trace-mcp-sdk.mjs'), CLI, ...args], {
          env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir, TRACE_FILE: trace },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
        child.stdin.end();
      });
    expect((await traced(['list', '--records'])).code).toBe(0);
    expect((await traced(['preferred'])).code).toBe(3);
    expect(await readFile(trace, 'utf8')).toBe('');
    // The control: connect to an HTTP instance does load it (and then fails to reach the closed port).
    const closedPort = await freePort();
    await writeFile(join(tmp.dir, 'marcus_h.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_h', mcp_url: `http://127.0.0.1:${closedPort}/mcp` })), { mode: 0o600 });
    const connected = await traced(['connect']);
    expect(connected.code, connected.stderr).toBe(0);
    expect(await readFile(trace, 'utf8')).not.toBe('');
  });
});
