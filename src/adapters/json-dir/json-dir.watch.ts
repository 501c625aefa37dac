import { statSync, watch, type FSWatcher } from 'node:fs';
import type { RegistryError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.port.js';
import type { StoreChange, StoreWatch } from '../../ports/store.port.js';
import { instanceIdOfName } from './entry-file.js';
import { errnoOf, translateFsError } from './fs-errors.js';

export interface DirectoryWatchOptions {
  readonly dir: string;
  /** Events within this window after the first one are reported together. */
  readonly debounceMs: number;
  /** A resync is reported this often, and a lost fs.watch re-attached: fs.watch may drop events. */
  readonly rescanIntervalMs: number;
  readonly logger: Logger;
  readonly onChange: (change: StoreChange) => void;
  readonly onError?: (error: RegistryError) => void;
}

/**
 * Watches the registry directory with fs.watch (inotify, FSEvents,
 * ReadDirectoryChangesW). Bursts (an atomic write is a temp file plus a rename,
 * a lock is a directory made and removed) are coalesced into one change per
 * debounce window. fs.watch is not reliable everywhere (network file systems
 * report nothing, some platforms drop events under load, a directory that is
 * deleted and re-created is no longer watched), so a periodic rescan reports a
 * resync and re-attaches the watch when the directory is back or was replaced.
 */
export class DirectoryWatch implements StoreWatch {
  private watcher: FSWatcher | undefined;
  /** Inode of the directory the watcher is attached to: another one means it was replaced. */
  private watchedIno: number | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<string>();
  private pendingResync = false;
  private reportedFailure = false;
  private closed = false;

  constructor(private readonly options: DirectoryWatchOptions) {}

  start(): void {
    this.attach();
    this.rescanTimer = setInterval(() => this.rescan(), this.options.rescanIntervalMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.rescanTimer = undefined;
    this.flushTimer = undefined;
    if (this.detach()) {
      // FSWatcher.close() emits 'close' before libuv has freed the handle, which
      // happens in the loop's close phase: wait for that, so a closed watch holds nothing.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private attach(): void {
    const { dir } = this.options;
    let ino: number;
    try {
      ino = statSync(dir).ino;
      const watcher = watch(dir, { persistent: true }, (_event, filename) => this.onEvent(filename));
      watcher.on('error', (error) => {
        if (this.watcher !== watcher) return;
        this.detach();
        this.fail(error);
        this.queue(undefined);
      });
      this.watcher = watcher;
      this.watchedIno = ino;
      this.reportedFailure = false;
    } catch (error) {
      // A directory not there yet (it is created on the first write) is watched by the rescan until it is.
      if (errnoOf(error) !== 'ENOENT') this.fail(error);
    }
  }

  /** Closes the fs.watch handle; says whether there was one. */
  private detach(): boolean {
    const watcher = this.watcher;
    this.watcher = undefined;
    this.watchedIno = undefined;
    watcher?.close();
    return watcher !== undefined;
  }

  private rescan(): void {
    if (this.closed) return;
    let ino: number | undefined;
    try {
      ino = statSync(this.options.dir).ino;
    } catch {
      ino = undefined;
    }
    if (this.watcher && ino !== this.watchedIno) this.detach();
    if (!this.watcher && ino !== undefined) this.attach();
    this.queue(undefined);
  }

  private onEvent(filename: string | Buffer | null): void {
    if (filename === null) return this.queue(undefined);
    const name = typeof filename === 'string' ? filename : filename.toString('utf8');
    const id = instanceIdOfName(name);
    // Temp files, lock directories and the quarantine change only around an entry's own event.
    if (id !== undefined) this.queue(id);
  }

  /** `undefined`: anything may have changed. */
  private queue(instanceId: string | undefined): void {
    if (this.closed) return;
    if (instanceId === undefined) this.pendingResync = true;
    else this.pending.add(instanceId);
    this.flushTimer ??= setTimeout(() => this.flush(), this.options.debounceMs);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.closed) return;
    const change: StoreChange = this.pendingResync ? {} : { instanceIds: [...this.pending] };
    this.pending.clear();
    this.pendingResync = false;
    this.options.onChange(change);
  }

  private fail(error: unknown): void {
    if (this.reportedFailure) return;
    this.reportedFailure = true;
    const translated = translateFsError(error, { op: 'read', location: this.options.dir });
    this.options.logger.warn(`cannot watch registry directory ${this.options.dir}; rescanning every ${this.options.rescanIntervalMs} ms`, {
      code: translated.code,
      error: translated.message,
    });
    this.options.onError?.(translated);
  }
}
