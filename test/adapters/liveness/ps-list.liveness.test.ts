import type { ChildProcess } from 'node:child_process';
import psList from 'ps-list';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcLivenessProbe } from '../../../src/adapters/liveness/proc.liveness.js';
import { PsListLivenessProbe } from '../../../src/adapters/liveness/ps-list.liveness.js';
import { killAndReap, ownStartMs, sleeper, zombie } from './processes.js';

describe('PsListLivenessProbe (ps-list)', () => {
  const started: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map(killAndReap));
  });

  /** The real ps-list, counted. */
  function countedPsList() {
    let calls = 0;
    return { calls: () => calls, list: () => (calls++, psList()) };
  }

  it('agrees with the /proc probe on alive/dead and start time (within 2 s) for real pids', { timeout: 30_000 }, async () => {
    const live = sleeper();
    started.push(live);
    const dead = sleeper();
    await Promise.all([live, dead].map((c) => new Promise((resolve) => c.once('spawn', resolve))));
    await killAndReap(dead);
    const pids = [process.pid, 1, live.pid as number, dead.pid as number];

    const counted = countedPsList();
    const viaPs = await new PsListLivenessProbe(counted.list).snapshot(pids);
    const viaProc = await new ProcLivenessProbe().snapshot(pids);
    expect(counted.calls()).toBe(1);
    expect(pids.map((p) => viaPs.get(p).alive)).toEqual([true, true, true, false]);
    for (const pid of pids) {
      const a = viaPs.get(pid);
      const b = viaProc.get(pid);
      expect(a.alive, `pid ${pid}`).toBe(b.alive);
      if (a.alive && b.alive) {
        expect(a.startTimeMs, `ps-list start time of ${pid}`).toBeDefined();
        expect(Math.abs((a.startTimeMs as number) - (b.startTimeMs as number)), `pid ${pid}`).toBeLessThan(2_000);
      }
    }
    expect(Math.abs((viaPs.get(process.pid) as { startTimeMs: number }).startTimeMs - ownStartMs())).toBeLessThan(3_000);
  });

  it('makes one ps-list call per snapshot whatever the number of pids, and one per startOf', async () => {
    const counted = countedPsList();
    const probe = new PsListLivenessProbe(counted.list);
    await probe.snapshot(Array.from({ length: 50 }, (_, i) => 1_000_000 + i).concat([process.pid, process.pid]));
    expect(counted.calls()).toBe(1);
    const start = await probe.startOf(process.pid);
    expect(Math.abs((start?.timeMs as number) - ownStartMs())).toBeLessThan(3_000);
    expect(start?.token, 'ps names no incarnation: no token').toBeUndefined();
    expect(counted.calls()).toBe(2);
    await probe.snapshot([]);
    expect(counted.calls()).toBe(2); // nothing to ask
  });

  it('counts a zombie as dead (ps shows it <defunct>)', { timeout: 20_000 }, async () => {
    const { parent, pid } = await zombie();
    started.push(parent);
    expect((await new PsListLivenessProbe().snapshot([pid])).get(pid)).toEqual({ alive: false });
  });

  it('falls back to the signal when ps cannot run, without start times', async () => {
    const probe = new PsListLivenessProbe(() => Promise.reject(new Error('spawn ps ENOENT')));
    const snapshot = await probe.snapshot([process.pid, 2 ** 22 + 4_321]);
    expect(snapshot.get(process.pid)).toEqual({ alive: true });
    expect(snapshot.get(2 ** 22 + 4_321)).toEqual({ alive: false });
    expect(await probe.startOf(process.pid)).toEqual({});
  });
});
