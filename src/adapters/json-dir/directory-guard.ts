import { chmod, mkdir, stat } from 'node:fs/promises';
import { InsecureDirectoryError, NotARegistryError } from '../../domain/errors.js';
import { errnoOf, translateFsError, type FsOperation } from './fs-errors.js';

/** Owner-only, as Jupyter's secure_write: records hold commands that clients run. */
export const DIRECTORY_MODE = 0o700;

/**
 * Creates the registry directory (mode 0700 whatever the umask) when missing.
 * Returns whether it created it.
 */
export async function ensureDirectory(dir: string): Promise<boolean> {
  const created = await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE }).catch((error: unknown) => {
    throw translateFsError(error, { op: 'write', location: dir });
  });
  if (created === undefined) return false;
  await chmod(dir, DIRECTORY_MODE).catch((error: unknown) => {
    throw translateFsError(error, { op: 'write', location: dir });
  });
  return true;
}

/**
 * Checks the directory before every read or write: it must be a directory
 * (a symlink to one is fine: stat, not lstat), belong to this user or to root,
 * and no one but its owner may write into it — or someone else could plant a
 * record whose command a client runs. Returns false when it does not exist.
 */
export async function checkDirectory(dir: string, op: FsOperation, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  let info: { mode: number; uid: number };
  try {
    const found = await stat(dir);
    if (!found.isDirectory()) throw new NotARegistryError(dir, 'it is not a directory');
    info = found;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw translateFsError(error, { op, location: dir });
  }
  assertPrivateMode(dir, info.mode, platform);
  assertTrustedOwner(dir, info, platform);
  return true;
}

/**
 * Refuses a directory of another user: its owner could plant records. Root's
 * directories are trusted (root can do anything anyway). Windows: ACLs decide.
 */
export function assertTrustedOwner(
  dir: string,
  info: { mode: number; uid: number },
  platform: NodeJS.Platform = process.platform,
  euid: number | undefined = process.geteuid?.(),
): void {
  if (platform === 'win32' || euid === undefined) return;
  if (info.uid !== euid && info.uid !== 0) throw new InsecureDirectoryError(dir, info.mode, { uid: info.uid, expected: euid });
}

/** Refuses group- or other-writable modes. Windows has no such mode bits (ACLs decide). */
export function assertPrivateMode(dir: string, mode: number, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32' && (mode & 0o022) !== 0) throw new InsecureDirectoryError(dir, mode);
}
