import {
  AccessDeniedError,
  LockBusyError,
  NotARegistryError,
  ReadOnlyStoreError,
  RegistryError,
  StoreUnavailableError,
} from '../../domain/errors.js';

/** What the failing call was doing: the same errno means different things to a reader and a writer. */
export type FsOperation = 'read' | 'write';

export interface FsErrorContext {
  readonly op: FsOperation;
  /** The registry directory (or the entry path) for the message. */
  readonly location: string;
  readonly instanceId?: string;
}

type Translation = (error: NodeJS.ErrnoException, context: FsErrorContext) => RegistryError;

const readOnly: Translation = (error, { location }) => new ReadOnlyStoreError(location, error);
const unavailable: Translation = (error, { location }) => new StoreUnavailableError(location, error);
const denied: Translation = (error, { location }) => new AccessDeniedError(location, error);
const notADirectory: Translation = (error, { location }) => new NotARegistryError(location, 'a path component is not a directory', error);
const lockBusy: Translation = (error, { location, instanceId }) => new LockBusyError(instanceId ?? location, error);

/**
 * The one place driver (errno) errors become RegistryErrors. A permission or
 * read-only-filesystem error on a write means the store is read-only (it can
 * still be listed); on a read it means the store cannot be used at all.
 */
const TABLE: Record<FsOperation, Readonly<Record<string, Translation>>> = {
  write: {
    EACCES: readOnly,
    EPERM: readOnly,
    EROFS: readOnly,
    ENOTDIR: notADirectory,
    ELOCKED: lockBusy,
  },
  read: {
    EACCES: denied,
    EPERM: denied,
    ENOTDIR: notADirectory,
    ELOCKED: lockBusy,
  },
};

/** Translates anything thrown by fs / proper-lockfile; RegistryErrors pass through. */
export function translateFsError(error: unknown, context: FsErrorContext): RegistryError {
  if (error instanceof RegistryError) return error;
  const errno = error as NodeJS.ErrnoException;
  const code = typeof errno?.code === 'string' ? errno.code : '';
  const translate = TABLE[context.op][code] ?? unavailable;
  return translate(error instanceof Error ? errno : Object.assign(new Error(String(error)), { code }), context);
}

/** The errno code of a thrown value, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
