import { closeSync, constants, fchmodSync, mkdirSync, openSync, readSync, statSync, accessSync } from 'node:fs';
import { dirname } from 'node:path';
import { NotARegistryError } from '../../domain/errors.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;

export type DatabaseFile =
  | { readonly kind: 'absent' }
  /** Zero bytes: SQLite treats it as an empty database, so it may be initialised. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'sqlite' };

/**
 * Looks at the file before any SQLite connection exists, so a text file or
 * random bytes are refused without the driver ever opening them for writing.
 */
export function inspectDatabaseFile(path: string): DatabaseFile {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new NotARegistryError(path, 'not a regular file');
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  if (size === 0) return { kind: 'empty' };
  if (size < HEADER_BYTES) throw new NotARegistryError(path, `only ${size} bytes: too short to be an SQLite database`);
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw new NotARegistryError(path, 'not an SQLite database: its header is not "SQLite format 3"');
  }
  return { kind: 'sqlite' };
}

/**
 * Creates the parent directories (0700) and the database file (0600). SQLite
 * gives the -wal and -shm files the database file's mode. An existing file is
 * never chmod'ed: it may belong to someone else.
 */
export function createDatabaseFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return; // another process won the race
    throw error;
  }
  try {
    fchmodSync(fd, 0o600); // a umask cannot widen it, but make it exact
  } finally {
    closeSync(fd);
  }
}

/** Whether this process can write the database and create its -wal/-shm files beside it. */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the file's other-user or group bits allow writing: worth a warning, never a chmod. */
export function isWritableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o022) !== 0;
  } catch {
    return false;
  }
}
