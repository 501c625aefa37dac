import type { RegistryEvent } from '../../domain/changes.js';
import type { RegistryError } from '../../domain/errors.js';
import type { RegistryWatcher, WatchSink } from './registry-watcher.js';

/** Makes the watcher for one iteration, delivering to `sink`. May throw (a closed registry). */
export type OpenWatcher = (sink: WatchSink) => RegistryWatcher;

/**
 * The AsyncIterable form of a watch. Each iteration (each `for await`) runs its
 * own watcher, started by the first next(). Iteration ends cleanly when the
 * signal aborts, when the loop exits (break/return/throw call return()), or
 * when the registry closes; the watcher's handles and timers are released
 * before the iterator reports done. Only a failed start (the first listing)
 * makes next() reject; later store outages are retried silently (logged).
 * Events are buffered until read.
 */
export function watchIterable(open: OpenWatcher, signal: AbortSignal | undefined): AsyncIterable<RegistryEvent> {
  return { [Symbol.asyncIterator]: () => new WatchIterator(open, signal) };
}

type Waiter = { resolve: (result: IteratorResult<RegistryEvent>) => void; reject: (error: unknown) => void };

class WatchIterator implements AsyncIterator<RegistryEvent> {
  private readonly buffer: RegistryEvent[] = [];
  private waiter: Waiter | undefined;
  private failure: unknown;
  private started = false;
  private done = false;
  private watcher: RegistryWatcher | undefined;
  private readonly onAbort = () => void this.finish();

  constructor(
    private readonly open: OpenWatcher,
    private readonly signal: AbortSignal | undefined,
  ) {}

  next(): Promise<IteratorResult<RegistryEvent>> {
    if (!this.started) this.start();
    const event = this.buffer.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<RegistryEvent>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  private start(): void {
    this.started = true;
    if (this.signal?.aborted) {
      this.done = true;
      return;
    }
    const sink: WatchSink = {
      event: (event) => this.deliver(event),
      error: (error, fatal) => {
        if (fatal) this.fail(error);
      },
      end: () => this.ended(),
    };
    try {
      this.watcher = this.open(sink);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.watcher.start();
  }

  private deliver(event: RegistryEvent): void {
    if (this.done) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.buffer.push(event);
  }

  private fail(error: RegistryError | unknown): void {
    if (this.done) return;
    this.done = true;
    this.buffer.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.reject(error);
    else this.failure = error;
  }

  /** The watcher is closed: whatever is buffered is dropped, a waiting next() says done. */
  private ended(): void {
    this.done = true;
    this.buffer.length = 0;
    this.signal?.removeEventListener('abort', this.onAbort);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  private async finish(): Promise<void> {
    this.started = true;
    if (this.watcher) await this.watcher.close();
    else this.ended();
  }
}
