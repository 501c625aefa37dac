import { statSync, type Stats } from 'node:fs';
import { InsecureDirectoryError, NotARegistryError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.port.js';
import { errnoOf, translateFsError, type FsOperation } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

/** Owner-only, as Jupyter's secure_write: records hold commands that clients run. */
export const DIRECTORY_MODE = 0o700;

/**
 * Creates the registry directory (mode 0700 whatever the umask) when missing.
 * Returns whether it created it.
 */
export async function ensureDirectory(dir: string): Promise<boolean> {
  const created = await fsPromises().mkdir(dir, { recursive: true, mode: DIRECTORY_MODE }).catch((error: unknown) => {
    throw translateFsError(error, { op: 'write', location: dir });
  });
  if (created === undefined) return false;
  await fsPromises().chmod(dir, DIRECTORY_MODE).catch((error: unknown) => {
    throw translateFsError(error, { op: 'write', location: dir });
  });
  return true;
}

/**
 * Checks the directory before every read or write: it must be a directory
 * (a symlink to one is fine: stat, not lstat), belong to this user or to root,
 * and no one but its owner may write into it — or someone else could plant a
 * record whose command a client runs. Returns false when it does not exist.
 *
 * One exception is repaired rather than refused (ADR 0016): a directory of this
 * user that only its group may write — what Python's `mkdir` makes under the
 * common umask 002 — is made owner-only (0700), with a warning, and used.
 * Writable by others, or another user's: refused, untouched.
 */
export async function checkDirectory(
  dir: string,
  op: FsOperation,
  platform: NodeJS.Platform = process.platform,
  logger?: Logger,
): Promise<boolean> {
  let info = statDirectory(dir, op);
  if (info === undefined) return false;
  if (isOwnGroupWritable(info, platform)) {
    await tightenGroupWrite(dir, info.mode, op, logger);
    info = statDirectory(dir, op);
    if (info === undefined) return false;
  }
  assertPrivateMode(dir, info.mode, platform);
  assertTrustedOwner(dir, info, platform);
  return true;
}

/**
 * checkDirectory without waiting on the thread pool, for a listing: the
 * directory's stat once it passed the same checks, undefined when it does not
 * exist, 'repair' when it is one checkDirectory makes owner-only first (ask it).
 * Throws as checkDirectory does.
 */
export function checkDirectorySync(dir: string, op: FsOperation, platform: NodeJS.Platform = process.platform): Stats | undefined | 'repair' {
  const info = statDirectory(dir, op);
  if (info === undefined) return undefined;
  if (isOwnGroupWritable(info, platform)) return 'repair';
  assertPrivateMode(dir, info.mode, platform);
  assertTrustedOwner(dir, info, platform);
  return info;
}

/**
 * The directory's stat, synchronous: one system call before every read or write
 * (no thread-pool round trip, no fs/promises to load). Undefined when it does not exist.
 */
function statDirectory(dir: string, op: FsOperation): Stats | undefined {
  let found: Stats;
  try {
    found = statSync(dir);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw translateFsError(error, { op, location: dir });
  }
  if (!found.isDirectory()) throw new NotARegistryError(dir, 'it is not a directory');
  return found;
}

/** Group-writable, not writable by others, and this user's own (not root's, unless we are root). */
function isOwnGroupWritable(info: { mode: number; uid: number }, platform: NodeJS.Platform, euid: number | undefined = process.geteuid?.()): boolean {
  return platform !== 'win32' && euid !== undefined && info.uid === euid && (info.mode & 0o020) !== 0 && (info.mode & 0o002) === 0;
}

/**
 * Makes a directory this user owns owner-only, as one we create (DIRECTORY_MODE;
 * setuid/setgid/sticky kept). Not just the group write bit: files the Python
 * writer leaves 0664 under umask 002 could still be rewritten in place by the
 * group while it may search the directory. A failure leaves the directory as it
 * was, and the check that follows refuses it as before.
 */
async function tightenGroupWrite(dir: string, mode: number, op: FsOperation, logger: Logger | undefined): Promise<void> {
  const next = (mode & 0o7000) | DIRECTORY_MODE;
  try {
    await fsPromises().chmod(dir, next);
  } catch (error) {
    logger?.debug(`could not remove group write from registry directory ${dir}`, { error: translateFsError(error, { op, location: dir }).message });
    return;
  }
  logger?.warn(
    `registry directory ${dir} was writable by its group (mode ${(mode & 0o7777).toString(8)}); made it owner-only (now ${next.toString(8)}) so that no one else can plant a record there. Python clients of this user are not affected`,
  );
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
