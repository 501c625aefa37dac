import { EventEmitter } from 'node:events';
import type { RegistryEvent } from '../../domain/changes.js';
import type { RegistryError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.port.js';
import type { RegistryWatcher } from './registry-watcher.js';
import type { OpenWatcher } from './watch-iterable.js';

/** The events of a WatchEmitter and what their listeners receive. */
export interface WatchEmitterEvents {
  added: [event: Extract<RegistryEvent, { type: 'added' }>];
  updated: [event: Extract<RegistryEvent, { type: 'updated' }>];
  removed: [event: Extract<RegistryEvent, { type: 'removed' }>];
  /**
   * A store failure. `fatal` false: the watch goes on and retries (reported once
   * per outage); true: it could not start and is closed. Without an 'error'
   * listener failures are logged, never thrown: a watch must not crash its host.
   */
  error: [error: RegistryError, fatal: boolean];
  /** The watch ended (close(), the signal, the registry closing, or a fatal error). Emitted once. */
  close: [];
}

/**
 * The EventEmitter form of a watch. It starts at once; the current state
 * arrives as 'added' events after the first listing, so listeners attached in
 * the same tick miss nothing. close() (or the signal) releases everything.
 */
export class WatchEmitter extends EventEmitter<WatchEmitterEvents> {
  private readonly watcher: RegistryWatcher | undefined;
  private readonly onAbort = () => void this.close();
  private ended = false;

  /** Use ServiceRegistry.watchEvents(). */
  constructor(open: OpenWatcher, signal: AbortSignal | undefined, logger: Logger) {
    super();
    const report = (error: RegistryError, fatal: boolean) => {
      if (this.listenerCount('error') > 0) this.emit('error', error, fatal);
      else logger.warn(`watch: ${error.message}`, { code: error.code, fatal });
    };
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      signal?.removeEventListener('abort', this.onAbort);
      this.emit('close');
    };
    if (signal?.aborted) {
      queueMicrotask(end);
      return;
    }
    try {
      this.watcher = open({
        event: (event) => {
          if (this.ended) return;
          if (event.type === 'added') this.emit('added', event);
          else if (event.type === 'updated') this.emit('updated', event);
          else this.emit('removed', event);
        },
        error: report,
        end,
      });
    } catch (error) {
      queueMicrotask(() => {
        report(error as RegistryError, true);
        end();
      });
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.watcher.start();
  }

  /** Stops watching and releases every handle and timer. Idempotent; resolves after 'close'. */
  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
