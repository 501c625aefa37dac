/**
 * One error base class with a stable string `code`. Codes survive process
 * boundaries (CLI JSON output, HTTP, logs); `instanceof` does not.
 */
export type RegistryErrorCode =
  | 'INVALID_RECORD'
  | 'INVALID_INSTANCE_ID'
  | 'UNSUPPORTED_SCHEMA_VERSION'
  | 'NOT_FOUND'
  | 'NOT_REGISTERED'
  | 'INSECURE_DIRECTORY'
  | 'READ_ONLY_STORE'
  | 'NOT_A_REGISTRY'
  | 'DRIVER_MISSING'
  | 'INVALID_STORE_URI'
  | 'STORE_UNAVAILABLE'
  | 'ACCESS_DENIED'
  | 'AUTH_FAILED'
  | 'TLS_FAILED'
  | 'CONFLICT'
  | 'LOCK_BUSY'
  | 'REGISTRY_CLOSED'
  | 'UNSAFE_COMMAND'
  | 'INVALID_CONNECTION'
  | 'CONNECTION_FAILED'
  | 'NO_ENDPOINT'
  | 'UNTRUSTED_COMMAND'
  | 'INVALID_MONITOR_OPTIONS'
  | 'LISTEN_FAILED'
  | 'INSTANCE_ID_TAKEN'
  | 'STOP_REFUSED'
  | 'ENTRY_TAKEN_OVER';

export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly code: RegistryErrorCode;
  /** Whether repeating the same call later may succeed. */
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: RegistryErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    const cause = this.cause instanceof Error ? { name: this.cause.name, message: this.cause.message } : this.cause;
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable, details: this.details, cause };
  }
}

export class InvalidRecordError extends RegistryError {
  override name = 'InvalidRecordError';
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('INVALID_RECORD', message, options);
  }
}

export class InvalidInstanceIdError extends RegistryError {
  override name = 'InvalidInstanceIdError';
  constructor(id: unknown) {
    super('INVALID_INSTANCE_ID', `invalid instance id ${JSON.stringify(String(id)).slice(0, 160)}: must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`, {
      details: { instanceId: String(id).slice(0, 200) },
    });
  }
}

export class UnsupportedSchemaVersionError extends RegistryError {
  override name = 'UnsupportedSchemaVersionError';
  /** `what` was written by a newer format (a record, a database) and is left untouched. */
  constructor(what: string, found: number, known: number) {
    super(
      'UNSUPPORTED_SCHEMA_VERSION',
      `${what} has schema version ${found}, newer than this marcus-registry understands (${known}); upgrade marcus-registry to use it. It was left untouched.`,
      { details: { found, known } },
    );
  }
}

export class NotFoundError extends RegistryError {
  override name = 'NotFoundError';
  constructor(instanceId: string) {
    super('NOT_FOUND', `no registry entry for instance ${instanceId}`, { details: { instanceId } });
  }
}

export class NotRegisteredError extends RegistryError {
  override name = 'NotRegisteredError';
  constructor() {
    super('NOT_REGISTERED', 'this registry has not registered an instance: call register() first');
  }
}

export class InsecureDirectoryError extends RegistryError {
  override name = 'InsecureDirectoryError';
  /** Either others may write into `dir` (its mode), or it belongs to another user (`owner`). */
  constructor(dir: string, mode: number, owner?: { readonly uid: number; readonly expected: number }) {
    super(
      'INSECURE_DIRECTORY',
      owner
        ? `registry directory ${dir} belongs to uid ${owner.uid}, not to this user (uid ${owner.expected}); ` +
            `its owner could plant a record whose command a client would run. Use a directory of your own (MARCUS_REGISTRY_DIR or --store json:<dir>)`
        : `registry directory ${dir} is writable by other users (mode ${(mode & 0o777).toString(8)}); ` +
            `anyone could plant a record whose command a client would run. Fix it with: chmod 700 ${dir}`,
      { details: { dir, mode: mode & 0o777, ...(owner && { ownerUid: owner.uid, expectedUid: owner.expected }) } },
    );
  }
}

export class ReadOnlyStoreError extends RegistryError {
  override name = 'ReadOnlyStoreError';
  constructor(location: string, cause?: unknown) {
    super('READ_ONLY_STORE', `registry at ${location} is read-only: it can be listed but not written`, {
      cause,
      details: { location },
    });
  }
}

export class NotARegistryError extends RegistryError {
  override name = 'NotARegistryError';
  constructor(location: string, reason: string, cause?: unknown) {
    super('NOT_A_REGISTRY', `${location} is not a marcus registry (${reason}); it was left untouched`, {
      cause,
      details: { location, reason },
    });
  }
}

export class DriverMissingError extends RegistryError {
  override name = 'DriverMissingError';
  /** `fix` replaces the default advice (`npm install <driver>`), e.g. for a broken native build. */
  constructor(driver: string, store: string, cause?: unknown, fix = `npm install ${driver} where marcus-registry is installed (npm install -g ${driver} beside a global install)`) {
    super('DRIVER_MISSING', `the ${store} store needs the '${driver}' package: ${fix}`, {
      cause,
      details: { driver, store },
    });
  }
}

export class InvalidStoreUriError extends RegistryError {
  override name = 'InvalidStoreUriError';
  constructor(uri: string, reason: string) {
    super('INVALID_STORE_URI', `invalid store URI ${JSON.stringify(uri)}: ${reason}`, { details: { uri } });
  }
}

export class StoreUnavailableError extends RegistryError {
  override name = 'StoreUnavailableError';
  constructor(location: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('STORE_UNAVAILABLE', `registry store ${location} is unavailable${why}`, { cause, retryable: true, details: { location } });
  }
}

/** The store refused us (permissions, credentials): retrying will not help until someone changes them. */
export class AccessDeniedError extends RegistryError {
  override name = 'AccessDeniedError';
  constructor(location: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('ACCESS_DENIED', `access to registry store ${location} was denied${why}`, { cause, details: { location } });
  }
}

/** The store refused our credentials (wrong user name or password, none given where required). Never carries the password. */
export class AuthFailedError extends RegistryError {
  override name = 'AuthFailedError';
  constructor(location: string, reason: string, cause?: unknown) {
    super('AUTH_FAILED', `authentication to registry store ${location} failed: ${reason}`, { cause, details: { location } });
  }
}

/** No trusted TLS connection to the store: an untrusted or mismatched certificate, a refused client certificate. */
export class TlsFailedError extends RegistryError {
  override name = 'TlsFailedError';
  constructor(location: string, reason: string, cause?: unknown) {
    super('TLS_FAILED', `TLS connection to registry store ${location} failed: ${reason}`, { cause, details: { location } });
  }
}

export class ConflictError extends RegistryError {
  override name = 'ConflictError';
  constructor(instanceId: string, cause?: unknown) {
    super('CONFLICT', `entry ${instanceId} kept changing under a read-modify-write; gave up`, {
      cause,
      retryable: true,
      details: { instanceId },
    });
  }
}

export class LockBusyError extends RegistryError {
  override name = 'LockBusyError';
  constructor(instanceId: string, cause?: unknown) {
    super('LOCK_BUSY', `entry ${instanceId} is locked by another process`, { cause, retryable: true, details: { instanceId } });
  }
}

export class RegistryClosedError extends RegistryError {
  override name = 'RegistryClosedError';
  constructor() {
    super('REGISTRY_CLOSED', 'the registry has been closed');
  }
}

/** A command line that cannot be turned into argv without a shell (operators, expansions, unbalanced quotes). */
export class UnsafeCommandError extends RegistryError {
  override name = 'UnsafeCommandError';
  constructor(command: string, reason: string, position?: number) {
    const at = position === undefined ? '' : ` at character ${position + 1}`;
    super(
      'UNSAFE_COMMAND',
      `refusing to run ${JSON.stringify(command.slice(0, 200))} without a shell: ${reason}${at}; register the server with mcp_args (argv) instead`,
      { details: { command: command.slice(0, 1000), reason, ...(position !== undefined && { position }) } },
    );
  }
}

/** A record that says nothing usable about how to reach its instance (a bad mcp_url, an empty argv). */
export class InvalidConnectionError extends RegistryError {
  override name = 'InvalidConnectionError';
  constructor(instanceId: string, reason: string) {
    super('INVALID_CONNECTION', `cannot connect to instance ${instanceId}: ${reason}`, { details: { instanceId, reason } });
  }
}

/**
 * The instance can only be reached over the network and its record does not say
 * where: a server that serves HTTP (`transport` http/multi, a Python command with
 * --http/--multi) or a record of another host, without mcp_url or host/port keys.
 * Starting its command would start a second server, or run another host's argv here.
 */
export class NoEndpointError extends RegistryError {
  override name = 'NoEndpointError';
  constructor(instanceId: string, reason: string) {
    super('NO_ENDPOINT', `cannot connect to instance ${instanceId}: ${reason}`, { details: { instanceId, reason } });
  }
}

/** The record's command would be started, but its store holds records that other users could have written. */
export class UntrustedCommandError extends RegistryError {
  override name = 'UntrustedCommandError';
  constructor(instanceId: string, reason: string) {
    super(
      'UNTRUSTED_COMMAND',
      `refusing to start the command of instance ${instanceId}: ${reason}; only records that this user could alone have written are started (give the server an mcp_url to be reached instead)`,
      { details: { instanceId, reason } },
    );
  }
}

/** register() of an id a live instance holds, without `replace: true`: the live one is left alone. */
export class InstanceIdTakenError extends RegistryError {
  override name = 'InstanceIdTakenError';
  constructor(instanceId: string, holder: { readonly pid: number; readonly hostname?: string }) {
    const where = holder.hostname ? ` on ${holder.hostname}` : '';
    super(
      'INSTANCE_ID_TAKEN',
      `instance id ${instanceId} is held by a live instance (pid ${holder.pid}${where}); choose another id, or replace it deliberately (replace: true, run --replace)`,
      { details: { instanceId, pid: holder.pid, ...(holder.hostname !== undefined && { hostname: holder.hostname }) } },
    );
  }
}

/**
 * A write of this registration's entry (update) found it owned by another
 * registration that took the id over since (replace: true, a restarted server):
 * the entry is left as the new owner wrote it.
 */
export class EntryTakenOverError extends RegistryError {
  override name = 'EntryTakenOverError';
  constructor(instanceId: string, owner: { readonly pid: number; readonly started_at: string }) {
    super(
      'ENTRY_TAKEN_OVER',
      `entry ${instanceId} now belongs to another registration (pid ${owner.pid}, started ${owner.started_at}); it was not changed`,
      { details: { instanceId, pid: owner.pid, startedAt: owner.started_at } },
    );
  }
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}

/** Retryable errors: a later attempt of the same call may succeed. */
export function isRetryable(value: unknown): boolean {
  return value instanceof RegistryError && value.retryable;
}
