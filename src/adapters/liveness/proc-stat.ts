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

/**
 * /proc/sys/kernel/random/boot_id: a random UUID the kernel picks at boot, the
 * same for every process until the next reboot.
 */
export function parseBootId(text: string): string | undefined {
  const id = text.trim();
  return /^[0-9A-Za-z-]{1,64}$/.test(id) ? id : undefined;
}

/**
 * The process incarnation token written as `process_start_token`:
 * `<boot_id>:<start ticks>`. Ticks are counted from boot, and the boot id changes
 * at reboot, so no two processes of one host ever share a token, and no clock
 * step changes it.
 */
export function startToken(bootId: string, startTicks: number): string {
  return `${bootId}:${startTicks}`;
}

/** A zombie has exited and only waits to be reaped; X is a task being torn down. */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}
