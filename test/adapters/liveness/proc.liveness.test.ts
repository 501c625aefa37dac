import { afterEach, describe, expect, it, vi } from 'vitest';
import { aliveFromKillError, isProbeablePid } from '../../../src/adapters/liveness/process-signal.js';
import { parseProcStat } from '../../../src/adapters/liveness/proc-stat.js';
import { ProcLivenessProbe } from '../../../src/adapters/liveness/proc.liveness.js';
import { PsListLivenessProbe } from '../../../src/adapters/liveness/ps-list.liveness.js';
import { defaultLivenessProbe } from '../../../src/adapters/liveness/select-liveness.js';
import { compiledModule } from '../json-dir/compiled.js';
import { runNode } from '../json-dir/children.js';
import { killAndReap, ownStartMs, sleeper, zombie } from './processes.js';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('ProcLivenessProbe (/proc)', () => {
  const probe = new ProcLivenessProbe();
  const started: ChildProcess[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(started.splice(0).map(killAndReap));
  });

  it('finds this process alive, started when it says it started', async () => {
    const facts = (await probe.snapshot([process.pid])).get(process.pid);
    expect(facts.alive).toBe(true);
    const startTimeMs = facts.alive ? facts.startTimeMs : undefined;
    expect(startTimeMs).toBeDefined();
    expect(Math.abs((startTimeMs as number) - ownStartMs())).toBeLessThan(3_000);
    expect(Math.abs(((await probe.startOf(process.pid))?.timeMs as number) - ownStartMs())).toBeLessThan(3_000);
  });

  it('answers the same for many pids (read through the thread pool) as for a few (read synchronously)', async () => {
    const child = sleeper();
    started.push(child);
    const gone = 2 ** 22 + 12_345; // above the default pid_max: never a process
    const few = [process.pid, child.pid as number, gone];
    const many = [...few, ...Array.from({ length: 30 }, (_, i) => gone + 1 + i)];
    const small = await probe.snapshot(few);
    const large = await probe.snapshot(many);
    for (const pid of few) expect(large.get(pid)).toEqual(small.get(pid));
    expect(small.get(process.pid).alive).toBe(true);
    expect(small.get(child.pid as number).alive).toBe(true);
    expect(small.get(gone).alive).toBe(false);
    expect(large.get(gone + 30).alive).toBe(false);
  });

  it('names this process by <boot_id>:<start ticks>, in the snapshot and at registration', async () => {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    const ticks = parseProcStat(readFileSync(`/proc/${process.pid}/stat`, 'latin1'))?.startTicks;
    const facts = (await probe.snapshot([process.pid])).get(process.pid);
    expect(facts.alive && facts.startToken).toBe(`${bootId}:${ticks}`);
    expect((await probe.startOf(process.pid))?.token).toBe(`${bootId}:${ticks}`);
    expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives a child the start time of its spawn', async () => {
    const before = Date.now();
    const child = sleeper();
    started.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    const start = (await probe.startOf(child.pid as number))?.timeMs as number;
    expect(start).toBeGreaterThan(before - 2_000);
    expect(start).toBeLessThan(Date.now() + 2_000);
  });

  it('finds a killed and reaped child dead', async () => {
    const child = sleeper();
    await new Promise((resolve) => child.once('spawn', resolve));
    const pid = child.pid as number;
    expect((await probe.snapshot([pid])).get(pid).alive).toBe(true);
    await killAndReap(child);
    expect((await probe.snapshot([pid])).get(pid)).toEqual({ alive: false });
    expect(await probe.startOf(pid)).toBeUndefined();
  });

  it('counts a zombie (exited, not reaped) as dead although a signal still reaches it', { timeout: 20_000 }, async () => {
    const { parent, pid } = await zombie();
    started.push(parent);
    expect(() => process.kill(pid, 0)).not.toThrow(); // the signal alone would call it alive
    expect((await probe.snapshot([pid])).get(pid)).toEqual({ alive: false });
  });

  it('finds pid 1 alive, started before this process', async () => {
    const facts = (await probe.snapshot([1])).get(1);
    expect(facts.alive).toBe(true);
    expect(facts.alive && facts.startTimeMs).toBeLessThanOrEqual(ownStartMs() + 1_000);
  });

  it('never probes pids kill(2) would read as process groups, or out of range', async () => {
    const bad = [0, -1, -process.pid, 1.5, Number.NaN, 2 ** 31];
    const snapshot = await probe.snapshot(bad);
    for (const pid of bad) expect(snapshot.get(pid)).toEqual({ alive: false });
    expect(bad.map(isProbeablePid).some(Boolean)).toBe(false);
  });

  it('maps kill(pid, 0) errors: EPERM is alive (another user\'s), ESRCH dead', () => {
    expect(aliveFromKillError('EPERM')).toBe(true);
    expect(aliveFromKillError('ESRCH')).toBe(false);
    expect(aliveFromKillError(undefined)).toBe(false);
  });

  it('finds another user\'s process alive through EPERM', { timeout: 30_000 }, async () => {
    // As root no EPERM ever happens, so ask from a child running as nobody about root's pid 1 and this process.
    const module = compiledModule('adapters/liveness/proc.liveness.ts');
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = runNode(
      `
      const { ProcLivenessProbe } = await import(process.argv[1]);
      const pids = process.argv.slice(2).map(Number);
      let eperm = 0;
      for (const pid of pids) try { process.kill(pid, 0); } catch (e) { if (e.code === 'EPERM') eperm++; }
      const snapshot = await new ProcLivenessProbe().snapshot(pids);
      console.log('RESULT ' + JSON.stringify({ eperm, facts: pids.map((p) => snapshot.get(p)) }));
      `,
      [module, '1', String(process.pid)],
      asNobody,
    );
    const line = await child.waitFor(/^RESULT /);
    await child.exited;
    const { eperm, facts } = JSON.parse(line.slice(7)) as { eperm: number; facts: Array<{ alive: boolean; startTimeMs?: number }> };
    expect(eperm, 'the child must really meet EPERM (run as root, or with pid 1 owned by another user)').toBeGreaterThanOrEqual(1);
    expect(facts.map((f) => f.alive)).toEqual([true, true]);
    expect(Math.abs((facts[1]?.startTimeMs as number) - ownStartMs())).toBeLessThan(3_000);
  });

  it('dedupes pids: one signal per unique pid', async () => {
    const kill = vi.spyOn(process, 'kill');
    const snapshot = await probe.snapshot([process.pid, process.pid, 1, 1, process.pid]);
    expect(kill).toHaveBeenCalledTimes(2);
    expect(snapshot.get(process.pid).alive).toBe(true);
  });

  it('answers a pid that was not in the snapshot request correctly rather than guessing', async () => {
    const child = sleeper();
    started.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    const snapshot = await probe.snapshot([]);
    expect(snapshot.get(child.pid as number).alive).toBe(true);
    expect(snapshot.get(2 ** 22 + 12_345).alive).toBe(false);
  });

  it('falls back to the signal alone when procfs hides the process (hidepid, no /proc)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fake-proc-'));
    try {
      const blind = new ProcLivenessProbe({ procRoot: empty });
      expect((await blind.snapshot([process.pid])).get(process.pid)).toEqual({ alive: true });
      const child = sleeper();
      await new Promise((resolve) => child.once('spawn', resolve));
      await killAndReap(child);
      expect((await blind.snapshot([child.pid as number])).get(child.pid as number)).toEqual({ alive: false });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('defaultLivenessProbe', () => {
  it('uses /proc on Linux and ps-list elsewhere', () => {
    expect(defaultLivenessProbe('linux')).toBeInstanceOf(ProcLivenessProbe);
    expect(defaultLivenessProbe('darwin')).toBeInstanceOf(PsListLivenessProbe);
    expect(defaultLivenessProbe('win32')).toBeInstanceOf(PsListLivenessProbe);
    expect(defaultLivenessProbe()).toBeInstanceOf(process.platform === 'linux' ? ProcLivenessProbe : PsListLivenessProbe);
  });
});
