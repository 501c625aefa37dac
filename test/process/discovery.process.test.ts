import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { makeRecord, plantRecords } from '../support/records.js';
import { Child, FIXTURES, isAlive, tempRegistryDir, waitFor } from '../support/processes.js';

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

function registrant(dir: string, id = '-', ...rest: string[]): Child {
  const child = new Child(process.execPath, [join(FIXTURES, 'registrant.mjs'), `json:${dir}`, id, ...rest]);
  children.push(child);
  return child;
}

/** A registry for the test process itself, with no process-wide exit hooks. */
function reader(dir: string) {
  return createRegistry({ store: `json:${dir}`, exitHooks: new ExitHooks() });
}

describe('multi-process discovery on the JSON store', () => {
  it('discovers 20 processes that register at once, each under its own pid', async () => {
    await using tmp = await tempRegistryDir();
    const started = Array.from({ length: 20 }, () => registrant(tmp.dir));
    await Promise.all(started.map((c) => c.line(/registered (\S+)/)));
    await using registry = await reader(tmp.dir);
    const found = await registry.discover();
    expect(found.map((r) => r.pid).sort((a, b) => a - b)).toEqual(started.map((c) => c.pid).sort((a, b) => a - b));
    for (const record of found) expect(record.instance_id).toBe(`marcus_${record.pid}`);
    const report = await registry.inspect();
    expect(report.problems).toEqual([]);
    expect(report.services.every((s) => s.health === 'healthy')).toBe(true);
  }, 240_000); // 20 cold node processes: 37 s at load 19 on 2 cores; the line guards scale with the load

  it('drops a SIGKILLed registrant at the next discovery and removes its file, keeping the others', async () => {
    await using tmp = await tempRegistryDir();
    const victim = registrant(tmp.dir);
    const survivor = registrant(tmp.dir);
    await victim.line(/registered/);
    await survivor.line(/registered/);
    const victimFile = join(tmp.dir, `marcus_${victim.pid}.json`);
    expect(existsSync(victimFile)).toBe(true);
    victim.kill('SIGKILL');
    await victim.exited;
    await using registry = await reader(tmp.dir);
    const report = await registry.inspect();
    expect(report.services.map((s) => s.record.pid)).toEqual([survivor.pid]);
    expect(report.removed.map((r) => [r.record.pid, r.reason])).toEqual([[victim.pid, 'process-exited']]);
    expect(existsSync(victimFile)).toBe(false);
    expect(existsSync(join(tmp.dir, `marcus_${survivor.pid}.json`))).toBe(true);
  });

  it('never deletes a slow non-atomic writer’s half-written file while concurrent readers discover', async () => {
    await using tmp = await tempRegistryDir();
    // A Python-style writer: open(…, "w") then json.dump in pieces, with pauses.
    const writer = new Child('python3', [join(FIXTURES, 'slow_writer.py'), tmp.dir]);
    children.push(writer);
    await writer.line(/started/);
    const file = join(tmp.dir, `marcus_${writer.pid}.json`);
    await using registry = await reader(tmp.dir);
    let sawTorn = false;
    let discoveries = 0;
    await waitFor(
      async () => {
        const report = await registry.inspect();
        discoveries++;
        if (report.problems.some((p) => p.action === 'left-for-writer') && !sawTorn) {
          sawTorn = true;
          writer.process.stdin?.write('finish\n'); // seen torn: the writer may complete it now
        }
        expect(existsSync(file), 'a reader deleted the file mid-write').toBe(true);
        expect(report.problems.filter((p) => p.action === 'quarantined')).toEqual([]);
        return writer.output.includes('done');
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    expect(sawTorn, `no discovery saw the torn file in ${discoveries} tries`).toBe(true);
    const found = await registry.discover();
    expect(found.map((r) => r.pid)).toEqual([writer.pid]);
    expect(found[0]?.python_version).toBeDefined();
  });

  it('judges a live pid whose start time differs from the record as a dead instance (pid reuse)', async () => {
    await using tmp = await tempRegistryDir();
    const sleeper = new Child('sleep', ['30']);
    children.push(sleeper);
    await waitFor(() => isAlive(sleeper.pid));
    // The record claims this pid belonged to a process started an hour ago.
    const reused = makeRecord({
      instance_id: `marcus_${sleeper.pid}`,
      pid: sleeper.pid,
      process_start_time: formatTimestamp(Date.now() - 3_600_000),
    });
    const honest = makeRecord({ instance_id: 'marcus_honest', pid: process.pid });
    await using registry = await reader(tmp.dir);
    await plantRecords(tmp.dir, honest, reused);
    const report = await registry.inspect();
    expect(report.services.map((s) => s.record.instance_id)).toEqual(['marcus_honest']);
    expect(report.removed.map((r) => [r.record.instance_id, r.reason])).toEqual([[`marcus_${sleeper.pid}`, 'pid-reused']]);
    expect(isAlive(sleeper.pid), 'the live process itself is untouched').toBe(true);
  });

  it('keeps a record whose start time matches the live process', async () => {
    await using tmp = await tempRegistryDir();
    const child = registrant(tmp.dir);
    await child.line(/registered/);
    const onDisk = JSON.parse(await readFile(join(tmp.dir, `marcus_${child.pid}.json`), 'utf8')) as Record<string, unknown>;
    expect(typeof onDisk['process_start_time']).toBe('string');
    await using registry = await reader(tmp.dir);
    expect((await registry.discover()).map((r) => r.pid)).toEqual([child.pid]);
  });

  it('removes its own entry when the host exits normally, and when it dies of SIGTERM with no handler of its own', async () => {
    await using tmp = await tempRegistryDir();
    const normal = registrant(tmp.dir, '-', '10000', 'exit-on-stdin-end');
    const terminated = registrant(tmp.dir);
    await normal.line(/registered/);
    await terminated.line(/registered/);
    normal.process.stdin?.end();
    terminated.kill('SIGTERM');
    expect(await normal.exited).toEqual({ code: 0, signal: null });
    expect(await terminated.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(join(tmp.dir, `marcus_${normal.pid}.json`))).toBe(false);
    expect(existsSync(join(tmp.dir, `marcus_${terminated.pid}.json`))).toBe(false);
  });

  it('leaves SIGINT to a host that handles it: the host runs on, still registered, and is removed when it exits', async () => {
    await using tmp = await tempRegistryDir();
    const host = registrant(tmp.dir, '-', '10000', 'host-sigint');
    await host.line(/registered/);
    host.kill('SIGINT');
    await host.line(/host handled SIGINT/);
    const file = join(tmp.dir, `marcus_${host.pid}.json`);
    await using registry = await reader(tmp.dir);
    // A host that handles a signal (SIGHUP = reload, say) keeps serving: it must stay discoverable.
    expect((await registry.discover()).map((r) => r.pid)).toEqual([host.pid]);
    expect(isAlive(host.pid)).toBe(true);
    host.process.stdin?.end();
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(file)).toBe(false);
  });

  it('heartbeats: last_heartbeat moves forward while the registrant lives', async () => {
    await using tmp = await tempRegistryDir();
    const child = registrant(tmp.dir, 'marcus_beating', '100');
    await child.line(/registered/);
    const file = join(tmp.dir, 'marcus_beating.json');
    const first = JSON.parse(await readFile(file, 'utf8')) as { last_heartbeat: string; started_at: string };
    await waitFor(async () => {
      const now = JSON.parse(await readFile(file, 'utf8')) as { last_heartbeat: string };
      return now.last_heartbeat > first.last_heartbeat;
    });
    const later = JSON.parse(await readFile(file, 'utf8')) as { started_at: string; heartbeat_interval_ms: number };
    expect(later.started_at).toBe(first.started_at);
    expect(later.heartbeat_interval_ms).toBe(100);
  });

  it('re-creates its entry when someone deletes the file under it', async () => {
    await using tmp = await tempRegistryDir();
    const child = registrant(tmp.dir, 'marcus_phoenix', '100');
    await child.line(/registered/);
    const file = join(tmp.dir, 'marcus_phoenix.json');
    await writeFile(join(tmp.dir, 'unrelated.txt'), 'left alone');
    const { unlink } = await import('node:fs/promises');
    await unlink(file);
    await waitFor(() => existsSync(file), { message: () => 'heartbeat did not re-create the entry' });
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(child.pid);
    expect(await readFile(join(tmp.dir, 'unrelated.txt'), 'utf8')).toBe('left alone');
  });
});
