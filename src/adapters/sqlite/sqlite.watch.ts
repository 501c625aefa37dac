import type { RegistryError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.port.js';
import type { StoreChange, StoreWatch } from '../../ports/store.port.js';

export interface CommitPollOptions {
  /**
   * A cheap token that changes whenever another connection commits:
   * `PRAGMA data_version` on the store's own connection, or the database
   * files' stat when each read opens a fresh snapshot.
   */
  readonly probe: () => string;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly onChange: (change: StoreChange) => void;
  readonly onError?: (error: RegistryError) => void;
  readonly translate: (error: unknown) => RegistryError;
  /** Called once by close(), so the store forgets this watch. */
  readonly onClose: () => void;
}

/**
 * SQLite has no cross-process notification, but `PRAGMA data_version` (a
 * counter local to the connection, read without touching the database file's
 * pages) changes exactly when another connection — this process's or
 * another's — has committed. Polling it costs microseconds, so it runs every
 * intervalMs. Commits of the store's own connection do not change it: the
 * store reports those itself through notify().
 */
export class CommitPoll implements StoreWatch {
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private failing = false;
  private closed = false;

  constructor(private readonly options: CommitPollOptions) {}

  start(): void {
    this.last = this.read();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  /** A commit of the store's own connection. */
  notify(instanceId: string): void {
    if (!this.closed) this.options.onChange({ instanceIds: [instanceId] });
  }

  /** The store opened its file again: anything may have changed. */
  resync(): void {
    if (!this.closed) this.options.onChange({});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.onClose();
  }

  private tick(): void {
    if (this.closed) return;
    const current = this.read();
    if (current === undefined || current === this.last) return;
    this.last = current;
    this.options.onChange({});
  }

  private read(): string | undefined {
    try {
      const value = this.options.probe();
      if (this.failing) {
        this.failing = false;
        this.options.onChange({}); // back after a failure: whatever happened meanwhile
      }
      return value;
    } catch (error) {
      if (!this.failing) {
        this.failing = true;
        const translated = this.options.translate(error);
        this.options.logger.warn('sqlite registry: polling for commits failed; retrying', { code: translated.code, error: translated.message });
        this.options.onError?.(translated);
      }
      return undefined;
    }
  }
}
