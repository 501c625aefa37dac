import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Why users other than this one (or root) could have written records into the
 * SQLite database at `path`, or undefined when they could not: the database
 * file, its -wal and -shm files (when present) and its directory must belong to
 * this user or root and be writable by no one else (no group or other write
 * bit). Whoever can write the directory can replace the file or plant a -wal
 * file beside it. Windows: ACLs decide, as for the JSON store (ADR 0005).
 */
export async function foreignWriters(
  path: string,
  platform: NodeJS.Platform = process.platform,
  euid: number | undefined = process.geteuid?.(),
): Promise<string | undefined> {
  if (platform === 'win32' || euid === undefined) return undefined;
  const checks: Array<[what: string, at: string, optional: boolean]> = [
    ['database file', path, false],
    ['write-ahead log', `${path}-wal`, true],
    ['shared-memory file', `${path}-shm`, true],
    ['database directory', dirname(path), false],
  ];
  for (const [what, at, optional] of checks) {
    let info: { uid: number; mode: number };
    try {
      info = await stat(at);
    } catch (error) {
      if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return `cannot check who may write its ${what} ${at}: ${(error as Error).message}`;
    }
    if (info.uid !== euid && info.uid !== 0) return `its ${what} ${at} belongs to uid ${info.uid}, not to this user (uid ${euid})`;
    if ((info.mode & 0o022) !== 0) return `its ${what} ${at} is writable by other users (mode ${(info.mode & 0o777).toString(8)})`;
  }
  return undefined;
}
