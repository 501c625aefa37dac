import type { ProcessFacts, ProcessStart } from '../../domain/staleness.js';
import type { LivenessProbe, LivenessSnapshot } from '../../ports/liveness.port.js';
import { isProbeablePid, isSignalable } from './process-signal.js';

/** The part of ps-list's ProcessDescriptor this probe reads. */
interface ProcessRow {
  readonly pid: number;
  readonly cmd?: string;
  /** From `ps -o lstart` (whole seconds, local time); absent on Windows. */
  readonly startTime?: Date;
}

export type ListProcesses = () => Promise<readonly ProcessRow[]>;

/** ps-list is loaded on first use: a Linux host using /proc never pays for it. */
const loadPsList: ListProcesses = async () => (await import('ps-list')).default();

/**
 * macOS, Windows (or by choice): one ps-list call per snapshot, whatever the
 * number of pids (it spawns `ps` — tens of ms — or fastlist on Windows).
 * ps-list 9 gives `startTime` on macOS/Linux (from `ps -o lstart`, second
 * resolution) and none on Windows, where startTimeMs stays undefined.
 */
export class PsListLivenessProbe implements LivenessProbe {
  constructor(private readonly listProcesses: ListProcesses = loadPsList) {}

  async snapshot(pids: readonly number[]): Promise<LivenessSnapshot> {
    const wanted = new Set(pids.filter(isProbeablePid));
    const rows = wanted.size === 0 ? undefined : await this.rows();
    const facts = new Map<number, ProcessFacts>();
    if (rows) {
      for (const row of rows) if (wanted.has(row.pid)) facts.set(row.pid, factsOf(row));
    }
    return {
      get: (pid) => {
        const known = facts.get(pid);
        if (known) return known;
        // Not in the table (or ps failed): the signal decides. On Windows the
        // table holds only this user's processes, so absence alone proves nothing.
        return { alive: isSignalable(pid) };
      },
    };
  }

  /** ps gives a start time (whole seconds) but nothing that names the incarnation: no token. */
  async startOf(pid: number): Promise<ProcessStart | undefined> {
    const facts = (await this.snapshot([pid])).get(pid);
    if (!facts.alive) return undefined;
    return facts.startTimeMs === undefined ? {} : { timeMs: facts.startTimeMs };
  }

  /** The process table, or undefined when ps cannot run (then kill(pid, 0) answers alone). */
  private async rows(): Promise<readonly ProcessRow[] | undefined> {
    try {
      return await this.listProcesses();
    } catch {
      return undefined;
    }
  }
}

function factsOf(row: ProcessRow): ProcessFacts {
  // ps shows a zombie (exited, not yet reaped) as `[name] <defunct>`.
  if (row.cmd !== undefined && /<defunct>\s*$/.test(row.cmd)) return { alive: false };
  const startTimeMs = row.startTime?.getTime();
  return startTimeMs === undefined || Number.isNaN(startTimeMs) ? { alive: true } : { alive: true, startTimeMs };
}
