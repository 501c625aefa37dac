/** The fields of /proc/<pid>/stat this package needs. */
export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), X (dead), T, t, I … */
  readonly state: string;
  /** Field 22: start time in clock ticks after boot. */
  readonly startTicks: number;
}

/**
 * Parses /proc/<pid>/stat. Field 2 (comm) is in parentheses and may itself hold
 * spaces and ')', so the fields are split after the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state); field n is fields[n - 3].
  const state = fields[0];
  const startTicks = Number(fields[22 - 3]);
  if (state === undefined || state === '' || !Number.isSafeInteger(startTicks) || startTicks < 0) return undefined;
  return { state, startTicks };
}

/** `btime` of /proc/stat: boot time in epoch seconds. */
export function parseBootTime(text: string): number | undefined {
  const match = /^btime\s+(\d+)\s*$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** A zombie has exited and only waits to be reaped; X is a task being torn down. */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}
