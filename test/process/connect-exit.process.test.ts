import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, isAlive, tempRegistryDir, waitFor } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

/**
 * An MCP client (Claude Desktop) must always be able to end `connect`: by
 * closing its stdin or by a signal, in every phase of a failover (ADR 0029).
 * Each test puts connect in one phase, on a condition it can see (a file the
 * child writes, a line on stderr), then ends it.
 */
const CHILD = join(FIXTURES, 'restart-phases-child.mjs');
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

const spawned: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
afterEach(() => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
});

/** The pids the child fixture wrote to `state`/starts, one per start. */
function starts(state: string): number[] {
  const file = join(state, 'starts');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

/** Registers the fixture child (its state in `state`, later starts behaving as `later`) under project `project`. */
async function registerChild(dir: string, id: string, project: string, state: string, later: 'mute' | 'crash' | 'deaf'): Promise<void> {
  await mkdir(state, { recursive: true });
  const record = makeRecord({ instance_id: id, project_name: project, mcp_args: [process.execPath, CHILD, state, later], working_directory: dir });
  await writeFile(join(dir, `${id}.json`), JSON.stringify(record), { mode: 0o600 });
}

/** `connect ARGS` with the client's initialize (and initialized) written; stderr collected; `ended`: exited, with both streams read. */
function startConnect(dir: string, args: readonly string[], { initialize = true } = {}) {
  const connect = spawn(process.execPath, [CLI, 'connect', ...args], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.push(connect);
  let stderr = '';
  connect.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  connect.stdout.resume();
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => connect.on('close', (code, signal) => resolve({ code, signal })));
  if (initialize) connect.stdin.write(`${JSON.stringify(INITIALIZE)}\n${JSON.stringify(INITIALIZED)}\n`);
  return { connect, ended, stderr: () => stderr };
}

/** Resolves with how connect ended; fails (with its stderr) when it does not end within the hang guard. */
async function endOf(run: ReturnType<typeof startConnect>, timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void run.ended.then((r) => (result = r));
  await waitFor(() => result !== undefined, { timeoutMs, message: () => `connect did not exit; stderr:\n${run.stderr()}` });
  return result as { code: number | null; signal: NodeJS.Signals | null };
}

/** Died of SIGTERM, or exited 128 + 15 (as `run` and a shell report it). */
const TERMINATED = [
  { code: null, signal: 'SIGTERM' },
  { code: 143, signal: null },
];

describe('marcus-registry connect: a restarted child that is gone before connect knows it', () => {
  it('a write to a child that closed its input (EPIPE) fails the switch instead of waiting forever: the crash loop ends with exit 1', async () => {
    await using tmp = await tempRegistryDir();
    const state = join(tmp.dir, 'state');
    await registerChild(tmp.dir, 'marcus_phases', 'P', state, 'deaf');
    const run = startConnect(tmp.dir, ['--project', 'P']);
    // Each restarted child answers the replayed initialize, but the initialized that follows cannot reach it.
    expect(await endOf(run, 60_000)).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toMatch(/no instance left to fail over to \(project "P"\) \[CONNECTION_FAILED\]/);
    expect(starts(state).length).toBeGreaterThan(2);
  }, 180_000);
});

describe('marcus-registry connect: the client can always end it (ADR 0029)', () => {
  it('SIGTERM while a restarted child has not answered the replayed initialize: the child is stopped, nothing is restarted, connect ends by the signal', async () => {
    await using tmp = await tempRegistryDir();
    const state = join(tmp.dir, 'state');
    await registerChild(tmp.dir, 'marcus_phases', 'P', state, 'mute');
    const run = startConnect(tmp.dir, ['--project', 'P']);
    // The first start served and crashed; the second got the replayed initialize and holds it.
    await waitFor(() => existsSync(join(state, 'asked-2')), { message: run.stderr });
    run.connect.kill('SIGTERM');
    expect(TERMINATED).toContainEqual(await endOf(run));
    expect(starts(state)).toHaveLength(2);
    await waitFor(() => starts(state).every((pid) => !isAlive(pid)), { message: run.stderr });
  });

  it('stdin ends while a restarted child has not answered the replayed initialize: the child is stopped, nothing is restarted, connect exits 0', async () => {
    await using tmp = await tempRegistryDir();
    const state = join(tmp.dir, 'state');
    await registerChild(tmp.dir, 'marcus_phases', 'P', state, 'mute');
    const run = startConnect(tmp.dir, ['--project', 'P']);
    await waitFor(() => existsSync(join(state, 'asked-2')), { message: run.stderr });
    run.connect.stdin.end();
    expect(await endOf(run)).toEqual({ code: 0, signal: null });
    expect(starts(state)).toHaveLength(2);
    await waitFor(() => starts(state).every((pid) => !isAlive(pid)), { message: run.stderr });
  });

  it('SIGTERM while waiting (--wait) for an instance after a crash loop: connect ends by the signal', async () => {
    await using tmp = await tempRegistryDir();
    await registerChild(tmp.dir, 'marcus_phases', 'P', join(tmp.dir, 'state'), 'crash');
    const run = startConnect(tmp.dir, ['--project', 'P', '--wait', '600', '--debug']);
    await waitFor(() => /no instance to connect to yet; waiting up to/.test(run.stderr()), { timeoutMs: 60_000, message: run.stderr });
    run.connect.kill('SIGTERM');
    expect(TERMINATED).toContainEqual(await endOf(run));
  });

  it('stdin ends while waiting (--wait) for an instance after a crash loop: connect exits 0 and opens nothing more', async () => {
    await using tmp = await tempRegistryDir();
    await registerChild(tmp.dir, 'marcus_phases', 'P', join(tmp.dir, 'state'), 'crash');
    const run = startConnect(tmp.dir, ['--project', 'P', '--wait', '600', '--debug']);
    await waitFor(() => /no instance to connect to yet; waiting up to/.test(run.stderr()), { timeoutMs: 60_000, message: run.stderr });
    run.connect.stdin.end();
    // An instance that comes now finds no client to serve.
    const later = join(tmp.dir, 'later');
    await registerChild(tmp.dir, 'marcus_later', 'P', later, 'crash');
    expect(await endOf(run)).toEqual({ code: 0, signal: null });
    expect(starts(later)).toEqual([]);
  });

  it('stdin ends while waiting (--wait) for the first instance: connect exits at once (no instance: 3)', async () => {
    await using tmp = await tempRegistryDir();
    const run = startConnect(tmp.dir, ['--project', 'nothing-here', '--wait', '600', '--debug'], { initialize: false });
    await waitFor(() => /no instance to connect to yet; waiting up to/.test(run.stderr()), { message: run.stderr });
    run.connect.stdin.end();
    expect(await endOf(run)).toEqual({ code: 3, signal: null });
    expect(run.stderr()).toMatch(/stdin ended/);
  });
});
