import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  InvalidRecordError,
  NotFoundError,
  ReadOnlyStoreError,
  RegistryClosedError,
  StoreUnavailableError,
} from '../../domain/errors.js';
import type { EntryOwner } from '../../domain/entry-owner.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertRecord, assertRecordUpdate, decodeRecord, encodeRecord, type ServiceRecord } from '../../domain/record.schema.js';
import { foreignFieldNotes } from '../shared/foreign-field-notes.js';
import { parseTimestamp } from '../../domain/timestamp.js';
import { silentLogger, type Logger } from '../../ports/logger.port.js';
import type {
  DeleteOutcome,
  EntryVersion,
  ListResult,
  RegistryStore,
  StoreChange,
  StoreProblem,
  StoredEntry,
  StoreWatch,
  StoreWatchOptions,
} from '../../ports/store.port.js';
import { foreignWriters } from './sqlite.trust.js';
import { isInitializedNow, openAccess, type Access, type OpenRequest } from './sqlite.connection.js';
import { DatabaseIdentity, holdConnectedFile } from './sqlite.identity.js';
import { isBusyAnswer, retryWhileBusy } from './sqlite.retry.js';
import { DEPARTURE_NOTE_MS } from '../../ports/store.port.js';
import { loadSqliteDriver, type SqliteDatabase, type SqliteStatement } from './sqlite.driver.js';
import { errorCode, translateSqliteError } from './sqlite.errors.js';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_WATCH_POLL_MS,
  EXIT_BUSY_TIMEOUT_MS,
  STATEMENT_BUSY_TIMEOUT_MS,
  type SqliteStoreOptions,
} from './sqlite.options.js';
import { CommitPoll } from './sqlite.watch.js';
import { deepFreeze, RecordCache, type RecordCacheListing } from '../shared/record-cache.js';

export type { SqliteStoreOptions } from './sqlite.options.js';

/**
 * Opens the `sqlite:<path>` registry. better-sqlite3 is imported here, on first
 * use, so the JSON store never loads it; a missing or unbuilt driver throws
 * DriverMissingError saying how to install or rebuild it.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<RegistryStore> {
  const location = resolve(options.path);
  const logger = options.logger ?? silentLogger;
  const Driver = await loadSqliteDriver();
  const request: OpenRequest = {
    location,
    readonly: options.readonly ?? false,
    busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    logger,
  };
  const access = await openAccess(Driver, request);
  return new SqliteStore(location, { access, identity: DatabaseIdentity.now(location) }, logger, options.watchPollMs ?? DEFAULT_WATCH_POLL_MS, request, () => openAccess(Driver, request));
}

/** The open database and which file it is (undefined for snapshot reads, which open the path each time). */
interface Opened {
  readonly access: Access;
  readonly identity: DatabaseIdentity | undefined;
}

interface Row {
  readonly instance_id: string;
  readonly version: number;
  readonly record: string;
}

/** A SELECT_CHANGED row in raw mode. */
type ChangedRow = readonly [version: number, instanceId: string, record: string];

const SELECT_ONE = 'SELECT instance_id, version, record FROM services WHERE instance_id = ?';
/** A `since` below every version: the listing reads every row. */
const EVERY_ROW = -1;
/**
 * A listing is two reads in one transaction: every row's version in discovery
 * order, and the rows whose version is above `@since`, the highest version an
 * earlier listing saw. Every write takes the next value of the write clock, so
 * the other rows are unchanged since then and their records come from the
 * store's cache. (One query selecting the record only for new versions costs
 * three times as much for 10 000 rows: it cannot use the index alone.)
 */
const SELECT_VERSIONS = 'SELECT version FROM services ORDER BY started_at_ms, instance_id';
const SELECT_CHANGED = 'SELECT version, instance_id, record FROM services WHERE version > @since';
const NEXT_VERSION = 'UPDATE write_clock SET version = version + 1 WHERE id = 1 RETURNING version';
const UPSERT = `
  INSERT INTO services (instance_id, pid, hostname, project_name, provider, status, started_at_ms, last_heartbeat_ms, version, record)
  VALUES (@instance_id, @pid, @hostname, @project_name, @provider, @status, @started_at_ms, @last_heartbeat_ms, @version, @record)
  ON CONFLICT (instance_id) DO UPDATE SET
    pid = excluded.pid, hostname = excluded.hostname, project_name = excluded.project_name,
    provider = excluded.provider, status = excluded.status, started_at_ms = excluded.started_at_ms,
    last_heartbeat_ms = excluded.last_heartbeat_ms, version = excluded.version, record = excluded.record`;
// Compare-and-delete is this one statement: only the row version that was judged stale goes.
const DELETE_IF_VERSION = 'DELETE FROM services WHERE instance_id = ? AND version = ?';
const DELETE_ANY = 'DELETE FROM services WHERE instance_id = ?';
// An owner removing its own entry is one statement too: only the row that owner wrote goes,
// not a newer registration of the same id. (CASE: a corrupt row's JSON is never parsed.)
const DELETE_IF_OWNER = `
  DELETE FROM services WHERE instance_id = ? AND pid = ?
    AND CASE WHEN json_valid(record) THEN json_extract(record, '$.started_at') END = ?`;
const EXISTS = 'SELECT 1 FROM services WHERE instance_id = ?';
// The note of an owner's delete, written in the same transaction as the DELETE (see departedCleanly).
const NOTE_DEPARTURE = `
  INSERT OR REPLACE INTO departures (instance_id, pid, started_at, departed_at_ms)
    SELECT instance_id, pid, json_extract(record, '$.started_at'), ? FROM services WHERE instance_id = ? AND pid = ?
      AND CASE WHEN json_valid(record) THEN json_extract(record, '$.started_at') END = ?`;
const EXPIRE_DEPARTURES = 'DELETE FROM departures WHERE departed_at_ms < ?';
const SELECT_DEPARTURE = 'SELECT 1 FROM departures WHERE instance_id = ? AND pid = ? AND started_at = ? AND departed_at_ms >= ?';

/** The open stores of this process, by database path (see SqliteStore.current). */
const OPEN_STORES = new Map<string, Set<SqliteStore>>();

/** Versions this store hands out: decimal integers from the database's write clock. */
const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;

/**
 * One row per instance: indexed columns for what discovery filters and orders
 * on, and the full record JSON so unknown keys round-trip exactly. Every write
 * takes the next value of one database-wide clock as the row's version.
 */
class SqliteStore implements RegistryStore {
  readonly kind = 'sqlite';
  readonly capabilities = { expiresEntries: false, distributed: false } as const;
  private closed = false;
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly watches = new Set<CommitPoll>();
  /** Records decoded by earlier listings, by row version. */
  private readonly cache = new RecordCache();
  /** What the last listing found wrong with rows, by row version. */
  private problemsByVersion = new Map<string, StoreProblem>();
  /** The highest row version the last listing read: rows above it are new or changed. */
  private listedUpTo = 0;
  private access: Access;
  private fileIdentity: DatabaseIdentity | undefined;
  /** The path must be opened again: its file changed, and opening it failed last time. */
  private mustReopen = false;
  private reopening: Promise<void> | undefined;
  /** Ends this store's count of its connection's file (see holdConnectedFile). */
  private unholdFile: () => void = () => {};
  /** A cleanup met the lock held: the others after the same listing answer busy without trying. */
  private cleanupPaused = false;

  constructor(
    readonly location: string,
    opened: Opened,
    private readonly logger: Logger,
    private readonly watchPollMs: number,
    private readonly request: OpenRequest,
    private readonly open: () => Promise<Access>,
  ) {
    this.access = opened.access;
    this.fileIdentity = opened.access.mode === 'snapshot' ? undefined : opened.identity;
    if (opened.access.mode !== 'snapshot') this.unholdFile = holdConnectedFile(location);
    const siblings = OPEN_STORES.get(location) ?? new Set<SqliteStore>();
    siblings.add(this);
    OPEN_STORES.set(location, siblings);
  }

  async put(record: ServiceRecord): Promise<StoredEntry> {
    const valid = assertRecord(record);
    const stored = await this.retrying(() => this.write((db) => db.transaction(() => this.store(valid)).immediate()));
    this.notify(valid.instance_id);
    return stored;
  }

  async update(instanceId: string, mutate: (current: ServiceRecord) => ServiceRecord): Promise<StoredEntry> {
    assertInstanceId(instanceId);
    const stored = await this.retrying(() => this.write((db) =>
      db
        .transaction(() => {
          const row = this.statement(SELECT_ONE).get(instanceId) as Row | undefined;
          if (!row) throw new NotFoundError(instanceId);
          const current = decodeRow(row);
          const next = assertRecordUpdate(mutate(current), current);
          if (next.instance_id !== instanceId) {
            throw new InvalidRecordError(`update may not change instance_id (${instanceId} → ${next.instance_id})`);
          }
          return this.store(next);
        })
        .immediate(),
    ));
    this.notify(instanceId);
    return stored;
  }

  async get(instanceId: string): Promise<StoredEntry | undefined> {
    assertInstanceId(instanceId);
    return this.reading(() => this.read(
      (db) => {
        const row = db.prepare(SELECT_ONE).get(instanceId) as Row | undefined;
        // An unusable row reads as absent, as in every store; list() says why.
        const record = row && tryDecodeRow(row);
        return row && record && { record, version: String(row.version) };
      },
      undefined,
    ));
  }

  async list(): Promise<ListResult> {
    this.cleanupPaused = false;
    return this.reading(() => {
      // Snapshot reads open the file anew each time (perhaps another database by now): no cache.
      if (this.access.mode === 'snapshot') return this.listRows(EVERY_ROW, undefined) as ListResult;
      const listed = this.listRows(this.listedUpTo, this.cache.begin());
      // A version at or below what was listed that the cache does not know: the write
      // clock went back (the file was replaced by an older copy). Read everything again.
      return listed ?? (this.listRows(EVERY_ROW, this.cache.begin()) as ListResult);
    });
  }

  /**
   * Rows whose version is above `since` come with their instance id and record;
   * the others are known to `listing` by version (a version names one write of
   * one row) and reuse the record or the problem found when it was first read.
   * Returns undefined when an unchanged row is unknown after all.
   */
  private listRows(since: number, listing: RecordCacheListing | undefined): ListResult | undefined {
    const listed = this.read(
      (db) =>
        // One read transaction: one snapshot of the table.
        db.transaction(() => {
          const versions = db.prepare(SELECT_VERSIONS).pluck().all() as number[];
          // Arrays rather than objects per row.
          const changed = new Map((db.prepare(SELECT_CHANGED).raw().all({ since }) as ChangedRow[]).map((row) => [row[0], row]));
          const entries: StoredEntry[] = [];
          const problems: StoreProblem[] = [];
          const problemsSeen = new Map<string, StoreProblem>();
          let highest = since;
          for (const rowVersion of versions) {
            const version = String(rowVersion);
            const row = changed.get(rowVersion);
            if (row === undefined) {
              const known = listing?.keep(version, version);
              const problem = this.problemsByVersion.get(version);
              if (known) entries.push({ record: known, version });
              else if (problem) problems.push(problem);
              else return undefined;
              if (problem) problemsSeen.set(version, problem);
              continue;
            }
            const [, instanceId, recordText] = row;
            highest = Math.max(highest, rowVersion);
            try {
              const record = decodeRow({ instance_id: instanceId, version: rowVersion, record: recordText });
              entries.push({ record: listing ? listing.add(version, version, record) : deepFreeze(record), version });
            } catch (error) {
              const { code, message } = error as InvalidRecordError;
              const problem: StoreProblem = { code, entry: instanceId, message, action: 'skipped' };
              problems.push(problem);
              problemsSeen.set(version, problem);
            }
          }
          return { entries, problems, highest, problemsSeen };
        })(),
      { entries: [], problems: [], highest: 0, problemsSeen: new Map<string, StoreProblem>() },
    );
    if (!listed) return undefined;
    if (listing) {
      listing.commit();
      this.listedUpTo = listed.highest;
      this.problemsByVersion = listed.problemsSeen;
    }
    const { entries, problems } = listed;
    if (problems.length) this.logger.warn('sqlite registry rows skipped', { location: this.location, problems });
    return { entries, problems: [...problems, ...entries.flatMap((e) => foreignFieldNotes(e.record, e.record.instance_id))] };
  }

  /**
   * Never waits for the lock: one attempt (the connection's short busy_timeout).
   * The lock is the whole database's, so after a busy answer the cleanups that
   * follow answer busy without trying until the next list(): a discovery over
   * many stale rows asks once.
   */
  async deleteIfUnchanged(instanceId: string, version: EntryVersion): Promise<DeleteOutcome> {
    assertInstanceId(instanceId);
    await this.current(true);
    if (this.cleanupPaused) return 'busy';
    try {
      return this.write(() => {
        // A token this store never issued matches no row; the entry then only "changed".
        if (VERSION_PATTERN.test(version) && this.statement(DELETE_IF_VERSION).run(instanceId, Number(version)).changes > 0) {
          this.notify(instanceId);
          return 'deleted';
        }
        return this.statement(EXISTS).get(instanceId) ? 'changed' : 'missing';
      });
    } catch (error) {
      // Held by another process: skip this cleanup rather than fail discovery or wait.
      if (!isBusyAnswer(error)) throw error;
      this.cleanupPaused = true;
      return 'busy';
    }
  }

  /** With `owner`, one conditional DELETE: only the row whose pid and started_at are the owner's. */
  async delete(instanceId: string, owner?: EntryOwner): Promise<boolean> {
    return this.retrying(() => this.deleteNow(instanceId, owner));
  }

  /** The database file's `dev:ino`; undefined when it is not there (a watcher tells an outage from removals by it). */
  async identity(): Promise<string | undefined> {
    const stats = statSync(this.location, { throwIfNoEntry: false });
    return stats && `${stats.dev}:${stats.ino}`;
  }

  /**
   * better-sqlite3 is synchronous, so this works in a process 'exit' handler.
   * The process is ending: it may wait up to EXIT_BUSY_TIMEOUT_MS for the lock.
   */
  deleteSync(instanceId: string, owner?: EntryOwner): boolean {
    const access = this.access;
    if (this.closed || access.mode !== 'write' || !access.db.open) return this.deleteNow(instanceId, owner);
    try {
      access.db.pragma(`busy_timeout = ${EXIT_BUSY_TIMEOUT_MS}`);
      return this.deleteNow(instanceId, owner);
    } finally {
      if (access.db.open) access.db.pragma(`busy_timeout = ${STATEMENT_BUSY_TIMEOUT_MS}`);
    }
  }

  async departedCleanly(instanceId: string, owner: EntryOwner): Promise<boolean> {
    assertInstanceId(instanceId);
    return this.read((db) => db.prepare(SELECT_DEPARTURE).get(instanceId, owner.pid, owner.started_at, Date.now() - DEPARTURE_NOTE_MS) !== undefined, false);
  }

  /**
   * Polls PRAGMA data_version (another connection committed) every watchPollMs
   * and reports this store's own writes directly. See sqlite.watch.ts.
   */
  async watch(onChange: (change: StoreChange) => void, options: StoreWatchOptions = {}): Promise<StoreWatch> {
    if (this.closed) throw new RegistryClosedError();
    const watch = new CommitPoll({
      probe: () => this.commitToken(),
      intervalMs: this.watchPollMs,
      logger: this.logger,
      onChange,
      onError: options.onError,
      translate: (error) => translateSqliteError(error, { location: this.location, writing: false }),
      onClose: () => this.watches.delete(watch),
    });
    watch.start();
    this.watches.add(watch);
    return watch;
  }

  /** Who else could write the database: its file, -wal, -shm and directory are checked now (ADR 0018). */
  async untrustedWriters(): Promise<string | undefined> {
    return foreignWriters(this.location);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    this.statements.clear();
    this.cache.clear();
    this.problemsByVersion.clear();
    if (this.access.mode !== 'snapshot') this.access.db.close();
    this.unholdFile();
    const siblings = OPEN_STORES.get(this.location);
    siblings?.delete(this);
    if (siblings?.size === 0) OPEN_STORES.delete(this.location);
  }

  /**
   * One operation: the database file checked, then `attempt`, retried on timers
   * while another process holds the lock (never a long synchronous wait).
   */
  private retrying<T>(attempt: () => T, writing = true): Promise<T> {
    return retryWhileBusy(async () => {
      await this.current(writing);
      return attempt();
    }, this.request.busyTimeoutMs);
  }

  /** A read never creates the database: while its file is gone, reads fail (an outage), writes create it anew. */
  private reading<T>(attempt: () => T): Promise<T> {
    return this.retrying(attempt, false);
  }

  /**
   * Makes sure the connection uses the file at the path now: after the file (or
   * its -wal) was removed or replaced, the old connection is closed and the path
   * opened again — created anew by a writer (see DatabaseIdentity). A failed
   * reopening is tried again by the next operation.
   */
  private async current(writing: boolean): Promise<void> {
    if (this.closed || this.access.mode === 'snapshot') return;
    if (!this.mustReopen) {
      const change = this.fileIdentity?.change();
      if (change === undefined) return;
      this.logger.warn(`sqlite registry file was ${change === 'wal-removed' ? 'left without its -wal file' : change}; opening it again`, {
        location: this.location,
      });
      // Every connection of this process to the path goes first: SQLite shares one -shm
      // mapping per database file in a process, and a new connection must not get the old one.
      for (const store of OPEN_STORES.get(this.location) ?? [this]) store.release();
    }
    // A read never creates the database: while the file is gone, reads fail (an outage).
    if (!writing && !existsSync(this.location)) throw this.gone();
    this.reopening ??= this.reopen().finally(() => (this.reopening = undefined));
    await this.reopening;
  }

  /** Closes the connection to a file that is not at the path any more; the next operation opens the path again. */
  private release(): void {
    this.mustReopen = true;
    this.statements.clear();
    const old = this.access;
    if (old.mode !== 'snapshot' && old.db.open) old.db.close();
    this.unholdFile();
    this.cache.clear();
    this.problemsByVersion = new Map();
    this.listedUpTo = 0;
  }

  private async reopen(): Promise<void> {
    const access = await this.open(); // throws (translated) while it cannot be opened, e.g. a reader's file is gone
    if (this.closed) {
      if (access.mode !== 'snapshot') access.db.close();
      return;
    }
    this.access = access;
    this.fileIdentity = access.mode === 'snapshot' ? undefined : DatabaseIdentity.now(this.location);
    if (access.mode !== 'snapshot') this.unholdFile = holdConnectedFile(this.location);
    this.mustReopen = false;
    this.logger.warn('sqlite registry opened again', { location: this.location });
    for (const watch of this.watches) watch.resync();
  }

  private deleteNow(instanceId: string, owner: EntryOwner | undefined): boolean {
    assertInstanceId(instanceId);
    const deleted = this.write((db) =>
      owner
        ? db
            .transaction(() => {
              const now = Date.now();
              this.statement(EXPIRE_DEPARTURES).run(now - DEPARTURE_NOTE_MS);
              this.statement(NOTE_DEPARTURE).run(now, instanceId, owner.pid, owner.started_at);
              return this.statement(DELETE_IF_OWNER).run(instanceId, owner.pid, owner.started_at).changes > 0;
            })
            .immediate()
        : this.statement(DELETE_ANY).run(instanceId).changes > 0,
    );
    if (deleted) this.notify(instanceId);
    return deleted;
  }

  /** Own commits do not move data_version: tell this store's watches directly. */
  private notify(instanceId: string): void {
    for (const watch of this.watches) watch.notify(instanceId);
  }

  /**
   * What CommitPoll compares: data_version on a connection (and which file it
   * is, so a removed or replaced file is noticed), the files' stat for snapshot access.
   */
  private commitToken(): string {
    const access = this.access;
    // Closed while the path is opened again: a token of its own, so the watch lists (and the listing reopens).
    if (access.mode !== 'snapshot') return access.db.open ? `${String(access.db.pragma('data_version', { simple: true }))}@${this.fileIdentity?.token() ?? '-'}` : 'reopening';
    return [this.location, `${this.location}-wal`]
      .map((path) => {
        const stats = statSync(path, { throwIfNoEntry: false });
        return stats ? `${stats.ino}:${stats.mtimeMs}:${stats.size}` : '-';
      })
      .join('/');
  }

  /** Inside a write transaction: next clock value, then the row. */
  private store(record: ServiceRecord): StoredEntry {
    const version = this.statement(NEXT_VERSION).pluck().get() as number;
    this.statement(UPSERT).run({
      instance_id: record.instance_id,
      pid: record.pid,
      hostname: record.hostname ?? null,
      project_name: record.project_name,
      provider: record.provider,
      status: record.status ?? '', // NOT NULL column; absent only when an update kept another writer's non-string status (the record column has it)
      started_at_ms: parseTimestamp(record.started_at) ?? null,
      last_heartbeat_ms: parseTimestamp(record.last_heartbeat) ?? null,
      version,
      record: encodeRecord(record),
    });
    return { record, version: String(version) };
  }

  private write<T>(run: (db: SqliteDatabase) => T): T {
    if (this.closed) throw new RegistryClosedError();
    if (this.access.mode !== 'write') throw new ReadOnlyStoreError(this.location);
    if (!this.access.db.open) throw this.gone();
    try {
      return run(this.access.db);
    } catch (error) {
      throw this.translate(error, true);
    }
  }

  private read<T>(run: (db: SqliteDatabase) => T, empty: T): T {
    if (this.closed) throw new RegistryClosedError();
    const access = this.access;
    if (access.mode !== 'snapshot' && !access.db.open) throw this.gone();
    try {
      if (access.mode !== 'write' && !isInitializedNow(access, this.location)) return empty;
      if (access.mode !== 'snapshot') return run(access.db);
      const snapshot = access.open();
      try {
        return run(snapshot);
      } finally {
        snapshot.close();
      }
    } catch (error) {
      throw this.translate(error, false);
    }
  }

  /** The database file is gone (a write creates it anew), or opening it again failed (the next operation tries again). */
  private gone(): StoreUnavailableError {
    return new StoreUnavailableError(this.location, new Error('the database file was removed or replaced and is not open again yet'));
  }

  /** Driver and file-system errors (they carry a code) become RegistryErrors; a throwing mutate function's own error passes through. */
  private translate(error: unknown, writing: boolean): unknown {
    return errorCode(error) ? translateSqliteError(error, { location: this.location, writing }) : error;
  }

  /** Statements of the long-lived connection, prepared once. */
  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.access.mode === 'snapshot') throw new ReadOnlyStoreError(this.location);
      statement = this.access.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** The row's record, or InvalidRecordError when its JSON is corrupt, invalid, or names another instance. */
function tryDecodeRow(row: Row): ServiceRecord | undefined {
  try {
    return decodeRow(row);
  } catch {
    return undefined;
  }
}

function decodeRow(row: Row): ServiceRecord {
  const outcome = decodeRecord(row.record);
  if (!outcome.ok) throw outcome.error;
  if (outcome.record.instance_id !== row.instance_id) {
    throw new InvalidRecordError(`row ${row.instance_id} holds the record of ${outcome.record.instance_id}`);
  }
  return outcome.record;
}
