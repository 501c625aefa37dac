import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ProcessFacts, ProcessStart } from '../../domain/staleness.js';
import type { LivenessProbe, LivenessSnapshot } from '../../ports/liveness.port.js';
import { isDeadState, parseBootId, parseBootTime, parseProcStat, startToken } from './proc-stat.js';
import { isSignalable } from './process-signal.js';

/**
 * A snapshot of at most this many pids reads procfs synchronously (well under
 * a millisecond, procfs being memory); more are read through the thread pool
 * so that the event loop is not held.
 */
const SYNC_SNAPSHOT_PIDS = 16;

export interface ProcLivenessOptions {
  /** Where procfs is mounted. Default: /proc. */
  readonly procRoot?: string;
  /**
   * Clock ticks per second (sysconf(_SC_CLK_TCK), the unit of field 22). Default:
   * 100, which Linux has used on every architecture for its user-facing
   * USER_HZ for decades; reading `getconf CLK_TCK` would cost a spawn.
   */
  readonly clockTicksPerSecond?: number;
}

/**
 * Linux: kill(pid, 0) says whether the pid exists; /proc/<pid>/stat gives its
 * state (a zombie is dead) and its start, which guards against pid reuse.
 * No spawn: a snapshot of n pids costs n signals and n + 1 small file reads.
 *
 * The start is given two ways. The token `<boot_id>:<start ticks>` names the
 * process exactly and never moves. The start time is `btime` + ticks ÷ CLK_TCK,
 * and `btime` (/proc/stat) is the wall clock minus the time since boot: it moves
 * whenever the wall clock is stepped (NTP, VM resume, suspend), so it is read
 * again for every snapshot, never cached.
 */
export class ProcLivenessProbe implements LivenessProbe {
  private readonly procRoot: string;
  private readonly ticksPerSecond: number;
  /** The kernel's boot id, read once: it changes only at reboot. null: not read yet. */
  private bootIdValue: string | undefined | null = null;

  constructor(options: ProcLivenessOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.ticksPerSecond = options.clockTicksPerSecond ?? 100;
  }

  async snapshot(pids: readonly number[]): Promise<LivenessSnapshot> {
    const unique = [...new Set(pids)];
    const facts = new Map<number, ProcessFacts>();
    let bootTimeMs: number | undefined;
    if (unique.length <= SYNC_SNAPSHOT_PIDS) {
      // A few small procfs reads (tens of microseconds each) cost less than their thread-pool round trips.
      bootTimeMs = this.bootTimeSync();
      for (const pid of unique) facts.set(pid, this.factsOfSync(pid, bootTimeMs));
    } else {
      bootTimeMs = await this.bootTime();
      await Promise.all(unique.map(async (pid) => facts.set(pid, await this.factsOf(pid, bootTimeMs))));
    }
    // A pid outside the request is answered on the spot rather than guessed.
    return { get: (pid) => facts.get(pid) ?? this.factsOfSync(pid, bootTimeMs) };
  }

  async startOf(pid: number): Promise<ProcessStart | undefined> {
    const facts = await this.factsOf(pid, await this.bootTime());
    if (!facts.alive) return undefined;
    return {
      ...(facts.startTimeMs !== undefined && { timeMs: facts.startTimeMs }),
      ...(facts.startToken !== undefined && { token: facts.startToken }),
    };
  }

  private async factsOf(pid: number, bootTimeMs: number | undefined): Promise<ProcessFacts> {
    if (!isSignalable(pid)) return { alive: false };
    let text: string | undefined;
    try {
      text = await readFile(`${this.procRoot}/${pid}/stat`, 'latin1');
    } catch {
      text = undefined;
    }
    return this.judge(pid, text, bootTimeMs);
  }

  private factsOfSync(pid: number, bootTimeMs: number | undefined): ProcessFacts {
    if (!isSignalable(pid)) return { alive: false };
    let text: string | undefined;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
    } catch {
      text = undefined;
    }
    return this.judge(pid, text, bootTimeMs);
  }

  private judge(pid: number, text: string | undefined, bootTimeMs: number | undefined): ProcessFacts {
    const stat = text === undefined ? undefined : parseProcStat(text);
    if (!stat) {
      // It exited between the signal and the read, or procfs hides it
      // (hidepid=2 for other users' processes, no /proc at all): ask again.
      return isSignalable(pid) ? { alive: true } : { alive: false };
    }
    if (isDeadState(stat.state)) return { alive: false };
    const bootId = this.bootId();
    return {
      alive: true,
      ...(bootTimeMs !== undefined && { startTimeMs: bootTimeMs + (stat.startTicks * 1000) / this.ticksPerSecond }),
      ...(bootId !== undefined && { startToken: startToken(bootId, stat.startTicks) }),
    };
  }

  /** Boot time now: /proc/stat `btime` (whole seconds), read afresh on every call. */
  private async bootTime(): Promise<number | undefined> {
    try {
      const boot = parseBootTime(await readFile(`${this.procRoot}/stat`, 'latin1'));
      return boot === undefined ? undefined : boot * 1000;
    } catch {
      return undefined;
    }
  }

  /** bootTime, read synchronously. */
  private bootTimeSync(): number | undefined {
    try {
      const boot = parseBootTime(readFileSync(`${this.procRoot}/stat`, 'latin1'));
      return boot === undefined ? undefined : boot * 1000;
    } catch {
      return undefined;
    }
  }

  /** /proc/sys/kernel/random/boot_id, read once. */
  private bootId(): string | undefined {
    if (this.bootIdValue === null) {
      try {
        this.bootIdValue = parseBootId(readFileSync(`${this.procRoot}/sys/kernel/random/boot_id`, 'latin1'));
      } catch {
        this.bootIdValue = undefined;
      }
    }
    return this.bootIdValue;
  }
}
