import type { RegistryEvent } from '../domain/changes.js';
import { connectionFor, type Connection } from '../domain/connection.js';
import { isOwnedBy, ownerOf, type EntryOwner } from '../domain/entry-owner.js';
import { EntryTakenOverError, InstanceIdTakenError, NotFoundError, NotRegisteredError, RegistryClosedError } from '../domain/errors.js';
import { assertInstanceId, defaultInstanceId } from '../domain/instance-id.js';
import { processIdentity, type ProcessIdentity } from '../domain/process-identity.js';
import { assertReadableInstanceId } from '../domain/python-instance-id.js';
import type { ServiceFilters } from '../domain/filters.js';
import { rankByPreference, type Candidate, type PreferenceContext } from '../domain/preference.js';
import type { ServiceRecord } from '../domain/record.schema.js';
import { select, type SelectionStrategy } from '../domain/selection.js';
import { heartbeatTtlMs, isLocalRecord } from '../domain/staleness.js';
import { formatTimestamp } from '../domain/timestamp.js';
import type { Clock } from '../ports/clock.port.js';
import type { LivenessProbe } from '../ports/liveness.port.js';
import type { Logger } from '../ports/logger.port.js';
import type { RegistryStore } from '../ports/store.port.js';
import { DiscoveryService, type DiscoverOptions, type DiscoveryReport, type JudgedEntry } from './discovery.service.js';
import type { ExitHooks } from './exit-hooks.js';
import { Heartbeat } from './heartbeat.js';
import { applyPatch, buildRecord, type RegisterOptions, type UpdatePatch } from './register-options.js';
import { SerialQueue } from './serial-queue.js';
import type { RegistrySettings } from './settings.js';
import { resolveConnection } from './resolve-connection.js';
import { RegistryWatcher, type WatchSink } from './watch/registry-watcher.js';
import { WatchEmitter } from './watch/watch-emitter.js';
import { watchIterable } from './watch/watch-iterable.js';
import type { WatchOptions } from './watch/watch-options.js';

export interface PreferredOptions extends Omit<PreferenceContext, 'cwd'> {
  readonly filters?: ServiceFilters;
  /**
   * The client's working directory: an instance whose working directory contains it ranks first.
   * Default: this process's; null: none (a server answering for a client elsewhere).
   */
  readonly cwd?: string | null;
}

export interface SelectOptions extends PreferredOptions {
  readonly strategy?: SelectionStrategy;
}

/** Which store a registry uses, for messages, metrics and /healthz. */
export interface StoreInfo {
  /** json, sqlite, etcd, memory (or a custom store's kind). */
  readonly kind: string;
  /** A directory, a file, endpoints and prefix. */
  readonly location: string;
}

/** What health() found: the store answered a cheap read. */
export interface StoreHealth extends StoreInfo {
  /** How long the read took, in milliseconds. */
  readonly checkMs: number;
}

/** An id no record can have been given by mistake: health() reads it to touch the store cheaply. */
const HEALTH_PROBE_ID = 'marcus-registry-healthz-probe';

export interface PruneReport {
  readonly removed: DiscoveryReport['removed'];
  /** Stale entries left in place (locked, changed since judged, or not removable). */
  readonly kept: number;
  readonly problems: DiscoveryReport['problems'];
}

/** A live entry as the preference rules see it, with the judged entry it came from. */
interface JudgedCandidate extends Candidate {
  readonly entry: JudgedEntry;
}

interface Registration {
  readonly instanceId: string;
  /** Whose entry it is (pid, started_at): only this entry is ever removed as ours. */
  readonly owner: EntryOwner;
  record: ServiceRecord;
  readonly heartbeat: Heartbeat | undefined;
  readonly removeExitHook: () => void;
  /** Releases the id from HELD_IDS. */
  readonly release: () => void;
}

/**
 * Instance ids registrations of this process hold right now, per store location:
 * two registries of one process never pick the same default id, and a second
 * explicit registration of a held id is refused even before the first is written.
 */
const HELD_IDS = new Map<string, number>();
/** Holds `key` once more (a replace: true over another registry of this process holds it twice). */
function hold(key: string): void {
  HELD_IDS.set(key, (HELD_IDS.get(key) ?? 0) + 1);
}
function unhold(key: string): void {
  const n = (HELD_IDS.get(key) ?? 0) - 1;
  if (n > 0) HELD_IDS.set(key, n);
  else HELD_IDS.delete(key);
}
const heldKey = (store: RegistryStore, id: string) => `${store.kind}\u0000${store.location}\u0000${id}`;
/** How many `marcus_<pid>_<n>` a default id tries before giving up. */
const MAX_DEFAULT_ID_SUFFIX = 64;

/**
 * The facade servers and clients use. A server registers one instance per
 * registry object (as the Python registry does); any process may discover.
 */
export class ServiceRegistry implements AsyncDisposable {
  private registration: Registration | undefined;
  private closed = false;
  private turn = 0;
  /** register, unregister and close, one at a time: each sees what the previous one left. */
  private readonly lifecycle = new SerialQueue();
  private readonly watchers = new Set<RegistryWatcher>();
  /** Pins already warned about as matching nothing. */
  private readonly pinsWarned = new Set<string>();

  /** Truly private (not just to TypeScript): no caller writes an entry past the ownership checks. */
  readonly #store: RegistryStore;
  readonly #settings: RegistrySettings;

  constructor(
    store: RegistryStore,
    private readonly liveness: LivenessProbe,
    private readonly clock: Clock,
    private readonly logger: Logger,
    settings: RegistrySettings,
    private readonly discovery: DiscoveryService,
    private readonly exitHooks: ExitHooks,
  ) {
    this.#store = store;
    this.#settings = settings;
  }

  /**
   * Which store this registry reads and writes. The store itself stays inside:
   * every write of an entry goes through the facade and its ownership checks.
   */
  get storeInfo(): StoreInfo {
    return { kind: this.#store.kind, location: this.#store.location };
  }

  /** The host name this registry writes into records and judges them by (RegistrySettings.hostname). */
  get hostname(): string {
    return this.#settings.hostname;
  }

  /** Whether `record` was registered on this host (its pid means something here). */
  isLocal(record: ServiceRecord): boolean {
    return isLocalRecord(record, this.#settings.hostname);
  }

  /**
   * Whether `record`'s pid is still the process that registered it, by this
   * registry's liveness probe: 'same', 'other' (the pid was reused), 'gone', or
   * 'unknown' (the record carries no process start to compare). For a local record.
   */
  async processIdentity(record: ServiceRecord): Promise<ProcessIdentity> {
    return processIdentity(record, (await this.liveness.snapshot([record.pid])).get(record.pid), this.#settings.staleness);
  }

  /**
   * Touches the store with one cheap read (as GET /healthz does) and says how
   * long it took; throws the store's RegistryError (STORE_UNAVAILABLE, …) when it fails.
   */
  async health(): Promise<StoreHealth> {
    this.assertOpen();
    const started = performance.now();
    await this.#store.get(HEALTH_PROBE_ID);
    return { ...this.storeInfo, checkMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  /** The record this registry registered, if any. */
  get registered(): ServiceRecord | undefined {
    return this.registration?.record;
  }

  /**
   * Writes this instance's record and starts its heartbeat (an unref'd timer that
   * never keeps the process alive). Registering again replaces the registration.
   * An instance id a live instance holds is refused (InstanceIdTakenError,
   * INSTANCE_ID_TAKEN) unless `options.replace`; see RegisterOptions.instanceId.
   * Calls to register, unregister and close run one after another, in call order.
   */
  async register(options: RegisterOptions): Promise<ServiceRecord> {
    this.assertOpen();
    return this.lifecycle.run(async () => {
      this.assertOpen();
      if (this.registration) await this.unregisterNow();
      return this.registerNow(options);
    });
  }

  private async registerNow(options: RegisterOptions): Promise<ServiceRecord> {
    const pid = options.pid ?? process.pid;
    const instanceId = await this.claimInstanceId(options, pid);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      unhold(heldKey(this.#store, instanceId));
    };
    try {
      return await this.writeRegistration({ ...options, instanceId }, pid, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * The id this registration takes, held in HELD_IDS from here on: the given one
   * unless a live instance holds it (and not `replace`), else the first default
   * id (marcus_<pid>, marcus_<pid>_2, …) nobody live holds. Between this check and
   * the write another process can still take the same id (there is no
   * create-if-absent in every store); the later write wins, as before.
   */
  private async claimInstanceId(options: RegisterOptions, pid: number): Promise<string> {
    if (options.instanceId !== undefined) {
      const id = assertInstanceId(options.instanceId);
      const key = heldKey(this.#store, id);
      if (!options.replace) {
        if (HELD_IDS.has(key)) throw new InstanceIdTakenError(id, { pid, hostname: this.#settings.hostname });
        const holder = await this.liveHolder(id);
        if (holder) throw new InstanceIdTakenError(id, holder);
      }
      hold(key);
      return id;
    }
    for (let n = 1; n <= MAX_DEFAULT_ID_SUFFIX; n++) {
      const id = defaultInstanceId(pid, n);
      const key = heldKey(this.#store, id);
      if (HELD_IDS.has(key)) continue;
      hold(key);
      const holder = await this.liveHolder(id).catch((error: unknown) => {
        unhold(key);
        throw error;
      });
      if (!holder) return id;
      unhold(key);
    }
    throw new InstanceIdTakenError(defaultInstanceId(pid), { pid, hostname: this.#settings.hostname });
  }

  /** The live instance (healthy or unresponsive) whose entry has this id, if any. */
  private async liveHolder(id: string): Promise<ServiceRecord | undefined> {
    const entry = await this.#store.get(id);
    if (!entry) return undefined;
    const judged = await this.discovery.judgeEntry(entry);
    return judged.health === 'stale' ? undefined : judged.record;
  }

  private async writeRegistration(options: RegisterOptions, pid: number, release: () => void): Promise<ServiceRecord> {
    const record = buildRecord(options, {
      now: this.clock.now(),
      hostname: this.#settings.hostname,
      processStart: await this.liveness.startOf(pid),
      defaultHeartbeatIntervalMs: this.#settings.heartbeatIntervalMs,
    });
    const ttlMs = heartbeatTtlMs(record, this.#settings.staleness);
    const stored = await this.#store.put(record, { ttlMs });
    const instanceId = record.instance_id;
    const owner = ownerOf(record);
    const interval = record.heartbeat_interval_ms;
    const heartbeat = interval === undefined ? undefined : new Heartbeat(interval, () => this.beat(), this.logger);
    const removeExitHook = this.#settings.exitHooks
      ? this.exitHooks.add({
          sync: () => void this.#store.deleteSync?.(instanceId, owner),
          async: () => this.unregister().then(() => undefined),
        })
      : () => {};
    this.registration = { instanceId, owner, record: stored.record, heartbeat, removeExitHook, release };
    heartbeat?.start();
    this.logger.debug(`registered ${instanceId} (pid ${record.pid}) in ${this.#store.kind} ${this.#store.location}`, {
      heartbeatIntervalMs: interval,
    });
    return stored.record;
  }

  /**
   * Changes status, load metrics, project, provider, capabilities or extra keys; also a heartbeat.
   * An entry someone removed is written again with the change applied, as the heartbeat does.
   * An entry another registration took over since (replace: true, a restarted
   * server) is left alone: EntryTakenOverError (ENTRY_TAKEN_OVER).
   */
  async update(patch: UpdatePatch): Promise<ServiceRecord> {
    this.assertOpen();
    const registration = this.requireRegistration();
    let stored;
    try {
      stored = await this.#store.update(registration.instanceId, (current) => applyPatch(owned(current, registration), patch, this.clock.now()));
    } catch (error) {
      if (!(error instanceof NotFoundError) || this.registration !== registration) throw error;
      this.logger.warn(`entry ${registration.instanceId} was gone; registering it again with the update`);
      const record = applyPatch(registration.record, patch, this.clock.now());
      stored = await this.#store.put(record, { ttlMs: heartbeatTtlMs(record, this.#settings.staleness) });
    }
    registration.record = stored.record;
    return stored.record;
  }

  /** Refreshes last_heartbeat now. Re-creates the entry if something removed it. */
  async heartbeat(): Promise<void> {
    this.assertOpen();
    this.requireRegistration();
    await this.beat();
  }

  /**
   * Stops the heartbeat and removes this instance's entry — only if it is still
   * this registration's (same pid and started_at): an entry another registration
   * wrote under the same instance id since (a restarted server) is left alone.
   * Returns whether an entry was removed.
   */
  async unregister(): Promise<boolean> {
    return this.lifecycle.run(() => this.unregisterNow());
  }

  /**
   * For a process `exit` handler of the host (as `marcus-registry run` has):
   * synchronously removes this registration's own entry where the store can
   * (never a newer registration's), and says whether it did. The registration
   * itself is left as it is; the process is exiting.
   */
  removeOwnEntrySync(): boolean {
    const registration = this.registration;
    if (!registration || this.closed) return false;
    return this.#store.deleteSync?.(registration.instanceId, registration.owner) ?? false;
  }

  private async unregisterNow(): Promise<boolean> {
    const registration = this.registration;
    if (!registration) return false;
    this.registration = undefined;
    registration.removeExitHook();
    await registration.heartbeat?.stop();
    let removed: boolean;
    try {
      removed = await this.#store.delete(registration.instanceId, registration.owner);
    } finally {
      registration.release();
    }
    this.logger.debug(
      removed ? `unregistered ${registration.instanceId}` : `unregistered ${registration.instanceId}: its entry was already gone or taken over`,
    );
    return removed;
  }

  /** Live instances (healthy and unresponsive) matching the filters, oldest first; removes stale ones. */
  async discover(filters: ServiceFilters = {}, options: Omit<DiscoverOptions, 'filters'> = {}): Promise<ServiceRecord[]> {
    const report = await this.inspect({ ...options, filters });
    return report.services.map((s) => s.record);
  }

  /** Discovery with everything it found: health of each entry, stale entries, removals, problems. */
  async inspect(options: DiscoverOptions = {}): Promise<DiscoveryReport> {
    this.assertOpen();
    return this.discovery.inspect(options);
  }

  /** One entry, judged; undefined when absent. Does not remove it. */
  async get(instanceId: string): Promise<JudgedEntry | undefined> {
    this.assertOpen();
    const entry = await this.#store.get(assertReadableInstanceId(instanceId));
    return entry && this.discovery.judgeEntry(entry);
  }

  /**
   * The instance a client should use: pin → healthy → same project → working
   * directory containing the cwd → newest. The pin defaults to MARCUS_INSTANCE_ID
   * and the cwd to this process's.
   */
  async preferred(options: PreferredOptions = {}): Promise<ServiceRecord | undefined> {
    return (await this.preferredEntry(options))?.record;
  }

  /** preferred(), judged: the record with its health and the reason it is unresponsive, if it is. */
  async preferredEntry(options: PreferredOptions = {}): Promise<JudgedEntry | undefined> {
    return this.selectEntry({ ...options, strategy: 'preferred' });
  }

  /** Picks one live instance by a strategy: preferred, round-robin, random or least-loaded. */
  async select(options: SelectOptions = {}): Promise<ServiceRecord | undefined> {
    return (await this.selectEntry(options))?.record;
  }

  /** select(), judged: the record with its health and reason. */
  async selectEntry(options: SelectOptions = {}): Promise<JudgedEntry | undefined> {
    const { candidates, context } = await this.candidates(options);
    const strategy = options.strategy ?? 'preferred';
    const turn = strategy === 'round-robin' ? this.turn++ : 0;
    return select(candidates, strategy, { context, turn, random: Math.random() })?.entry;
  }

  /** All live instances in preference order, most preferred first. */
  async ranked(options: PreferredOptions = {}): Promise<ServiceRecord[]> {
    return (await this.rankedEntries(options)).map((entry) => entry.record);
  }

  /** ranked(), judged: each record with its health and reason, most preferred first. */
  async rankedEntries(options: PreferredOptions = {}): Promise<JudgedEntry[]> {
    const { candidates, context } = await this.candidates(options);
    return rankByPreference(candidates, context).map((c) => c.entry);
  }

  /**
   * How an MCP client reaches `record`: `{ kind: 'http', url, transport }` or
   * `{ kind: 'stdio', command, args, cwd }` (mcp_url, else mcp_args, else a safe
   * parse of mcp_command). A record of another host is never given as stdio
   * (NoEndpointError). Throws InvalidConnectionError or UnsafeCommandError.
   * It does not ask the store who could have written the record: before
   * starting a command, use connection().
   */
  connectionFor(record: ServiceRecord): Connection {
    return connectionFor(record, { localHostname: this.#settings.hostname });
  }

  /**
   * What `connect` does (ADR 0018): connectionFor, and a command is given only
   * when this store's records could have been written by this user alone
   * (else UntrustedCommandError: etcd, a database file others can write), with a
   * path that an unquoted command split at a space re-joined when the joined
   * file exists here.
   */
  async connection(record: ServiceRecord): Promise<Connection> {
    this.assertOpen();
    return resolveConnection(record, this.#store, this.#settings.hostname);
  }

  /** Removes stale entries and says what it removed and what it could not. */
  async prune(): Promise<PruneReport> {
    const report = await this.inspect({ prune: true });
    return { removed: report.removed, kept: report.stale.length - report.removed.length, problems: report.problems };
  }

  /**
   * Changes as they happen: first one 'added' per live instance (the current
   * state), then 'added', 'updated' (a write or a health change) and 'removed'
   * (with its reason) events. Each `for await` runs its own watch; it ends on
   * the signal, on break/return, or when the registry closes, releasing its
   * watchers and timers. See docs/adr/0009-watch.md.
   */
  watch(options: WatchOptions = {}): AsyncIterable<RegistryEvent> {
    this.assertOpen();
    return watchIterable((sink) => this.openWatcher(options, sink), options.signal);
  }

  /** The same as watch(), as an EventEmitter: 'added', 'updated', 'removed', 'error', 'close'; close(). */
  watchEvents(options: WatchOptions = {}): WatchEmitter {
    this.assertOpen();
    return new WatchEmitter((sink) => this.openWatcher(options, sink), options.signal, this.logger);
  }

  /**
   * Closes every watch, unregisters (if registered) and closes the store.
   * Idempotent. Waits for a register() under way and then unregisters it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    // Queued now, synchronously: a register() called after close() runs after it, and is refused.
    await this.lifecycle.run(async () => {
      if (this.closed) return;
      await Promise.all([...this.watchers].map((watcher) => watcher.close()));
      try {
        await this.unregisterNow();
      } finally {
        this.closed = true;
        await this.#store.close();
      }
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async beat(): Promise<void> {
    const registration = this.registration;
    if (!registration) return;
    const now = this.clock.now();
    try {
      const stored = await this.#store.update(registration.instanceId, (current) => ({ ...owned(current, registration), last_heartbeat: formatTimestamp(now) }));
      registration.record = stored.record;
    } catch (error) {
      if (error instanceof EntryTakenOverError) {
        // Another registration took the id (a restarted server): its entry is not ours to refresh.
        this.logger.debug(`entry ${registration.instanceId} now belongs to another registration; not refreshing it`);
        return;
      }
      if (!(error instanceof NotFoundError) || this.registration !== registration) throw error;
      // Someone removed our entry (a wiped directory, an over-eager cleaner): put it back.
      this.logger.warn(`entry ${registration.instanceId} was gone; registering it again`);
      const record = { ...registration.record, last_heartbeat: formatTimestamp(now) };
      const stored = await this.#store.put(record, { ttlMs: heartbeatTtlMs(record, this.#settings.staleness) });
      registration.record = stored.record;
    }
  }

  private async candidates(options: PreferredOptions): Promise<{ candidates: JudgedCandidate[]; context: PreferenceContext }> {
    const report = await this.inspect({ filters: options.filters });
    const candidates = report.services.map((entry) => ({ record: entry.record, health: entry.health as Candidate['health'], reason: entry.reason, entry }));
    const context = { pin: options.pin ?? this.#settings.pinnedInstanceId, project: options.project, cwd: options.cwd === null ? undefined : (options.cwd ?? process.cwd()) };
    if (context.pin !== undefined && !candidates.some((c) => c.record.instance_id === context.pin) && !this.pinsWarned.has(context.pin)) {
      // Said once per pin: a pin that matches nothing is otherwise a silent surprise.
      this.pinsWarned.add(context.pin);
      const source = options.pin === undefined ? 'MARCUS_INSTANCE_ID' : 'pin';
      this.logger.warn(`${source}=${context.pin} matches no live instance${options.filters && Object.values(options.filters).some((v) => v !== undefined) ? ' (among those matching the filters)' : ''}; picking by the other rules`);
    }
    return { candidates, context };
  }

  private openWatcher(options: WatchOptions, sink: WatchSink): RegistryWatcher {
    this.assertOpen();
    const deps = { store: this.#store, discovery: this.discovery, liveness: this.liveness, clock: this.clock, logger: this.logger, settings: this.#settings };
    const watcher: RegistryWatcher = new RegistryWatcher(deps, options, sink, () => this.watchers.delete(watcher));
    this.watchers.add(watcher);
    return watcher;
  }

  private requireRegistration(): Registration {
    if (!this.registration) throw new NotRegisteredError();
    return this.registration;
  }

  private assertOpen(): void {
    if (this.closed) throw new RegistryClosedError();
  }
}

/**
 * `current` when it is still the registration's own entry; else EntryTakenOverError.
 * Every write of an owned entry goes through it, inside the store's read-modify-write.
 */
function owned(current: ServiceRecord, registration: Registration): ServiceRecord {
  if (!isOwnedBy(current, registration.owner)) throw new EntryTakenOverError(registration.instanceId, ownerOf(current));
  return current;
}
