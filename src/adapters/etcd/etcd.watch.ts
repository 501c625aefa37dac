import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { RegistryError } from '../../domain/errors.js';
import { isValidInstanceId } from '../../domain/instance-id.js';
import type { Logger } from '../../ports/logger.port.js';
import type { StoreChange, StoreWatch } from '../../ports/store.port.js';
import type { MemberClients } from './etcd.members.js';
import { DEPARTURE_NOTES } from './etcd.options.js';

export interface PrefixWatchOptions {
  /** The watch runs on one member at a time, starting with the first endpoint. */
  readonly members: MemberClients;
  /** How often the watch's member is asked, with a deadline of checkTimeoutMs, whether it still serves. */
  readonly checkIntervalMs: number;
  readonly checkTimeoutMs: number;
  /** Upper bound of the pause between moves once every member failed in a row. */
  readonly maxRetryDelayMs: number;
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
 * change of that instance. The watch runs on one member; a watch stream on a
 * hung member delivers nothing and never fails, so every checkIntervalMs that
 * member must answer a linearizable read within checkTimeoutMs. When it does
 * not, or its stream breaks, the watch moves to the next member and resumes
 * from the last revision it saw (docs/adr/0021-etcd-hung-member-failover.md).
 * Because events of a compacted revision cannot be replayed, and to be safe
 * whatever happened, every such move is also reported as a resync (the watcher
 * lists again). A watch etcd cancels ('error') is created anew after a pause,
 * also followed by a resync. Only when every member failed in a row is the
 * outage reported through onError.
 * Deletes carry no cause (an explicit delete and a lease expiry look the same on
 * the wire); the watcher tells them apart from the record's heartbeat age.
 */
export class PrefixWatch implements StoreWatch {
  private watcher: Watcher | undefined;
  /** This watch's own client of its member; closed when the watch leaves the member. */
  private client: Etcd3 | undefined;
  private moveTimer: NodeJS.Timeout | undefined;
  /** The member the watch runs on (an index into options.members). */
  private member = 0;
  /** Moves to another member since the watch was last confirmed. */
  private movesInRow = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly onConnected = new Set<() => void>();
  private recreateTimer: NodeJS.Timeout | undefined;
  /** The stream was lost (or never came up): the next 'connected' is a resync. */
  private needsResync = false;
  private reportedOutage = false;
  private closed = false;

  constructor(private readonly options: PrefixWatchOptions) {}

  /** Resolves once etcd confirmed the watch, or after connectTimeoutMs (the watch keeps trying then). */
  async start(): Promise<void> {
    this.attach(undefined);
    // With one member there is nowhere to go: etcd3 re-opens the stream there by itself.
    if (this.options.members.size > 1) {
      this.checkTimer = setInterval(() => void this.check(), this.options.checkIntervalMs);
      this.checkTimer.unref();
    }
    let timer: NodeJS.Timeout | undefined;
    let done: (() => void) | undefined;
    const connected = await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs);
      done = () => resolve(true);
      this.onConnected.add(done);
    });
    clearTimeout(timer);
    if (done) this.onConnected.delete(done);
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
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = undefined;
    const watcher = this.watcher;
    this.watcher = undefined;
    const client = this.client;
    this.client = undefined;
    this.options.onClose();
    if (!watcher) return void client?.close();
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
      client?.close();
    }
  }

  /** Watches the prefix on the current member, from `startRevision` when given (else from now). */
  private attach(startRevision: string | undefined): Watcher {
    this.client ??= this.options.members.openOwn(this.member);
    const builder = this.client.watch().prefix(this.options.prefix);
    if (startRevision !== undefined) builder.startRevision(startRevision);
    const watcher = builder.watcher();
    this.watcher = watcher;
    watcher.on('put', (kv: IKeyValue) => this.changed(kv));
    watcher.on('delete', (kv: IKeyValue) => this.changed(kv));
    watcher.on('connected', () => {
      if (this.closed || this.watcher !== watcher) return;
      this.reportedOutage = false;
      this.movesInRow = 0;
      for (const resolve of this.onConnected) resolve();
      if (this.needsResync) {
        this.needsResync = false;
        this.options.logger.debug(`etcd store: watch on ${this.options.prefix} re-established; listing again`);
        this.options.onChange({});
      }
    });
    watcher.on('disconnected', (error: Error) => {
      if (this.closed || this.watcher !== watcher) return;
      this.needsResync = true;
      if (this.options.members.size === 1) return this.outage(error);
      // The member dropped the stream (stopped, restarting): go on on the next one,
      // out of etcd3's own handling of the error.
      setImmediate(() => {
        if (!this.closed && this.watcher === watcher) this.move(error);
      });
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
        if (!this.closed) this.attach(undefined);
      }, RECREATE_DELAY_MS);
    });
    return watcher;
  }

  /**
   * Asks the watch's member for a linearizable read of one key, with a
   * deadline: a hung member, or one cut off from the leader, does not answer,
   * and its watch stream would deliver nothing. Never throws: it runs on a timer.
   */
  private async check(): Promise<void> {
    const watcher = this.watcher;
    if (this.closed || this.checking || !watcher) return;
    this.checking = true;
    const timeoutMs = this.options.checkTimeoutMs;
    const client = this.client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = client
        .get(this.options.prefix)
        .options({ deadline: Date.now() + timeoutMs })
        .exec();
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 50)));
      await Promise.race([read, late]);
    } catch (error) {
      if (!this.closed && this.watcher === watcher) this.move(error);
    } finally {
      clearTimeout(timer);
      this.checking = false;
    }
  }

  /**
   * Leaves the current member for the next one, resuming from the last
   * revision the watch saw. Once every member failed in a row, each further
   * move waits (exponential, up to maxRetryDelayMs): the cluster is down.
   */
  private move(reason: unknown): void {
    if (this.moveTimer) return;
    const old = this.watcher;
    const from = this.member;
    // etcd3 keeps the revision after the last one it delivered (a decimal string at run time).
    const last = old?.lastRevision();
    const startRevision = last === undefined || last === null ? undefined : String(last);
    if (old) this.drop(old);
    this.watcher = undefined;
    this.member = (from + 1) % this.options.members.size;
    this.movesInRow += 1;
    this.needsResync = true;
    const message = `etcd store: watch on ${this.options.prefix} left ${this.options.members.endpoint(from)} (${(reason as Error)?.message ?? String(reason)}); resuming on ${this.options.members.endpoint(this.member)}${startRevision ? ` from revision ${startRevision}` : ''}`;
    if (this.movesInRow === 1) this.options.logger.warn(message);
    else this.options.logger.debug(message);
    const size = this.options.members.size;
    if (this.movesInRow < size) return void this.attach(startRevision);
    // Every member failed in a row: the cluster is out of reach, say so (once).
    this.outage(reason);
    const delay = watchBackoff(this.options.maxRetryDelayMs, this.movesInRow - size).duration;
    this.moveTimer = setTimeout(() => {
      this.moveTimer = undefined;
      if (!this.closed && !this.watcher) this.attach(startRevision);
    }, delay);
  }

  /**
   * Forgets a watcher on a member we left, and closes this watch's client of
   * that member: the cancellation may never be answered (a hung member).
   */
  private drop(watcher: Watcher): void {
    watcher.removeAllListeners();
    watcher.on('error', () => {});
    watcher.cancel().catch(() => undefined);
    this.client?.close();
    this.client = undefined;
  }

  private changed(kv: IKeyValue): void {
    if (this.closed) return;
    const name = kv.key.toString('utf8').slice(this.options.prefix.length);
    if (name.startsWith(DEPARTURE_NOTES)) return; // a clean stop's note: the delete beside it is the change
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
