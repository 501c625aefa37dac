import type { Logger } from '../../ports/logger.port.js';

/** How to open a `sqlite:<path>` registry. */
export interface SqliteStoreOptions {
  /** The database file. Required. Parent directories are created (0700), the file 0600. */
  readonly path: string;
  /**
   * Open read-only: list and get work, every write throws ReadOnlyStoreError.
   * Default false. A file or directory this process cannot write is opened
   * read-only anyway.
   */
  readonly readonly?: boolean;
  /**
   * How long an operation keeps retrying while another process holds the
   * database's lock before it fails with STORE_UNAVAILABLE. Default 5000 ms.
   * The wait is asynchronous (timers with back-off): one statement blocks the
   * event loop for at most STATEMENT_BUSY_TIMEOUT_MS. Cleanup (prune) never waits.
   */
  readonly busyTimeoutMs?: number;
  /** Where to report what the store handled by itself (read-only fallbacks, skipped rows). Default: silent. */
  readonly logger?: Logger;
  /** watch(): how often PRAGMA data_version is polled for other connections' commits. Default 100 ms. */
  readonly watchPollMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/**
 * SQLite's own busy_timeout on every connection: how long one synchronous
 * statement may wait for a lock, blocking the host's event loop meanwhile.
 * Longer waits are asynchronous retries (see sqlite.retry.ts).
 */
export const STATEMENT_BUSY_TIMEOUT_MS = 5;
/** deleteSync (a process 'exit' handler): the process is ending, so it may wait this long for the lock. */
export const EXIT_BUSY_TIMEOUT_MS = 50;
export const DEFAULT_WATCH_POLL_MS = 100;

