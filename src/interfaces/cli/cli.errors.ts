import { RegistryError } from '../../domain/errors.js';

// The CLI's own errors (connect's bridge, stop): they live with their front
// end, on the one RegistryError base (codes are listed in RegistryErrorCode).

/** The instance could not be reached, or failed while we talked to it. */
export class ConnectionFailedError extends RegistryError {
  override name = 'ConnectionFailedError';
  constructor(target: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('CONNECTION_FAILED', `the instance at ${target} failed${why}`, { cause, retryable: true, details: { target } });
  }
}

/** `stop` would not signal this instance: another host's, or a pid whose process cannot be proved the registered one. */
export class StopRefusedError extends RegistryError {
  override name = 'StopRefusedError';
  constructor(instanceId: string, reason: 'other-host' | 'pid-reused' | 'unverifiable', message: string) {
    super('STOP_REFUSED', `not stopping ${instanceId}: ${message}`, { details: { instanceId, reason } });
  }
}

/**
 * The child could not be started at all (ENOENT, EACCES): `connect` exits 127,
 * as a shell does. Here, not with the child transport: connect checks for it
 * without loading node:child_process for an HTTP instance.
 */
export class SpawnFailedError extends Error {
  override name = 'SpawnFailedError';
}
