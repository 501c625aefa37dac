import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { Child, CLI, FIXTURES, tempRegistryDir, waitFor } from '../support/processes.js';

/**
 * A restarted server registers under the same fixed instance id as the old one
 * (B over A). When A then goes away — normally, by close(), or by a SIGTERM it
 * does not handle — it must remove only its own entry: B's entry, a live
 * instance's, stays (docs/reliability.md, promise 10; ADR 0013).
 */

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

type Mode = 'exit' | 'close' | 'signal';

function registrant(uri: string, id: string, mode: Mode, replace = false): Child {
  const child = new Child(process.execPath, [join(FIXTURES, 'same-id-registrant.mjs'), uri, id, mode, ...(replace ? ['replace'] : [])]);
  children.push(child);
  return child;
}

/** `marcus-registry run --instance-id <id> -- node <child that exits when stdin ends>` */
function runWrapper(uri: string, id: string, replace = false): Child {
  const script = "process.stdin.resume(); process.stdin.on('end', () => process.exit(0));";
  const child = new Child(process.execPath, [CLI, 'run', '--store', uri, '--instance-id', id, '--heartbeat', '60000', ...(replace ? ['--replace'] : []), '--', process.execPath, '-e', script]);
  children.push(child);
  return child;
}

/** Makes A leave as `mode` says and waits until it is gone. */
async function leave(a: Child, mode: Mode): Promise<void> {
  if (mode === 'signal') a.kill('SIGTERM');
  else a.process.stdin?.end();
  const exited = await a.exited;
  if (mode === 'signal') expect(exited.signal).toBe('SIGTERM');
  else expect(exited).toEqual({ code: 0, signal: null });
}

const stores: Array<{ name: string; uri: (dir: string) => string }> = [
  { name: 'json', uri: (dir) => `json:${dir}` },
  { name: 'sqlite', uri: (dir) => `sqlite:${join(dir, 'registry.db')}` },
];

describe.each(stores)('an old registration leaving never removes a newer one of the same instance id ($name store)', ({ uri }) => {
  async function expectOnlyB(registryUri: string, id: string, b: Child, bStartedAt: string): Promise<void> {
    await using reader = await createRegistry({ store: registryUri, exitHooks: new ExitHooks() });
    const entry = await reader.get(id);
    expect(entry?.record.pid, 'B’s entry is still there').toBe(b.pid);
    expect(entry?.record.started_at).toBe(bStartedAt);
    const listed = await reader.discover();
    expect(listed.map((r) => [r.instance_id, r.pid])).toEqual([[id, b.pid]]);
  }

  it.each<Mode>(['exit', 'close', 'signal'])('A leaves by %s after B registered: B stays registered and listed; B then removes its own', async (mode) => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const id = 'marcus_fixed';
    const a = registrant(registryUri, id, mode);
    const [, , aPid] = await a.line(/registered (\S+) (\d+) (\S+)/);
    expect(Number(aPid)).toBe(a.pid);
    // B takes the id over deliberately (a live A would otherwise refuse it: INSTANCE_ID_TAKEN).
    const b = registrant(registryUri, id, 'close', true);
    const [, , bPid, bStartedAt] = await b.line(/registered (\S+) (\d+) (\S+)/);
    expect(Number(bPid)).toBe(b.pid);

    await leave(a, mode);
    expect(b.process.exitCode).toBeNull();
    await expectOnlyB(registryUri, id, b, bStartedAt as string);

    // B still owns it: its own close() removes it.
    await leave(b, 'close');
    await using reader = await createRegistry({ store: registryUri, exitHooks: new ExitHooks() });
    expect(await reader.get(id)).toBeUndefined();
  });

  it('A leaves first (nobody took its id): its own entry is removed as before', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const a = registrant(registryUri, 'marcus_alone', 'exit');
    await a.line(/registered/);
    await leave(a, 'exit');
    await using reader = await createRegistry({ store: registryUri, exitHooks: new ExitHooks() });
    expect(await reader.get('marcus_alone')).toBeUndefined();
  });

  it('marcus-registry run: the old wrapper’s child exits after a new one registered the same --instance-id: the new one stays', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const id = 'marcus_run_fixed';
    await using reader = await createRegistry({ store: registryUri, exitHooks: new ExitHooks() });
    // A hang guard that grows with the machine's load (a cold `run` registers late on a busy machine).
    const waitForPid = async (predicate: (pid: number | undefined) => boolean) => {
      let pid: number | undefined;
      await waitFor(async () => predicate((pid = (await reader.get(id))?.record.pid)), { message: () => `entry ${id} never matched; pid ${String(pid)}` });
      return pid;
    };
    const a = runWrapper(registryUri, id);
    const aChildPid = await waitForPid((pid) => pid !== undefined);
    const b = runWrapper(registryUri, id, true);
    const bChildPid = await waitForPid((pid) => pid !== undefined && pid !== aChildPid);
    a.process.stdin?.end();
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect((await reader.get(id))?.record.pid).toBe(bChildPid);
    expect((await reader.discover()).map((r) => r.pid)).toEqual([bChildPid]);
    b.process.stdin?.end();
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(await reader.get(id)).toBeUndefined();
  });
});
