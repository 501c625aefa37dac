import { MAX_PID } from '../../domain/record.schema.js';

/** A pid kill(2) treats as one process: 0 and negatives address process groups, so never probe them. */
export function isProbeablePid(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && pid <= MAX_PID;
}

/**
 * What kill(pid, 0) failing with `code` says: ESRCH = no such process; EPERM =
 * it exists but belongs to another user, so it is alive.
 */
export function aliveFromKillError(code: string | undefined): boolean {
  return code === 'EPERM';
}

/** Signal 0: existence and permission check only, nothing is delivered. */
export function isSignalable(pid: number): boolean {
  if (!isProbeablePid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return aliveFromKillError((error as NodeJS.ErrnoException).code);
  }
}
