import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, cli, isAlive, tempRegistryDir, waitFor } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

function runInBackground(dir: string, args: readonly string[]): Child {
  const child = new Child(process.execPath, [CLI, '--store', `json:${dir}`, 'run', ...args]);
  children.push(child);
  return child;
}

async function listJson(dir: string, ...args: string[]): Promise<Array<Record<string, unknown>>> {
  const result = await cli(['list', '--records', ...args], { MARCUS_REGISTRY_DIR: dir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

/** The pid of the `sleep` a `run` started: the only child of the run process. */
async function waitForEntry(dir: string): Promise<Record<string, unknown>> {
  let entry: Record<string, unknown> | undefined;
  await waitFor(async () => {
    [entry] = await listJson(dir);
    return entry !== undefined;
  });
  return entry as Record<string, unknown>;
}

describe('marcus-registry CLI', () => {
  it('lists an empty registry as [] and exits 0', async () => {
    await using tmp = await tempRegistryDir();
    expect(await listJson(tmp.dir)).toEqual([]);
    const table = await cli(['list'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/No Marcus instances are registered/);
    const filtered = await cli(['list', '--project', 'nope'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(filtered.stdout).toMatch(/No Marcus instance matches these filters/);
    const debug = await cli(['list', '--debug'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(debug.stderr).toMatch(/debug: discovery on json .*: 0 entries, 0 live/);
    const typo = await cli(['--store', 'bogus', 'list']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/\[INVALID_STORE_URI\]/);
  });

  it('run registers the child (its pid, not its own), and SIGKILL of the child removes it at the next list', async () => {
    await using tmp = await tempRegistryDir();
    const run = runInBackground(tmp.dir, ['--project', 'alpha', '--provider', 'github', '--capability', 'kanban', '--capability', 'agents', '--', 'sleep', '30']);
    const entry = await waitForEntry(tmp.dir);
    const sleepPid = entry['pid'] as number;
    expect(sleepPid).not.toBe(run.pid);
    expect(entry).toMatchObject({
      instance_id: `marcus_${sleepPid}`,
      mcp_command: 'sleep 30',
      mcp_args: ['sleep', '30'],
      project_name: 'alpha',
      provider: 'github',
      capabilities: ['kanban', 'agents'],
      status: 'running',
      schema_version: 1,
      runtime: 'node',
    });
    expect(typeof entry['process_start_time']).toBe('string');
    const file = join(tmp.dir, `marcus_${sleepPid}.json`);
    expect(existsSync(file)).toBe(true);

    process.kill(sleepPid, 'SIGKILL');
    // `run` sees its child die and exits as it did.
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await listJson(tmp.dir)).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  it('a SIGKILLed run leaves a live child registered; when the child dies, the next list drops it', async () => {
    await using tmp = await tempRegistryDir();
    const run = runInBackground(tmp.dir, ['--', 'sleep', '30']);
    const entry = await waitForEntry(tmp.dir);
    const sleepPid = entry['pid'] as number;
    run.kill('SIGKILL');
    await run.exited;
    expect((await listJson(tmp.dir)).map((e) => e['pid'])).toEqual([sleepPid]);
    process.kill(sleepPid, 'SIGKILL');
    await waitFor(() => !isAlive(sleepPid));
    expect(await listJson(tmp.dir)).toEqual([]);
    expect(existsSync(join(tmp.dir, `marcus_${sleepPid}.json`))).toBe(false);
  });

  it('run exits with the child’s exit code and unregisters', async () => {
    await using tmp = await tempRegistryDir();
    // The child exits once it is registered (a child gone before registration ends is never listed, and leaves no note).
    const entry = join(tmp.dir, 'marcus_short.json');
    const child = `while [ ! -e '${entry}' ]; do sleep 0.02; done; exit 7`;
    const result = await cli(['run', '--instance-id', 'marcus_short', '--', 'sh', '-c', child], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(result.code).toBe(7);
    // Only the note of the clean stop is left, in .departed/ (no entry a reader would list).
    expect(await readdir(tmp.dir)).toEqual(['.departed']);
    expect(await readdir(join(tmp.dir, '.departed'))).toEqual(['marcus_short.json']);
  });

  it('run forwards SIGTERM to the child and unregisters it', async () => {
    await using tmp = await tempRegistryDir();
    await using gate = await tempRegistryDir();
    const marker = join(gate.dir, 'got-term');
    // The child says when its trap is set: registered is not yet ready (a SIGTERM before the trap would kill sh).
    const ready = join(gate.dir, 'trap-set');
    const run = runInBackground(tmp.dir, ['--instance-id', 'marcus_term', '--', 'sh', '-c', `trap 'touch ${marker}; exit 0' TERM; touch ${ready}; while :; do sleep 0.05; done`]);
    await waitForEntry(tmp.dir);
    await waitFor(() => existsSync(ready), { message: () => `the child never set its trap: ${run.stderrText}` });
    run.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(marker)).toBe(true);
    expect(existsSync(join(tmp.dir, 'marcus_term.json'))).toBe(false);
  });

  it('run of a missing command exits 127 with a message and registers nothing', async () => {
    await using tmp = await tempRegistryDir();
    const result = await cli(['run', '--', 'no-such-command-xyz'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/cannot start no-such-command-xyz/);
    expect(await readdir(tmp.dir)).toEqual([]);
  });

  it('preferred and show exit 3 when there is nothing; preferred picks the pinned, then the newest', async () => {
    await using tmp = await tempRegistryDir();
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    expect((await cli(['preferred'], env)).code).toBe(3);
    expect((await cli(['show', 'marcus_1'], env)).code).toBe(3);
    const old = makeRecord({ instance_id: 'marcus_old', started_at: '2026-01-01T00:00:00.000000+00:00' });
    const young = makeRecord({ instance_id: 'marcus_young', started_at: '2026-06-01T00:00:00.000000+00:00' });
    await writeFile(join(tmp.dir, 'marcus_old.json'), JSON.stringify(old, null, 2), { mode: 0o600 });
    await writeFile(join(tmp.dir, 'marcus_young.json'), JSON.stringify(young, null, 2), { mode: 0o600 });
    const preferred = await cli(['preferred', '--records'], env);
    expect(preferred.code).toBe(0);
    expect(JSON.parse(preferred.stdout).instance_id).toBe('marcus_young');
    const pinned = await cli(['preferred', '--records', '--instance', 'marcus_old'], env);
    expect(JSON.parse(pinned.stdout).instance_id).toBe('marcus_old');
    expect((await cli(['preferred', '--instance', 'marcus_absent'], env)).code).toBe(3);
    const pinnedByEnv = await cli(['preferred', '--records'], { ...env, MARCUS_INSTANCE_ID: 'marcus_old' });
    expect(JSON.parse(pinnedByEnv.stdout).instance_id).toBe('marcus_old');
    const shown = await cli(['show', 'marcus_old', '--records'], env);
    expect(JSON.parse(shown.stdout)).toEqual(old);
    const listed = await listJson(tmp.dir);
    expect(listed.map((r) => r['instance_id'])).toEqual(['marcus_old', 'marcus_young']);
    expect((await listJson(tmp.dir, '--project', 'nope'))).toEqual([]);
  });

  it('prune removes dead entries and says which', async () => {
    await using tmp = await tempRegistryDir();
    const dead = new Child('true', []);
    await dead.exited;
    const record = makeRecord({ instance_id: `marcus_${dead.pid}`, pid: dead.pid });
    await writeFile(join(tmp.dir, `marcus_${dead.pid}.json`), JSON.stringify(record, null, 2), { mode: 0o600 });
    const listedAll = await cli(['list', '--all', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(JSON.parse(listedAll.stdout).map((r: { pid: number }) => r.pid)).toEqual([dead.pid]);
    const result = await cli(['prune', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).removed).toEqual([{ instance_id: `marcus_${dead.pid}`, pid: dead.pid, reason: 'process-exited', detail: `pid ${dead.pid} is not running` }]);
    expect(await readdir(tmp.dir)).toEqual([]);
  });

  it('reports usage errors with exit 2 and store errors with exit 1 and a code', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['list', '--no-such-flag'])).code).toBe(2);
    expect((await cli(['run'])).code).toBe(2);
    const badStore = await cli(['--store', 'nosuch:x', 'list']);
    expect(badStore.code).toBe(1);
    expect(badStore.stderr).toMatch(/\[INVALID_STORE_URI\]/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: marcus-registry/);
  });
});
