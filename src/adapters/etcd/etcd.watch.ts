import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { RegistryError } from '../../domain/errors.js';
import { isValidInstanceId } from '../../domain/instance-id.js';
import type { Logger } from '../../ports/logger.port.js';
import type { StoreChange, StoreWatch } from '../../ports/store.port.js';

export interface PrefixWatchOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly logger: Logger;
  readonly translate: (error: unknown) => RegistryError;
  readonly onChange: (change: StoreChange) => void;
  readonly onError?: (error: RegistryError) => void;
  /** How long start() waits for the watch to be established before it reports the store unavailable and goes on trying. */
  readonly connectTimeoutMs: number;
  /** How long close() waits for etcd to confirm the cancellation; the watcher is dropped either way. */
  readonly cancelTimeoutMs: number;
  /** Called once by close(), so the store forgets this watch. */
  readonly onClose: () => void;
}

/** A back-off as cockatiel's IBackoff: what etcd3 waits between attempts to re-open watch streams. */
export interface WatchBackoff {
  readonly duration: number;
  next(): WatchBackoff;
}

/**
 * Exponential (100 ms, 200 ms, …) with jitter on the upper half, capped at
 * `maxMs`. etcd3's default grows to 30 s, which delays a watch's resumption
 * after an outage by as much, and keeps a process alive that long after
 * close() (etcd3 does not cancel its pending reconnection timer).
 */
export function watchBackoff(maxMs: number, attempt = 0): WatchBackoff {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16));
  return { duration: Math.round(ceiling / 2 + (Math.random() * ceiling) / 2), next: () => watchBackoff(maxMs, attempt + 1) };
}

/** Pause before a watch that etcd cancelled (e.g. its revision was compacted) is created again. */
const RECREATE_DELAY_MS = 500;

/**
 * One etcd watch on the registry's prefix. Every put and delete under it is a
 * change of that instance. etcd3 re-establishes a dropped watch stream by itself
 * (with back-off) and resumes from the last revision it saw; because events of
 * a compacted revision cannot be replayed, and to be safe whatever happened,
 * every reconnection is reported as a resync (the watcher lists again). A watch
 * etcd cancels ('error') is created anew after a pause, also followed by a resync.
 * Deletes carry no cause (an explicit delete and a lease expiry look the same on
 * the wire); the watcher tells them apart from the record's heartbeat age.
 */
export class PrefixWatch implements StoreWatch {
  private watcher: Watcher | undefined;
  private recreateTimer: NodeJS.Timeout | undefined;
  /** The stream was lost (or never came up): the next 'connected' is a resync. */
  private needsResync = false;
  private reportedOutage = false;
  private closed = false;

  constructor(private readonly options: PrefixWatchOptions) {}

  /** Resolves once etcd confirmed the watch, or after connectTimeoutMs (the watch keeps trying then). */
  async start(): Promise<void> {
    const watcher = this.attach();
    let timer: NodeJS.Timeout | undefined;
    const connected = await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs);
      watcher.once('connected', () => resolve(true));
      watcher.once('error', () => resolve(false));
    });
    clearTimeout(timer);
    if (!connected && !this.closed) {
      this.needsResync = true;
      this.outage(new Error(`the watch on ${this.options.prefix} was not established within ${this.options.connectTimeoutMs} ms`));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.recreateTimer) clearTimeout(this.recreateTimer);
    this.recreateTimer = undefined;
    const watcher = this.watcher;
    this.watcher = undefined;
    this.options.onClose();
    if (!watcher) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.cancelTimeoutMs)));
    try {
      await Promise.race([watcher.cancel(), gaveUp]);
    } catch (error) {
      this.options.logger.debug(`etcd store: cancelling the watch failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      watcher.removeAllListeners();
      // etcd3 emits 'error' on watchers it drops; never let one be unhandled after close.
      watcher.on('error', () => {});
    }
  }

  private attach(): Watcher {
    const watcher = this.options.client.watch().prefix(this.options.prefix).watcher();
    this.watcher = watcher;
    watcher.on('put', (kv: IKeyValue) => this.changed(kv));
    watcher.on('delete', (kv: IKeyValue) => this.changed(kv));
    watcher.on('connected', () => {
      if (this.closed || this.watcher !== watcher) return;
      this.reportedOutage = false;
      if (this.needsResync) {
        this.needsResync = false;
        this.options.logger.debug(`etcd store: watch on ${this.options.prefix} re-established; listing again`);
        this.options.onChange({});
      }
    });
    watcher.on('disconnected', (error: Error) => {
      if (this.closed || this.watcher !== watcher) return;
      this.needsResync = true;
      this.outage(error);
    });
    watcher.on('error', (error: Error) => {
      if (this.closed || this.watcher !== watcher) return;
      // etcd cancelled this watch for good (compacted revision, permissions): make a new one.
      this.watcher = undefined;
      this.needsResync = true;
      this.outage(error);
      void watcher.cancel().catch(() => undefined);
      this.recreateTimer = setTimeout(() => {
        this.recreateTimer = undefined;
        if (!this.closed) this.attach();
      }, RECREATE_DELAY_MS);
    });
    return watcher;
  }

  private changed(kv: IKeyValue): void {
    if (this.closed) return;
    const name = kv.key.toString('utf8').slice(this.options.prefix.length);
    this.options.onChange(isValidInstanceId(name) ? { instanceIds: [name] } : {});
  }

  private outage(error: unknown): void {
    if (this.reportedOutage) return;
    this.reportedOutage = true;
    const translated = this.options.translate(error);
    this.options.logger.warn(`etcd store: watch on ${this.options.prefix} interrupted; it resumes by itself`, { code: translated.code, error: translated.message });
    this.options.onError?.(translated);
  }
}
