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
  /** How long a statement waits for another process's lock before failing (SQLite busy_timeout). Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Where to report what the store handled by itself (read-only fallbacks, skipped rows). Default: silent. */
  readonly logger?: Logger;
  /** watch(): how often PRAGMA data_version is polled for other connections' commits. Default 100 ms. */
  readonly watchPollMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const DEFAULT_WATCH_POLL_MS = 100;

export const SILENT_LOGGER: Logger = {
  debug() {},
  warn() {},
  error() {},
};
