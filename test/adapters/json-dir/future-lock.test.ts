import { mkdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import { ExitHooks } from '../../../src/app/exit-hooks.js';
import { formatTimestamp } from '../../../src/domain/timestamp.js';
import { makeRecord, plantRecords } from '../../support/records.js';
import { Child, CLI, tempRegistryDir, waitFor } from '../../support/processes.js';

/**
 * Issue 14 (3): a JSON entry lock directory whose mtime lies an hour ahead (a
 * process crashed holding it, then the clock stepped back). proper-lockfile
 * judges staleness by mtime, so it would look held until that hour plus the
 * stale time: the dead entry could not be pruned, and `run --instance-id`
 * gave up registering. A lock from the future beyond a small tolerance is stale.
 */

const HOUR = 3_600_000;
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

async function lockFromTheFuture(dir: string, id: string): Promise<string> {
  const lock = join(dir, `${id}.json.lock`);
  await mkdir(lock);
  const future = new Date(Date.now() + HOUR);
  await utimes(lock, future, future);
  return lock;
}

describe('json-dir: an entry lock whose mtime is in the future', () => {
  it('is stale: discovery removes the dead entry under it instead of reporting LOCK_BUSY', async () => {
    await using tmp = await tempRegistryDir();
    await using registry = await createRegistry({ store: `json:${tmp.dir}`, exitHooks: new ExitHooks() });
    const old = formatTimestamp(Date.now() - HOUR);
    await plantRecords(tmp.dir, makeRecord({ instance_id: 'dead_one', pid: 4_194_303, started_at: old, last_heartbeat: old }));
    const lock = await lockFromTheFuture(tmp.dir, 'dead_one');

    const report = await registry.inspect();
    expect(report.problems).toEqual([]);
    expect(report.removed.map((r) => r.record.instance_id)).toEqual(['dead_one']);
    expect(await registry.get('dead_one')).toBeUndefined();
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not keep `run --instance-id` from registering', async () => {
    await using tmp = await tempRegistryDir();
    await lockFromTheFuture(tmp.dir, 'pinned');
    const script = "process.stdin.resume(); process.stdin.on('end', () => process.exit(0));";
    const run = new Child(process.execPath, [CLI, 'run', '--store', `json:${tmp.dir}`, '--instance-id', 'pinned', '--', process.execPath, '-e', script]);
    children.push(run);
    await using reader = await createRegistry({ store: `json:${tmp.dir}`, exitHooks: new ExitHooks() });
    // The lock wait is bounded (lockWaitMs); before the fix `run` gave up after it and never registered.
    await waitFor(async () => (await reader.get('pinned')) !== undefined, {
      timeoutMs: 12_000,
      message: () => `not registered; run said: ${run.stderrText}`,
    });
    expect(run.stderrText).not.toMatch(/could not register/);
    run.process.stdin?.end();
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(await reader.get('pinned')).toBeUndefined();
  }, 40_000);
});
