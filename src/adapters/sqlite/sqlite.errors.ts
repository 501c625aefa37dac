import {
  NotARegistryError,
  ReadOnlyStoreError,
  RegistryError,
  StoreUnavailableError,
} from '../../domain/errors.js';

/** What an operation was doing when SQLite failed: the same code means different things for reads and writes. */
export interface SqliteErrorContext {
  readonly location: string;
  readonly writing: boolean;
}

type Translate = (error: unknown, context: SqliteErrorContext) => RegistryError;

const unavailable: Translate = (error, { location }) => new StoreUnavailableError(location, error);
const readOnly: Translate = (error, { location }) => new ReadOnlyStoreError(location, error);
const readOnlyIfWriting: Translate = (error, context) => (context.writing ? readOnly : unavailable)(error, context);
const notARegistry =
  (reason: string): Translate =>
  (error, { location }) =>
    new NotARegistryError(location, reason, error);

/**
 * The one lookup table from driver and file-system codes to registry errors.
 * Extended SQLite codes (SQLITE_READONLY_DIRECTORY, SQLITE_BUSY_SNAPSHOT…) fall
 * back to their primary code. Anything unknown is a (retryable) unavailable store.
 */
const BY_CODE: Readonly<Record<string, Translate>> = {
  // Another connection holds the lock past busy_timeout: a later attempt may succeed.
  SQLITE_BUSY: unavailable,
  SQLITE_LOCKED: unavailable,
  SQLITE_READONLY: readOnly,
  SQLITE_PERM: readOnly,
  SQLITE_AUTH: readOnly,
  SQLITE_CANTOPEN: readOnlyIfWriting,
  EACCES: readOnlyIfWriting,
  EPERM: readOnlyIfWriting,
  EROFS: readOnlyIfWriting,
  SQLITE_NOTADB: notARegistry('not an SQLite database'),
  SQLITE_CORRUPT: notARegistry('the SQLite database is corrupt or truncated'),
};

export function translateSqliteError(error: unknown, context: SqliteErrorContext): RegistryError {
  if (error instanceof RegistryError) return error;
  const code = errorCode(error);
  const translate = BY_CODE[code] ?? BY_CODE[primaryCode(code)] ?? unavailable;
  return translate(error, context);
}

/** SQLITE_BUSY / SQLITE_LOCKED (and their extended codes): the lock was held past busy_timeout. */
export function isBusy(error: unknown): boolean {
  const primary = primaryCode(errorCode(error));
  return primary === 'SQLITE_BUSY' || primary === 'SQLITE_LOCKED';
}

/** Whether the read failed because a WAL database needs -shm/-wal files it cannot create (read-only directory). */
export function needsWalFiles(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'SQLITE_READONLY_DIRECTORY' || primaryCode(code) === 'SQLITE_CANTOPEN';
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function primaryCode(code: string): string {
  return /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
}
