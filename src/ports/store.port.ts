import type { EntryOwner } from '../domain/entry-owner.js';
import type { RegistryError } from '../domain/errors.js';
import type { ServiceRecord } from '../domain/record.schema.js';

/**
 * An opaque token naming one version of one entry (a JSON file's bytes, a
 * row version, an etcd mod revision). Equal tokens mean the entry has not
 * changed. Compared within one process; never stored or shown.
 */
export type EntryVersion = string;

export interface StoredEntry {
  readonly record: ServiceRecord;
  readonly version: EntryVersion;
  /**
   * Stores that expire entries (etcd): the granted TTL of the live lease this
   * entry is attached to. Absent: no lease (or none the store could verify),
   * so nothing expires the entry and readers judge it by its heartbeat.
   */
  readonly leaseTtlMs?: number;
}

/**
 * Something a store met while listing: an entry it did not return, or (action
 * 'noted') something odd about one it did return.
 */
export interface StoreProblem {
  /**
   * Stable code of what was wrong, e.g. INVALID_RECORD, NOT_REGULAR_FILE, TOO_LARGE;
   * IGNORED_FIELD (noted): a key of a listed record has a type we do not use, so it is treated as absent (and kept).
   */
  readonly code: string;
  /** The file name or key the problem is about. */
  readonly entry: string;
  readonly message: string;
  /**
   * What the store did about it; a store never deletes what it could not read.
   * 'noted': the entry is listed all the same.
   */
  readonly action: 'skipped' | 'quarantined' | 'left-for-writer' | 'noted';
}

export interface ListResult {
  readonly entries: readonly StoredEntry[];
  readonly problems: readonly StoreProblem[];
}

export type DeleteOutcome = 'deleted' | 'changed' | 'missing' | 'busy';

export interface PutOptions {
  /**
   * How long the entry may live without a heartbeat. Stores that expire entries
   * themselves (etcd leases) attach it; others ignore it and rely on the record's
   * own `heartbeat_interval_ms`.
   */
  readonly ttlMs?: number;
}

/**
 * What a store's native watch reports: "something changed". The watcher then
 * lists and judges again, so a hint may be spurious or coalesce many changes;
 * what it must never do is stay silent about a change.
 */
export interface StoreChange {
  /** The entries that changed, when the store knows them; absent: anything may have changed (a resync). */
  readonly instanceIds?: readonly string[];
}

/** A running native watch. */
export interface StoreWatch {
  /** Stops watching and releases every handle, timer and stream it holds. Idempotent. */
  close(): Promise<void>;
}

export interface StoreWatchOptions {
  /**
   * The watch was interrupted or degraded (a dropped etcd stream, an fs.watch
   * failure). The store keeps trying by itself and reports a change (a resync)
   * once it is back; the watcher meanwhile relies on its periodic sweep.
   */
  readonly onError?: (error: RegistryError) => void;
}

export interface StoreCapabilities {
  /**
   * Entries can expire by themselves when their writer stops heartbeating
   * (leases); which ones do is told per entry (StoredEntry.leaseTtlMs).
   */
  readonly expiresEntries: boolean;
  /** Entries can come from other hosts. */
  readonly distributed: boolean;
}

/**
 * Where records live. Every implementation passes the contract suite in
 * test/contract. Errors are RegistryErrors with stable codes.
 */
export interface RegistryStore {
  /** A short name for messages and metrics: json, sqlite, etcd, memory. */
  readonly kind: string;
  /** Where it is, for messages: a directory, a file, endpoints. */
  readonly location: string;
  readonly capabilities: StoreCapabilities;

  /** Creates or replaces the entry of `record.instance_id`. */
  put(record: ServiceRecord, options?: PutOptions): Promise<StoredEntry>;

  /**
   * Read-modify-write under the entry's lock or transaction: `mutate` sees the
   * current record and returns the next one. It may run more than once (optimistic
   * stores retry on conflict), so it must be pure. Throws NotFoundError when absent
   * and InvalidRecordError when the stored entry is unusable.
   */
  update(instanceId: string, mutate: (current: ServiceRecord) => ServiceRecord): Promise<StoredEntry>;

  /** The entry, or undefined when absent or unusable (corrupt, invalid: list() reports why). */
  get(instanceId: string): Promise<StoredEntry | undefined>;

  /** Every readable entry, and a problem for each thing skipped. Never throws for a bad entry. */
  list(): Promise<ListResult>;

  /**
   * Compare-and-delete: removes the entry only if it is still at `version` (the
   * version that was judged stale). Never waits for a held lock: returns 'busy'.
   * Throws ReadOnlyStoreError when the store cannot be written.
   */
  deleteIfUnchanged(instanceId: string, version: EntryVersion): Promise<DeleteOutcome>;

  /**
   * Removes the entry and says whether it did.
   *
   * With `owner` (a registration removing its own entry: unregister, close, exit
   * hooks) it is compare-and-delete on ownership: the entry goes only if the
   * CURRENT entry's `pid` and `started_at` equal the owner's, checked atomically
   * with the removal (under the entry lock, in one statement, in one
   * transaction). An entry that another registration has written since — a
   * restarted instance under the same id — is left in place and the result is
   * false, as it is for an absent or unreadable entry. Stores that remember
   * their own registrations (etcd leases) forget it either way, but never
   * revoke a lease the current entry is attached to.
   *
   * Without `owner` it removes whatever entry has the id (prune, operators).
   */
  delete(instanceId: string, owner?: EntryOwner): Promise<boolean>;

  /**
   * Best-effort synchronous `delete` for a process `exit` handler, where nothing
   * async runs; the same `owner` semantics (the entry is re-read synchronously
   * just before it is removed) and the same result. Stores that cannot do it
   * synchronously omit it (etcd: the lease expires).
   */
  deleteSync?(instanceId: string, owner?: EntryOwner): boolean;

  /**
   * Whether the entry `owner` wrote under `instanceId` was removed by its owner
   * (`delete`/`deleteSync` with that owner: unregister, close, an exit hook)
   * rather than pruned by a reader. Every owner delete leaves a note, atomically
   * with the removal, kept at least DEPARTURE_NOTE_MS; watchers read it to tell a
   * clean stop ('unregistered') from a crash ('process-exited'). False when
   * there is no note for that owner (never noted, or expired).
   */
  departedCleanly?(instanceId: string, owner: EntryOwner): Promise<boolean>;

  /**
   * Native change notification, where the store has one (fs.watch, PRAGMA
   * data_version, an etcd prefix watch, direct calls). Resolves once the watch
   * is established, so a listing taken afterwards misses nothing. Changes this
   * store object makes itself are reported too. Stores without it are polled.
   */
  watch?(onChange: (change: StoreChange) => void, options?: StoreWatchOptions): Promise<StoreWatch>;

  /**
   * Why records in this store may have been written by someone other than this
   * user (anyone with write access to an etcd prefix; a database file others can
   * write), or undefined when only this user (or root) could have written them,
   * checked now. `connect` starts a record's command only when this says
   * undefined; a store without the method is not trusted (ADR 0018).
   */
  untrustedWriters?(): Promise<string | undefined>;

  /**
   * Which directory or database file the store is right now (`dev:ino`), or
   * undefined when it is gone. A listing of a store that is gone is an outage,
   * not the removal of every entry; entries missing from a store that was
   * replaced since are given time to be re-created by their registrants. A
   * watcher asks before it reports entries vanished. Stores that cannot be
   * gone or replaced this way (etcd: unreachable throws) omit it.
   */
  identity?(): Promise<string | undefined>;

  close(): Promise<void>;
}

/** How long a store keeps the note of an owner's delete (see RegistryStore.departedCleanly). */
export const DEPARTURE_NOTE_MS = 60_000;

export type { EntryOwner, RegistryError };
