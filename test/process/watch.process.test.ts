import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryEvent } from '../../src/domain/changes.js';
import { startEtcd, type EtcdContainer } from '../support/etcd-container.js';
import { CLI, Child, cli, tempRegistryDir, waitFor } from '../support/processes.js';

/**
 * The "done when": `marcus-registry watch --json` in one process sees
 * a short-lived `marcus-registry run` in another as an added event, then a removed
 * one, on each store that processes share; and it exits 0 on SIGINT/SIGTERM. (The
 * issue said `run -- sleep 2`; the child here leaves once the watch has seen it.)
 */
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

function watcher(store: string, ...args: string[]): Child {
  const child = new Child(process.execPath, [CLI, '--store', store, 'watch', ...args]);
  children.push(child);
  return child;
}

function events(child: Child): RegistryEvent[] {
  return child.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RegistryEvent);
}

async function waitForEvent(child: Child, match: (e: RegistryEvent) => boolean, what: string): Promise<RegistryEvent> {
  let found: RegistryEvent | undefined;
  await waitFor(() => (found = events(child).find(match)) !== undefined, {
    timeoutMs: 30_000,
    message: () => `${what}; stdout: ${child.output} stderr: ${child.stderrText}`,
  });
  return found as RegistryEvent;
}

async function stopCleanly(child: Child, signal: NodeJS.Signals): Promise<void> {
  child.kill(signal);
  const exit = await child.exited;
  expect(exit, `stderr: ${child.stderrText}`).toEqual({ code: 0, signal: null });
  expect(child.stderrText).not.toMatch(/Error|at .*\.js:\d+/);
}

/**
 * A command for `run` that ends (exit 0) once `release` exists, or once its
 * directory is gone (a failed test leaves no loop behind). Not a `sleep N`: a
 * watcher still starting on a loaded machine would miss an instance that came
 * and went within N seconds, and never report it added.
 */
function untilReleased(release: string): string[] {
  const dir = release.slice(0, release.lastIndexOf('/'));
  return ['sh', '-c', `while [ ! -e '${release}' ] && [ -d '${dir}' ]; do sleep 0.02; done`];
}

async function addedThenRemoved(store: string): Promise<void> {
  await using gate = await tempRegistryDir();
  const release = join(gate.dir, 'release');
  const watch = watcher(store, '--json', '--sweep', '200');
  const id = `marcus_run_${randomUUID().slice(0, 8)}`;
  const running = cli(['--store', store, 'run', '--instance-id', id, '--project', 'alpha', '--heartbeat', '2000', '--', ...untilReleased(release)]);
  const added = await waitForEvent(watch, (e) => e.type === 'added' && e.record.instance_id === id, `an added event for ${id}`);
  expect(added).toMatchObject({ type: 'added', health: 'healthy', record: { instance_id: id, project_name: 'alpha' } });
  await writeFile(release, '');
  const run = await running;
  expect(run.code, run.stderr).toBe(0);
  const removed = await waitForEvent(watch, (e) => e.type === 'removed' && e.record.instance_id === id, `a removed event for ${id}`);
  // `run` unregisters once sleep has exited normally: a clean stop, not a crash, though the process is gone too.
  expect((removed as Extract<RegistryEvent, { type: 'removed' }>).reason).toBe('unregistered');
  const order = events(watch).filter((e) => e.record.instance_id === id).map((e) => e.type);
  expect(order[0]).toBe('added');
  expect(order.at(-1)).toBe('removed');
  expect(order.filter((t) => t === 'added')).toHaveLength(1);
  await stopCleanly(watch, 'SIGINT');
}

describe('marcus-registry watch (separate processes)', () => {
  let etcd: EtcdContainer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('json store: a short-lived run shows as added, then removed', async () => {
    await using tmp = await tempRegistryDir();
    await addedThenRemoved(`json:${tmp.dir}`);
  });

  it('sqlite store: a short-lived run shows as added, then removed', async () => {
    await using tmp = await tempRegistryDir();
    await addedThenRemoved(`sqlite:${join(tmp.dir, 'registry.db')}`);
  });

  it('etcd store: a short-lived run shows as added, then removed', async () => {
    await addedThenRemoved(`etcd://${etcd.hosts}/marcus-test/${randomUUID()}/`);
  });

  it('prints one readable line per event, filters, and exits 0 on SIGTERM', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    await using gate = await tempRegistryDir();
    const release = join(gate.dir, 'release');
    const watch = watcher(store, '--project', 'alpha', '--sweep', '200');
    const other = cli(['--store', store, 'run', '--instance-id', 'marcus_beta', '--project', 'beta', '--', ...untilReleased(release)]);
    const run = cli(['--store', store, 'run', '--instance-id', 'marcus_alpha', '--project', 'alpha', '--', ...untilReleased(release)]);
    await watch.line(/^\+ marcus_alpha pid \d+ project alpha healthy$/m);
    // beta is registered too before either leaves: the watch has seen it, and filtered it out.
    await waitFor(async () => (await cli(['--store', store, 'show', 'marcus_beta'])).code === 0);
    await writeFile(release, '');
    expect([(await other).code, (await run).code]).toEqual([0, 0]);
    await watch.line(/^- marcus_alpha pid \d+ project alpha \(unregistered\)$/m);
    expect(watch.output).not.toContain('marcus_beta');
    await stopCleanly(watch, 'SIGTERM');
  });

  it('fails with a typed error and exit 1 when the store cannot be listed at all', async () => {
    const watch = watcher('etcd://127.0.0.1:1/nothing/');
    const exit = await watch.closed; // its stderr read to the end
    expect(exit.code).toBe(1);
    expect(watch.stderrText).toMatch(/\[STORE_UNAVAILABLE\]/);
  });
});
