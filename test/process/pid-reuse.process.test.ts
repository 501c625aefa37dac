import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcLivenessProbe } from '../../src/adapters/liveness/proc.liveness.js';
import { parseProcStat } from '../../src/adapters/liveness/proc-stat.js';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { makeRecord, plantRecords } from '../support/records.js';
import { Child, FIXTURES, isAlive, tempRegistryDir, waitFor } from '../support/processes.js';

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

function start(command: string, args: readonly string[]): Child {
  const child = new Child(command, args);
  children.push(child);
  return child;
}

/** What the kernel says names this pid's incarnation: <boot_id>:<field 22 of /proc/<pid>/stat>. */
function kernelToken(pid: number): string {
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  const ticks = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.startTicks;
  return `${bootId}:${ticks}`;
}

function reader(dir: string) {
  return createRegistry({ store: `json:${dir}`, exitHooks: new ExitHooks() });
}

describe.runIf(process.platform === 'linux')('pid reuse told by the start token (real processes, JSON store)', () => {
  it("a registrant's record carries its kernel start token, and it is discovered healthy", async () => {
    await using tmp = await tempRegistryDir();
    const registrant = start(process.execPath, [join(FIXTURES, 'registrant.mjs'), `json:${tmp.dir}`, '-']);
    await registrant.line(/registered/);
    const onDisk = JSON.parse(await readFile(join(tmp.dir, `marcus_${registrant.pid}.json`), 'utf8')) as Record<string, unknown>;
    expect(onDisk['process_start_token']).toBe(kernelToken(registrant.pid));
    expect(typeof onDisk['process_start_time']).toBe('string');
    await using registry = await reader(tmp.dir);
    const report = await registry.inspect();
    expect(report.services.map((s) => [s.record.pid, s.health])).toEqual([[registrant.pid, 'healthy']]);
  });

  it('a live pid whose record carries another token is pid-reused and removed, although its start time matches exactly', async () => {
    await using tmp = await tempRegistryDir();
    const sleeper = start('sleep', ['30']);
    await waitFor(() => isAlive(sleeper.pid));
    const real = await new ProcLivenessProbe().startOf(sleeper.pid);
    expect(real?.token).toBe(kernelToken(sleeper.pid));
    // The record of an earlier process that had this pid: same start time (as the time check sees it), other start ticks.
    const [bootId, ticks] = (real?.token as string).split(':');
    const forged = makeRecord({
      instance_id: `marcus_${sleeper.pid}`,
      pid: sleeper.pid,
      process_start_time: formatTimestamp(real?.timeMs as number),
      process_start_token: `${bootId}:${Number(ticks) - 1}`,
    });
    await using registry = await reader(tmp.dir);
    await plantRecords(tmp.dir, forged);
    const report = await registry.inspect();
    expect(report.services).toEqual([]);
    expect(report.removed.map((r) => [r.record.instance_id, r.reason])).toEqual([[`marcus_${sleeper.pid}`, 'pid-reused']]);
    expect(isAlive(sleeper.pid), 'the live process itself is untouched').toBe(true);
  });

  it('a live pid whose record carries its own token is healthy even with a start time an hour off (as after a clock step)', async () => {
    await using tmp = await tempRegistryDir();
    const sleeper = start('sleep', ['30']);
    await waitFor(() => isAlive(sleeper.pid));
    const real = await new ProcLivenessProbe().startOf(sleeper.pid);
    const record = makeRecord({
      instance_id: `marcus_${sleeper.pid}`,
      pid: sleeper.pid,
      process_start_time: formatTimestamp((real?.timeMs as number) - 3_600_000),
      process_start_token: kernelToken(sleeper.pid),
    });
    await using registry = await reader(tmp.dir);
    await plantRecords(tmp.dir, record);
    const report = await registry.inspect();
    expect(report.removed).toEqual([]);
    expect(report.services.map((s) => [s.record.instance_id, s.health])).toEqual([[`marcus_${sleeper.pid}`, 'healthy']]);
  });
});
