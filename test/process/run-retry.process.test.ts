import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { startEtcd } from '../support/etcd-container.js';
import { Child, CLI, cli, tempRegistryDir, waitFor } from '../support/processes.js';

/**
 * Issue 14 (4): `marcus-registry run` used to start the child unregistered
 * and never try again when registering failed, and it took bad input for a
 * store failure. Now bad input exits 2 before anything starts, with the code
 * in brackets; a store failure is retried with back-off for the child's whole
 * life, each failure and the success reported on stderr.
 */

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

/** A child that lives until its stdin ends. */
const LIVE_UNTIL_STDIN_ENDS = "process.stdin.resume(); process.stdin.on('end', () => process.exit(0));";

function run(store: string, extra: readonly string[] = []): Child {
  const child = new Child(process.execPath, [CLI, 'run', '--store', store, ...extra, '--heartbeat', '300', '--', process.execPath, '-e', LIVE_UNTIL_STDIN_ENDS]);
  children.push(child);
  return child;
}

/** The pid of the instance registered under `id`, as a new reader sees it. */
async function registeredPid(store: string, id: string): Promise<number | undefined> {
  try {
    await using reader = await createRegistry({ store, exitHooks: new ExitHooks() });
    return (await reader.get(id))?.record.pid;
  } catch {
    return undefined;
  }
}

describe('marcus-registry run: bad input', () => {
  it.each([
    ['a/b', /--instance-id: invalid instance id "a\/b": must match \^\[A-Za-z0-9\]\[A-Za-z0-9\._-\]\{0,127\}\$ \[INVALID_INSTANCE_ID\]/],
    ['', /--instance-id: invalid instance id "": must match .* \[INVALID_INSTANCE_ID\]/],
  ])('--instance-id %j exits 2 before anything starts, saying why with [INVALID_INSTANCE_ID]', async (id, message) => {
    await using tmp = await tempRegistryDir();
    const marker = join(tmp.dir, 'child-ran');
    const result = await cli(['run', '--store', `json:${tmp.dir}`, '--instance-id', id, '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\.\./);
    expect(existsSync(marker), 'the child must not have started').toBe(false);
  });
});

describe('marcus-registry run: a store failure is retried for the child’s whole life', () => {
  it('JSON: the registry path is blocked by a file, then freed: run registers the running child, says so, and unregisters at its end', async () => {
    await using tmp = await tempRegistryDir();
    const dir = join(tmp.dir, 'services');
    await writeFile(dir, 'not a directory\n'); // the store cannot be used while this is here
    const store = `json:${dir}`;
    const wrapper = run(store, ['--instance-id', 'retried']);
    // The first failure is reported with its code; the child runs meanwhile.
    await waitFor(() => /could not register .*\(attempt 1\): .*\[[A-Z_]+\]; retrying in/.test(wrapper.stderrText), {
      timeoutMs: 20_000,
      message: () => `stderr: ${wrapper.stderrText}`,
    });
    await waitFor(() => /\(attempt 2\)/.test(wrapper.stderrText), { timeoutMs: 20_000, message: () => `stderr: ${wrapper.stderrText}` });
    expect(wrapper.process.exitCode).toBeNull();

    await rm(dir);
    // recursive: a retry may have created the directory itself since the file went.
    await mkdir(dir, { mode: 0o700, recursive: true });
    await waitFor(async () => (await registeredPid(store, 'retried')) !== undefined, {
      timeoutMs: 40_000,
      message: () => `never registered; stderr: ${wrapper.stderrText}`,
    });
    expect(wrapper.stderrText).toMatch(/registered retried \(pid \d+\) at attempt \d+/);
    wrapper.process.stdin?.end();
    expect(await wrapper.exited).toEqual({ code: 0, signal: null });
    expect(await registeredPid(store, 'retried')).toBeUndefined();
  }, 90_000);

  it('etcd: the server starts after run did: run registers the running child once it is up', async () => {
    await using etcd = await startEtcd();
    await etcd.stop();
    const store = `etcd://${etcd.hosts}/retry-test`;
    const wrapper = run(store, ['--instance-id', 'etcd_retried']);
    await waitFor(() => /could not register .*\(attempt 1\): .*\[[A-Z_]+\]/.test(wrapper.stderrText), {
      timeoutMs: 60_000,
      message: () => `stderr: ${wrapper.stderrText}`,
    });
    expect(wrapper.process.exitCode).toBeNull();
    await etcd.start();
    await waitFor(async () => (await registeredPid(store, 'etcd_retried')) !== undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: () => `never registered; stderr: ${wrapper.stderrText}`,
    });
    expect(wrapper.stderrText).toMatch(/registered etcd_retried \(pid \d+\) at attempt \d+/);
    wrapper.process.stdin?.end();
    expect(await wrapper.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
