import { diffSnapshots, reasonForVanished, type RegistryEvent, type RemovalReason, type SnapshotEntry } from '../../domain/changes.js';
import { ownerOf } from '../../domain/entry-owner.js';
import { RegistryError, StoreUnavailableError } from '../../domain/errors.js';
import { withEndpointHealth } from '../../domain/endpoint-health.js';
import { heartbeatTtlMs, isLocalRecord } from '../../domain/staleness.js';
import type { Clock } from '../../ports/clock.port.js';
import type { LivenessProbe } from '../../ports/liveness.port.js';
import type { Logger } from '../../ports/logger.port.js';
import type { RegistryStore, StoreWatch } from '../../ports/store.port.js';
import type { DiscoveryService, StaleEntry } from '../discovery.service.js';
import { EndpointProber } from '../probe/endpoint-probe.js';
import type { RegistrySettings } from '../settings.js';
import { POLL_INTERVAL_MS, sweepIntervalOf, type WatchOptions } from './watch-options.js';

export interface WatcherDeps {
  readonly store: RegistryStore;
  readonly discovery: DiscoveryService;
  readonly liveness: LivenessProbe;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: RegistrySettings;
}

/** Where a watcher delivers what it finds. */
export interface WatchSink {
  event(event: RegistryEvent): void;
  /** `fatal`: the watch could not start (the first listing failed) and is over. Otherwise it goes on and retries. */
  error(error: RegistryError, fatal: boolean): void;
  /** The watch ended (closed by its consumer, aborted, the registry closed, or a fatal error). Called once. */
  end(): void;
}

interface Seen extends SnapshotEntry {
  /** When this watcher saw the entry's version change (a heartbeat it observed); undefined until it has. */
  readonly seenAt: number | undefined;
}

/** What a store without identity() answers: always there, never replaced. */
const NO_IDENTITY = '';

/** Store hints within this window are handled by one listing. */
const COALESCE_MS = 5;

/**
 * How long a live entry whose process has just exited is held before it is
 * called process-exited and pruned: its owner (`run` after its child exits,
 * close() before exit) removes it within this time when the stop is clean,
 * and leaves the note that makes it 'unregistered'.
 */
export const EXIT_GRACE_MS = 1_000;

/**
 * One watch over the registry: it keeps the last judged snapshot of live
 * entries and, whenever the store hints at a change or the sweep comes round,
 * lists and judges again and delivers the difference as events (see
 * domain/changes.ts). The first listing is delivered as one 'added' per live
 * instance. Listings never overlap: hints arriving during one cause exactly one
 * more afterwards. Stale entries are removed as discovery removes them
 * (compare-and-delete).
 */
export class RegistryWatcher {
  private snapshot = new Map<string, Seen>();
  private nativeWatch: StoreWatch | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private hintTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Live entries whose process was first found gone at this time (see EXIT_GRACE_MS), by instance id. */
  private readonly exitedSince = new Map<string, number>();
  private running: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private closing: Promise<void> | undefined;
  /** The store's identity at the last listing, and when it last changed (see keepWhileReplaced). */
  private storeIdentity: string | undefined;
  private replacedAt: number | undefined;
  /** Endpoint probes (options.probe, ADR 0023): their findings are folded into the verdicts. */
  private prober: EndpointProber | undefined;

  constructor(
    private readonly deps: WatcherDeps,
    private readonly options: WatchOptions,
    private readonly sink: WatchSink,
    private readonly onClose: () => void = () => {},
  ) {}

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Starts the native watch, then delivers the current state. Never throws: a failed start is a fatal sink error. */
  async start(): Promise<void> {
    const { store, logger } = this.deps;
    if (this.options.probe) this.prober = new EndpointProber(this.options.probe, () => this.hint());
    try {
      if (store.watch) {
        try {
          this.nativeWatch = await store.watch(() => this.hint(), { onError: (error) => this.sink.error(error, false) });
        } catch (error) {
          logger.warn(`watch: the ${store.kind} store cannot watch natively; polling it instead`, { error: String(error) });
        }
      }
      if (this.closed) return void (await this.nativeWatch?.close());
      const initial = this.refresh();
      this.running = initial.then(
        () => this.settle(),
        () => this.settle(),
      );
      await initial;
    } catch (error) {
      this.sink.error(asRegistryError(error, store.location), true);
      await this.close();
      return;
    }
    if (this.closed) return;
    const sweep = sweepIntervalOf(this.options);
    this.sweepTimer = setInterval(() => this.schedule(), this.nativeWatch ? sweep : Math.min(sweep, POLL_INTERVAL_MS));
  }

  /** Stops everything this watch holds (native watch, timers) and waits for a listing in flight. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.prober?.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.hintTimer) clearTimeout(this.hintTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.sweepTimer = undefined;
    this.hintTimer = undefined;
    this.graceTimer = undefined;
    const nativeWatch = this.nativeWatch;
    this.nativeWatch = undefined;
    try {
      await nativeWatch?.close();
      await this.running;
    } finally {
      this.onClose();
      this.sink.end();
    }
  }

  private hint(): void {
    if (this.closed || this.hintTimer) return;
    this.hintTimer = setTimeout(() => {
      this.hintTimer = undefined;
      this.schedule();
    }, COALESCE_MS);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().then(() => this.settle());
  }

  private settle(): void {
    this.running = undefined;
    if (this.again && !this.closed) this.schedule();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.refresh();
        if (this.failing) {
          this.failing = false;
          this.deps.logger.warn(`watch: ${this.deps.store.location} is readable again`);
        }
      } catch (error) {
        // Reported once per outage, the last known state kept; the next hint or sweep tries again.
        if (!this.failing && !this.closed) {
          const failure = asRegistryError(error, this.deps.store.location);
          this.deps.logger.warn(`watch: ${this.deps.store.location} is unavailable; keeping the last known state until it is back`, { code: failure.code, error: failure.message });
          this.sink.error(failure, false);
        }
        this.failing = true;
      }
    } while (this.again && !this.closed);
  }

  /** List, judge, diff against the last snapshot, deliver, prune. */
  private async refresh(): Promise<void> {
    const { store, discovery, clock } = this.deps;
    // Asked before the listing too: a store restored while a slow listing ran must not pass for one emptied.
    const identity = store.identity ? await store.identity() : NO_IDENTITY;
    const listed = await store.list();
    const prober = this.prober;
    const judged = (await discovery.verdicts(listed.entries)).map((j) => (prober ? { ...j, verdict: withEndpointHealth(j.verdict, prober.factOf(j.entry.record), prober.failures) } : j));
    if (this.closed) return;
    const now = clock.now();
    const next = new Map<string, Seen>();
    const reasons = new Map<string, RemovalReason>();
    const stale: StaleEntry[] = [];
    const exited = new Map<string, number>();
    for (const { entry, verdict } of judged) {
      const id = entry.record.instance_id;
      const before = this.snapshot.get(id);
      if (verdict.health === 'stale' && verdict.reason === 'process-exited' && before !== undefined) {
        // Seen live until now: give a clean stop the time to remove it (and say so) before calling it a crash.
        const since = this.exitedSince.get(id) ?? now;
        exited.set(id, since);
        if (now - since < EXIT_GRACE_MS) {
          next.set(id, before);
          continue;
        }
      }
      if (verdict.health === 'stale') {
        reasons.set(id, verdict.reason);
        stale.push({ entry, verdict });
        continue;
      }
      const seenAt = before === undefined ? undefined : before.version === entry.version ? before.seenAt : now;
      next.set(id, { record: entry.record, version: entry.version, health: verdict.health, ...(verdict.health === 'unresponsive' && { reason: verdict.reason }), seenAt });
    }
    this.exitedSince.clear();
    for (const [id, since] of exited) this.exitedSince.set(id, since);
    if (exited.size > 0 && !this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined;
        this.schedule();
      }, EXIT_GRACE_MS);
      this.graceTimer.unref?.();
    }
    const vanished = [...this.snapshot.values()].filter((e) => !next.has(e.record.instance_id) && !reasons.has(e.record.instance_id));
    if (vanished.length > 0) {
      // A store that is gone (directory or file removed, moved away) lists nothing: an outage, not removals.
      if (identity === undefined || (store.identity && (await store.identity()) === undefined)) {
        throw new StoreUnavailableError(store.location, new Error('the registry is gone (removed or moved away); keeping the last known state'));
      }
    }
    if (identity !== undefined && identity !== NO_IDENTITY) {
      if (this.storeIdentity !== undefined && identity !== this.storeIdentity) this.replacedAt = now;
      this.storeIdentity = identity;
    }
    if (vanished.length > 0) {
      await this.explainVanished(vanished, now, reasons);
      this.keepWhileReplaced(vanished, now, next, reasons);
    }
    if (this.closed) return;
    prober?.track([...next.values()].map((e) => e.record));
    const events = diffSnapshots(this.snapshot, next, (id) => reasons.get(id) ?? 'unregistered', this.options.filters);
    this.snapshot = next;
    for (const event of events) {
      if (this.closed) return;
      this.sink.event(event);
    }
    if (stale.length > 0) await this.prune(stale);
  }

  /**
   * The store was replaced (a new directory or database file at its path):
   * a live instance missing from it is kept, not reported removed, for two of
   * its heartbeats (its TTL when it has no interval), time for its registrant to
   * write its entry again; after that it is reported as usual.
   */
  private keepWhileReplaced(vanished: readonly Seen[], now: number, next: Map<string, Seen>, reasons: Map<string, RemovalReason>): void {
    if (this.replacedAt === undefined) return;
    for (const entry of vanished) {
      const id = entry.record.instance_id;
      if (reasons.get(id) !== 'unregistered') continue;
      const interval = entry.record.heartbeat_interval_ms;
      const grace = interval !== undefined ? 2 * interval : (heartbeatTtlMs(entry.record, this.deps.settings.staleness) ?? 0);
      if (now - this.replacedAt > grace) continue;
      next.set(id, entry);
      reasons.delete(id);
    }
  }

  /** Entries gone from the store: judged once more as they last were (see reasonForVanished). */
  private async explainVanished(vanished: readonly Seen[], now: number, reasons: Map<string, RemovalReason>): Promise<void> {
    const { liveness, settings, store } = this.deps;
    const local = vanished.filter((e) => isLocalRecord(e.record, settings.hostname)).map((e) => e.record.pid);
    const facts = local.length > 0 ? await liveness.snapshot(local) : undefined;
    // An owner's own delete (unregister, close, exit hook) is a clean stop, whatever its process did next.
    const clean = store.departedCleanly
      ? await Promise.all(vanished.map((e) => store.departedCleanly?.(e.record.instance_id, ownerOf(e.record)).catch(() => false)))
      : [];
    for (const [i, entry] of vanished.entries()) {
      const { record } = entry;
      if (clean[i] === true) {
        reasons.set(record.instance_id, 'unregistered');
        continue;
      }
      const process = facts && isLocalRecord(record, settings.hostname) ? facts.get(record.pid) : undefined;
      reasons.set(
        record.instance_id,
        reasonForVanished(
          record,
          { now, localHostname: settings.hostname, process, leaseBacked: store.capabilities.expiresEntries, lastChangeSeenAt: entry.seenAt },
          settings.staleness,
        ),
      );
    }
  }

  /** As discovery prunes (the same compare-and-delete, the same warning); a watch has no report, so what was left is logged. */
  private async prune(stale: readonly StaleEntry[]): Promise<void> {
    const { problems } = await this.deps.discovery.removeStale(stale);
    for (const problem of problems) this.deps.logger.debug(`watch: ${problem.entry}: ${problem.message}`, { code: problem.code });
  }
}

function asRegistryError(error: unknown, location: string): RegistryError {
  return error instanceof RegistryError ? error : new StoreUnavailableError(location, error);
}
