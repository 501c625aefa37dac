import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ProcessFacts } from '../../domain/staleness.js';
import type { LivenessProbe, LivenessSnapshot } from '../../ports/liveness.port.js';
import { isDeadState, parseBootTime, parseProcStat } from './proc-stat.js';
import { isSignalable } from './process-signal.js';

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
 * state (a zombie is dead) and its start time, which guards against pid reuse.
 * No spawn: a snapshot of n pids costs n signals and n small file reads.
 */
export class ProcLivenessProbe implements LivenessProbe {
  private readonly procRoot: string;
  private readonly ticksPerSecond: number;
  private bootTimeMs: number | undefined | null = null;

  constructor(options: ProcLivenessOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.ticksPerSecond = options.clockTicksPerSecond ?? 100;
  }

  async snapshot(pids: readonly number[]): Promise<LivenessSnapshot> {
    const unique = [...new Set(pids)];
    const facts = new Map<number, ProcessFacts>();
    await Promise.all(unique.map(async (pid) => facts.set(pid, await this.factsOf(pid))));
    // A pid outside the request is answered on the spot rather than guessed.
    return { get: (pid) => facts.get(pid) ?? this.factsOfSync(pid) };
  }

  async startTimeOf(pid: number): Promise<number | undefined> {
    const facts = await this.factsOf(pid);
    return facts.alive ? facts.startTimeMs : undefined;
  }

  private async factsOf(pid: number): Promise<ProcessFacts> {
    if (!isSignalable(pid)) return { alive: false };
    let text: string | undefined;
    try {
      text = await readFile(`${this.procRoot}/${pid}/stat`, 'latin1');
    } catch {
      text = undefined;
    }
    return this.judge(pid, text);
  }

  private factsOfSync(pid: number): ProcessFacts {
    if (!isSignalable(pid)) return { alive: false };
    let text: string | undefined;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
    } catch {
      text = undefined;
    }
    return this.judge(pid, text);
  }

  private judge(pid: number, text: string | undefined): ProcessFacts {
    const stat = text === undefined ? undefined : parseProcStat(text);
    if (!stat) {
      // It exited between the signal and the read, or procfs hides it
      // (hidepid=2 for other users' processes, no /proc at all): ask again.
      return isSignalable(pid) ? { alive: true } : { alive: false };
    }
    if (isDeadState(stat.state)) return { alive: false };
    const boot = this.bootTime();
    return boot === undefined ? { alive: true } : { alive: true, startTimeMs: boot + (stat.startTicks * 1000) / this.ticksPerSecond };
  }

  /** Boot time, read once: /proc/stat `btime` (whole seconds). */
  private bootTime(): number | undefined {
    if (this.bootTimeMs === null) {
      let boot: number | undefined;
      try {
        boot = parseBootTime(readFileSync(`${this.procRoot}/stat`, 'latin1'));
      } catch {
        boot = undefined;
      }
      this.bootTimeMs = boot === undefined ? undefined : boot * 1000;
    }
    return this.bootTimeMs;
  }
}
