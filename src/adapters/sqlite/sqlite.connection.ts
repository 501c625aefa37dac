import { readFileSync, statSync } from 'node:fs';
import { StoreUnavailableError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.port.js';
import { openConnection, type SqliteDatabase, type SqliteDriver } from './sqlite.driver.js';
import { needsWalFiles, translateSqliteError } from './sqlite.errors.js';
import { createDatabaseFile, inspectDatabaseFile, isWritable, isWritableByOthers } from './sqlite.file.js';
import { checkIntegrity, inspectSchema, LATEST_SCHEMA_VERSION, migrate, type SchemaState } from './sqlite.migrations.js';
import { isConnectedFile } from './sqlite.identity.js';
import { STATEMENT_BUSY_TIMEOUT_MS } from './sqlite.options.js';
import { retryWhileBusy } from './sqlite.retry.js';

export interface OpenRequest {
  readonly location: string;
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * How the store reaches the database once it is open:
 * - write: one read-write connection in WAL mode, schema migrated;
 * - read: one read-only connection (asked for, or the file is not writable);
 * - snapshot: a WAL database in a directory nobody lets us create -wal/-shm in;
 *   each read deserializes the file into memory (see openSnapshot).
 * `initialized` is false for an empty database opened read-only: it lists as
 * empty until a writer elsewhere makes it a registry (see isInitializedNow).
 */
export type Access =
  | { readonly mode: 'write'; readonly db: SqliteDatabase }
  | { readonly mode: 'read'; readonly db: SqliteDatabase; initialized: boolean }
  | { readonly mode: 'snapshot'; readonly open: () => SqliteDatabase; initialized: boolean };

/**
 * Whether a reader's database is a registry by now: an empty file opened
 * read-only may have been initialised by a writer since. Cheap (two pragmas)
 * while it is not; remembered once it is. Refuses a file that became something else.
 */
export function isInitializedNow(access: Exclude<Access, { mode: 'write' }>, location: string): boolean {
  if (access.initialized) return true;
  const db = access.mode === 'read' ? access.db : access.open();
  try {
    access.initialized = inspectSchema(db, location).kind === 'registry';
  } finally {
    if (access.mode === 'snapshot') db.close();
  }
  return access.initialized;
}

/**
 * Opens, identifies and (when writable) migrates the database. Nothing writes to
 * an existing file before a read-only connection has recognised it as a registry.
 * A registry already at the newest schema is opened without the write lock, so
 * another process holding it does not keep readers out. A first open racing
 * other processes retries on SQLITE_BUSY, asynchronously, until busyTimeoutMs.
 */
export async function openAccess(Driver: SqliteDriver, request: OpenRequest): Promise<Access> {
  try {
    return await retryWhileBusy(() => openOnce(Driver, request), request.busyTimeoutMs);
  } catch (error) {
    throw translateSqliteError(error, { location: request.location, writing: !request.readonly });
  }
}

function openOnce(Driver: SqliteDriver, request: OpenRequest): Access {
  const { location, logger } = request;
  const timeout = STATEMENT_BUSY_TIMEOUT_MS;
  // A file this process already has connections to is a registry, and must not be read through an fd of our own.
  const connected = isConnectedFile(location);
  let file = connected ? ({ kind: 'sqlite' } as const) : inspectDatabaseFile(location);
  if (file.kind === 'absent') {
    if (request.readonly) throw new StoreUnavailableError(location, new Error('the database file does not exist'));
    createDatabaseFile(location);
    file = inspectDatabaseFile(location); // another process may have created and initialised it meanwhile
  } else if (isWritableByOthers(location)) {
    logger.warn('sqlite registry file is writable by other users; not changing it', { location });
  }

  const state: SchemaState = file.kind === 'sqlite' ? identify(Driver, request, connected) : { kind: 'fresh' };

  if (request.readonly || !isWritable(location)) {
    if (!request.readonly) logger.debug('sqlite registry is not writable here; opened read-only', { location });
    return openReader(Driver, request, state.kind === 'registry');
  }

  const db = openConnection(Driver, location, { fileMustExist: true, timeout });
  try {
    const journal = db.pragma('journal_mode = WAL', { simple: true });
    if (journal !== 'wal') logger.warn('sqlite registry could not switch to WAL mode', { location, journal });
    db.pragma('synchronous = NORMAL');
    // Already current: no transaction (it would need the write lock another process may hold).
    if (state.kind === 'registry' && state.version === LATEST_SCHEMA_VERSION) return { mode: 'write', db };
    const { from, to } = migrate(db, location);
    if (from !== to) logger.debug('sqlite registry schema migrated', { location, from, to });
    return { mode: 'write', db };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Identifies an existing database without changing anything beside it. While no
 * -wal file holds frames, the file alone is the whole database: read it into
 * memory, so not even -shm/-wal files appear next to another application's
 * database. Otherwise a read-only connection reads through the WAL. A fresh
 * verdict is re-checked inside the migration transaction.
 */
function identify(Driver: SqliteDriver, request: OpenRequest, connected: boolean): SchemaState {
  const { location } = request;
  if (!connected && fileSize(`${location}-wal`) === 0) return identifyOn(openSnapshot(Driver, location, request.logger), location);
  let probe: SqliteDatabase | undefined;
  try {
    probe = openConnection(Driver, location, { readonly: true, fileMustExist: true, timeout: STATEMENT_BUSY_TIMEOUT_MS });
    return identifyOn(probe, location);
  } catch (error) {
    if (!needsWalFiles(error)) throw error;
    return identifyOn(openSnapshot(Driver, location, request.logger), location);
  } finally {
    probe?.close();
  }
}

/** Reads (and closes) `db`: what it is, and for a registry whether its pages are intact. */
function identifyOn(db: SqliteDatabase, location: string): SchemaState {
  try {
    const state = inspectSchema(db, location);
    if (state.kind === 'registry') checkIntegrity(db, location);
    return state;
  } finally {
    db.close();
  }
}

/** A read-only connection, or per-read snapshots when the WAL files cannot be created here. */
function openReader(Driver: SqliteDriver, request: OpenRequest, initialized: boolean): Access {
  const { location, logger } = request;
  const db = openConnection(Driver, location, { readonly: true, fileMustExist: true, timeout: STATEMENT_BUSY_TIMEOUT_MS });
  try {
    db.pragma('user_version'); // the first read is what needs the -shm file
    return { mode: 'read', db, initialized };
  } catch (error) {
    db.close();
    if (!needsWalFiles(error)) throw error;
    logger.debug('sqlite registry is in WAL mode in a directory this process cannot write; reading snapshots', { location });
    return { mode: 'snapshot', open: () => openSnapshot(Driver, location, logger), initialized };
  }
}

/**
 * A WAL database cannot be read without its -shm file, and a read-only
 * connection cannot create one in a directory it may not write (SQLITE_CANTOPEN /
 * SQLITE_READONLY_DIRECTORY). Such a file was checkpointed when its last writer
 * closed, so the file alone is complete: read it into memory and mark that copy
 * (never the file) as a rollback-journal database, which the memory VFS can open.
 */
function openSnapshot(Driver: SqliteDriver, location: string, logger: Logger): SqliteDatabase {
  const bytes = readFileSync(location);
  if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  if (fileSize(`${location}-wal`) > 0) {
    logger.warn('sqlite registry has a -wal file this process cannot use; listing may miss recent writes', { location });
  }
  return openConnection(Driver, bytes, { readonly: true });
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
