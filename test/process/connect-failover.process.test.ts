import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, FIXTURES, tempRegistryDir, waitFor } from '../support/processes.js';
import { makeRecord } from '../support/records.js';
import { HTTP_SERVER, STDIO_SERVER, Started, connectClient, freePort, httpInstance, retryOnce, runRegistered, untilGone, whoami } from '../support/mcp-instances.js';

const started = new Started();
afterEach(() => started.stop());

/** Lines of connect's stderr that report a switch. */
const switches = (stderr: string) => stderr.split('\n').filter((line) => /went away .*; switched to /.test(line));

describe('marcus-registry connect: failover and re-initialization (ADR 0023)', () => {
  it('when the bridged instance is SIGKILLed, the next call succeeds on the other instance and the client is told tools/list_changed', async () => {
    await using tmp = await tempRegistryDir();
    const older = await httpInstance(started, tmp.dir, 'older', 'F');
    const newer = await httpInstance(started, tmp.dir, 'newer', 'F');
    const { client, stderr, counts } = await connectClient(started, tmp.dir, ['--project', 'F']);
    expect(await whoami(client)).toMatchObject({ name: 'newer', pid: newer.pid });

    process.kill(newer.pid, 'SIGKILL');
    const after = await retryOnce(() => whoami(client));
    expect(after).toMatchObject({ name: 'older', pid: older.pid });
    await waitFor(() => counts.toolsListChanged === 1, { message: stderr });
    // The session goes on: tools are listed and called on the new instance.
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    expect(switches(stderr())).toHaveLength(1);
    expect(switches(stderr())[0]).toMatch(new RegExp(`${String(newer.record['instance_id'])}.* went away .*; switched to ${String(older.record['instance_id'])}: ${older.url}`));
  });

  it('a pinned instance restarted under the same id is reconnected with a fresh session', async () => {
    await using tmp = await tempRegistryDir();
    const first = await httpInstance(started, tmp.dir, 'first', 'R', ['--instance-id', 'marcus_same']);
    const { client, stderr, counts } = await connectClient(started, tmp.dir, ['--instance', 'marcus_same', '--wait', '60']);
    expect(await whoami(client)).toMatchObject({ name: 'first', pid: first.pid });

    process.kill(first.pid, 'SIGKILL');
    await first.run.exited;
    const second = await httpInstance(started, tmp.dir, 'second', 'R', ['--instance-id', 'marcus_same']);
    // The new server knows no session of the old one: a call succeeds only over a session initialized anew.
    expect(await retryOnce(() => whoami(client))).toMatchObject({ name: 'second', pid: second.pid });
    await waitFor(() => counts.toolsListChanged === 1, { message: stderr });
    expect(switches(stderr())).toHaveLength(1);
  });

  it('a server restarted at the same URL under an unchanged record (our session unknown to it) is reached again with a fresh session', async () => {
    await using tmp = await tempRegistryDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/mcp`;
    const serve = async (name: string) => {
      const server = new Child(process.execPath, [HTTP_SERVER, String(port), name]);
      started.children.push(server);
      await server.line(/listening \d+/);
      return server;
    };
    // A record whose process (this test runner) lives on while its server restarts: the registry sees no change.
    await writeFile(join(tmp.dir, 'marcus_same_url.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_same_url', project_name: 'U', mcp_url: url, transport: 'streamable-http' })), { mode: 0o600 });
    const first = await serve('before');
    const { client, stderr, counts } = await connectClient(started, tmp.dir, ['--project', 'U', '--wait', '30']);
    expect(await whoami(client)).toMatchObject({ name: 'before', pid: first.pid });

    first.kill('SIGKILL');
    await first.exited;
    const second = await serve('after');
    expect(await retryOnce(() => whoami(client))).toMatchObject({ name: 'after', pid: second.pid });
    await waitFor(() => counts.toolsListChanged === 1, { message: stderr });
    expect(switches(stderr())).toHaveLength(1);
  });

  it('restarts a stdio child that exits unexpectedly, and the session goes on', async () => {
    await using tmp = await tempRegistryDir();
    await runRegistered(started, tmp.dir, ['--project', 'C', '--', process.execPath, STDIO_SERVER, 'child']);
    const { client, stderr, counts } = await connectClient(started, tmp.dir, ['--project', 'C']);
    const before = await whoami(client);
    expect(before).toMatchObject({ name: 'child', transport: 'stdio' });

    process.kill(before.pid, 'SIGKILL');
    const after = await retryOnce(() => whoami(client));
    expect(after.name).toBe('child');
    expect(after.pid).not.toBe(before.pid);
    await waitFor(() => counts.toolsListChanged === 1, { message: stderr });
    expect(switches(stderr())[0]).toMatch(/went away \(it exited on SIGKILL\)/);
  });

  it('when nothing is left: the request in flight gets a JSON-RPC error, stderr says so, exit 1 after --wait; held requests are refused, stdout pure JSON-RPC', async () => {
    await using tmp = await tempRegistryDir();
    // An asking- server: its ask-roots tool waits for the client's answer, so a call to it is in flight for sure.
    const only = await httpInstance(started, tmp.dir, 'asking-only', 'N');
    const connect = spawn(process.execPath, [CLI, 'connect', '--project', 'N', '--wait', '3'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    connect.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close': exited, and stdout and stderr read to the end (the last answers and messages are asserted on).
    const exited = new Promise<number | null>((resolve) => connect.on('close', (code) => resolve(code)));
    const write = (message: unknown) => connect.stdin.write(`${JSON.stringify(message)}\n`);
    const messages = () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'raw', version: '1' } } });
    write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    write({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'one' } } });
    await waitFor(() => messages().some((m) => m['id'] === 2), { message: () => stderr });

    // The call is at the server (it asks the client for its roots, unanswered) before the server goes: a request
    // written only after the SIGKILL raced connect's own watch of the registry, which may have seen it go first.
    write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'ask-roots', arguments: {} } });
    await waitFor(() => messages().some((m) => m['method'] === 'roots/list'), { message: () => stdout + stderr });
    process.kill(only.pid, 'SIGKILL');
    await untilGone(only.pid);
    // In flight when the instance went: a retryable error.
    await waitFor(() => messages().some((m) => m['id'] === 3), { message: () => stderr });
    const retryable = messages().find((m) => m['id'] === 3);
    expect(retryable).toMatchObject({ error: { code: -32000, data: { retryable: true } } });
    expect(String((retryable?.['error'] as { message: string }).message)).toMatch(/retry the request \[CONNECTION_FAILED\]/);
    // Sent while connect waits for another instance (--wait 3): held, then refused when none came.
    write({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { text: 'three' } } });
    expect(await exited).toBe(1);
    const answer = messages().find((m) => m['id'] === 4);
    expect(answer).toMatchObject({ error: { code: -32000 } });
    expect(String((answer?.['error'] as { message: string }).message)).toMatch(/no instance left to fail over to \[CONNECTION_FAILED\]/);
    expect(stderr).toMatch(/no instance left to fail over to \(project "N"\) after waiting 3 s \[CONNECTION_FAILED\]/);
    for (const message of messages()) expect(message['jsonrpc']).toBe('2.0');
  });
});

describe('marcus-registry connect: transport fallback', () => {
  it('reaches an SSE-only server through a record without transport, and remembers the choice when it reconnects', async () => {
    await using tmp = await tempRegistryDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/sse`;
    /** An SSE-only SDK server, registered by a record that declares no transport. */
    const serve = async (name: string) => {
      const server = new Child(process.execPath, [HTTP_SERVER, String(port), name, '--sse']);
      started.children.push(server);
      await server.line(/listening \d+/);
      const record = makeRecord({ instance_id: 'marcus_sse', project_name: 'S', pid: server.pid, mcp_url: url, working_directory: FIXTURES });
      expect(record).not.toHaveProperty('transport');
      await writeFile(join(tmp.dir, 'marcus_sse.json'), JSON.stringify(record), { mode: 0o600 });
      return server;
    };
    const first = await serve('sse-one');
    const { client, stderr } = await connectClient(started, tmp.dir, ['--instance', 'marcus_sse', '--wait', '60']);
    expect(await whoami(client)).toMatchObject({ name: 'sse-one', transport: 'sse' });
    expect(stderr()).toMatch(/refused Streamable HTTP \(HTTP 4\d\d\); trying the HTTP\+SSE transport/);

    first.kill('SIGKILL');
    await first.exited;
    await serve('sse-two');
    expect(await retryOnce(() => whoami(client))).toMatchObject({ name: 'sse-two', transport: 'sse' });
    // Reconnected straight over SSE: Streamable HTTP was not tried again.
    expect(stderr().match(/refused Streamable HTTP/g)).toHaveLength(1);
  });
});

describe('marcus-registry connect: requests of the old server', () => {
  it('a request the old server sent to the client is cancelled when connect switches, and a late answer to it is dropped', async () => {
    await using tmp = await tempRegistryDir();
    await httpInstance(started, tmp.dir, 'other', 'Q');
    const asking = await httpInstance(started, tmp.dir, 'asking', 'Q');
    const connect = spawn(process.execPath, [CLI, 'connect', '--project', 'Q'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    connect.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close': exited, and stdout and stderr read to the end (the last answers and messages are asserted on).
    const exited = new Promise<number | null>((resolve) => connect.on('close', (code) => resolve(code)));
    const write = (message: unknown) => connect.stdin.write(`${JSON.stringify(message)}\n`);
    const messages = () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'raw', version: '1' } } });
    write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    write({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ask-roots', arguments: {} } });
    // The server asks the client; the client does not answer yet.
    await waitFor(() => messages().some((m) => m['method'] === 'roots/list'), { message: () => stdout + stderr });
    const asked = messages().find((m) => m['method'] === 'roots/list') as Record<string, unknown>;

    process.kill(asking.pid, 'SIGKILL');
    await waitFor(() => messages().some((m) => m['method'] === 'notifications/cancelled'), { message: () => stderr });
    expect(messages().find((m) => m['method'] === 'notifications/cancelled')).toMatchObject({ params: { requestId: asked['id'] } });
    // The tool call that was waiting for it failed, retryably; the client is told to refresh.
    await waitFor(() => messages().some((m) => m['id'] === 2) && messages().some((m) => m['method'] === 'notifications/tools/list_changed'), { message: () => stderr });
    expect(messages().find((m) => m['id'] === 2)).toMatchObject({ error: { code: -32000, data: { retryable: true } } });
    // A late answer to the cancelled request goes nowhere; the session goes on with the other instance.
    write({ jsonrpc: '2.0', id: asked['id'], result: { roots: [] } });
    write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    await waitFor(() => messages().some((m) => m['id'] === 3), { message: () => stderr });
    const answer = messages().find((m) => m['id'] === 3) as { result: { content: Array<{ text: string }> } };
    expect(JSON.parse(answer.result.content[0]?.text ?? 'null')).toMatchObject({ name: 'other' });
    connect.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe('marcus-registry connect: children started from an argv', () => {
  /** A stdio "server" that answers initialize, then exits 1: a crash loop after serving. */
  const CRASHER = [
    "const rl = require('node:readline').createInterface({ input: process.stdin });",
    "rl.on('line', (line) => { const m = JSON.parse(line);",
    "  if (m.method === 'initialize') { process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'crasher', version: '1' } } }) + '\\n'); setTimeout(() => process.exit(1), 50); } });",
  ].join('\n');

  it('a child that keeps crashing after it served is restarted with bounded back-off, then connect gives up: exit 1', async () => {
    await using tmp = await tempRegistryDir();
    await writeFile(join(tmp.dir, 'marcus_crash.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_crash', project_name: 'K', mcp_args: [process.execPath, '-e', CRASHER], working_directory: tmp.dir })), { mode: 0o600 });
    // --debug: a restart that fails to take over is said too (see below).
    const connect = spawn(process.execPath, [CLI, 'connect', '--project', 'K', '--debug'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    connect.stdout.resume();
    // 'close': exited, and stdout and stderr read to the end (the last answers and messages are asserted on).
    const exited = new Promise<number | null>((resolve) => connect.on('close', (code) => resolve(code)));
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`);
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    expect(await exited).toBe(1);
    // Restarted 5 times (0.25 + 0.5 + 1 + 2 + 4 s apart), then no instance was left. A restart is a switch, or,
    // when connect (loaded) writes to the restarted child after it crashed but before it saw it exit (EPIPE),
    // a child that failed to take over (ADR 0029).
    const failedTakeovers = stderr.split('\n').filter((line) => / failed to take over: /.test(line));
    expect(switches(stderr).length + failedTakeovers.length).toBe(5);
    expect(switches(stderr).length).toBeGreaterThan(0);
    expect(stderr).toMatch(/no instance left to fail over to \(project "K"\) \[CONNECTION_FAILED\]/);
  });

  it('a signal is forwarded to the child, and connect dies of it as the child did (no restart)', async () => {
    await using tmp = await tempRegistryDir();
    await runRegistered(started, tmp.dir, ['--project', 'G', '--', process.execPath, STDIO_SERVER, 'signalled']);
    const connect = spawn(process.execPath, [CLI, 'connect', '--project', 'G'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    connect.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => connect.on('exit', (code, signal) => resolve({ code, signal })));
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`);
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } })}\n`);
    await waitFor(() => stdout.includes('"id":2'), { message: () => stderr });
    const answer = stdout.split('\n').map((l) => (l === '' ? undefined : (JSON.parse(l) as { id?: number; result?: { content: Array<{ text: string }> } }))).find((m) => m?.id === 2);
    const child = JSON.parse(answer?.result?.content[0]?.text ?? 'null') as { pid: number };
    connect.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    await untilGone(child.pid);
    expect(switches(stderr)).toEqual([]);
  });
});

describe('marcus-registry connect: a server that refuses initialize', () => {
  it('an HTTP 4xx to initialize is the answer (a JSON-RPC error), not a failover; what the client sent next is not held forever', async () => {
    await using tmp = await tempRegistryDir();
    const port = await freePort();
    // An SSE-only server registered as Streamable HTTP: its POST to the URL is answered 404.
    const server = new Child(process.execPath, [HTTP_SERVER, String(port), 'sse-only', '--sse']);
    started.children.push(server);
    await server.line(/listening \d+/);
    await writeFile(join(tmp.dir, 'marcus_wrong.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_wrong', project_name: 'W', mcp_url: `http://127.0.0.1:${port}/sse`, transport: 'streamable-http' })), { mode: 0o600 });
    const connect = spawn(process.execPath, [CLI, 'connect', '--project', 'W'], { env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    connect.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close': exited, and stdout and stderr read to the end (the last answers and messages are asserted on).
    const exited = new Promise<number | null>((resolve) => connect.on('close', (code) => resolve(code)));
    const messages = () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`);
    connect.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
    await waitFor(() => messages().some((m) => m['id'] === 2), { message: () => stdout + stderr });
    expect(messages().find((m) => m['id'] === 1)).toMatchObject({ error: { code: -32000 } });
    expect(String((messages().find((m) => m['id'] === 1)?.['error'] as { message: string }).message)).toMatch(/HTTP|404|POSTing/);
    expect(messages().find((m) => m['id'] === 2)).toHaveProperty('error');
    expect(switches(stderr)).toEqual([]);
    connect.stdin.end();
    expect(await exited).toBe(0);
  });
});
