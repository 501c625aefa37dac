import { readdirSync, unlinkSync, type Dirent, type Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  InvalidRecordError,
  InvalidStoreUriError,
  NotARegistryError,
  NotFoundError,
  ReadOnlyStoreError,
} from '../../domain/errors.js';
import { isOwnedBy, type EntryOwner } from '../../domain/entry-owner.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertReadableInstanceId } from '../../domain/python-instance-id.js';
import { stringifyPythonJson } from '../../domain/python-json.js';
import { assertRecord, assertRecordUpdate, encodeRecord, type ServiceRecord } from '../../domain/record.schema.js';
import { silentLogger, type Logger } from '../../ports/logger.port.js';
import type { DeleteOutcome, ListResult, RegistryStore, StoreChange, StoreProblem, StoredEntry, StoreWatch, StoreWatchOptions } from '../../ports/store.port.js';
import { writeAtomically } from './atomic-write.js';
import { foreignFieldNotes } from '../shared/foreign-field-notes.js';
import { foreignFieldsOf } from '../../domain/foreign-fields.js';
import { departedCleanly, departSync, sweepDepartures } from './departures.js';
import { checkDirectory, checkDirectorySync, ensureDirectory } from './json-dir.guard.js';
import { DirectoryWatch } from './json-dir.watch.js';
import {
  describeType,
  entryPath,
  ENTRY_SUFFIX,
  instanceIdOfName,
  isUnchangedSync,
  listedEntryPath,
  readableEntryPath,
  pathKind,
  readEntryFile,
  interpretEntryBytes,
  ReadArena,
  readEntryBytesSync,
  type EntryBytes,
  readEntryRecordSync,
  readEntryStateSync,
  sameStamp,
  changedMsOf,
  stampOf,
  versionOfBytes,
  type EntryRead,
  type EntryStamp,
} from './entry-file.js';
import { EntryLocks } from './entry-lock.js';
import { errnoOf, translateFsError, type FsOperation } from './fs-errors.js';
import { mapBounded } from './map-bounded.js';
import { quarantineFile } from './quarantine.js';
import { deepFreeze } from '../shared/record-cache.js';
import { forEachRunInSlices, monotonicMs, type SliceClock } from '../shared/time-slices.js';
import { fsPromises } from '../shared/fs-promises.js';

/** Options of the JSON-directory store. Only `dir` is required. */
export interface JsonDirStoreOptions {
  /** The registry directory, an absolute path. Created with mode 0700 when missing (on open, or on the first write). */
  readonly dir: string;
  /** Create a missing directory when the store opens. Default: true. false (readers): a missing one lists as empty until a write creates it. */
  readonly createDirectory?: boolean;
  /** Told about what the store handles by itself (quarantined files, compromised locks). Default: silent. */
  readonly logger?: Logger;
  /**
   * An unparsable entry younger than this (by mtime) may be mid-write by the
   * non-atomic Python writer: it is left alone. Older ones are quarantined. Default: 5000 ms.
   */
  readonly graceMs?: number;
  /** Entries larger than this are reported (TOO_LARGE) and never read. Default: 262144 (256 KiB). */
  readonly maxFileBytes?: number;
  /** Entry files `list()` reads at once. Default: 64. */
  readonly readConcurrency?: number;
  /** Epoch ms for the grace-period decision and quarantine names. Default: Date.now. */
  readonly now?: () => number;
  /**
   * An entry lock its holder has not refreshed for this long is taken over (the
   * holder died). Default: 10000 ms (proper-lockfile raises anything below 2000 to 2000).
   */
  readonly lockStaleMs?: number;
  /**
   * How long put/update/delete wait for a held entry lock before LOCK_BUSY.
   * Default: lockStaleMs + 5000 ms, so a lock left behind by a crashed process is outwaited.
   */
  readonly lockWaitMs?: number;
  /** watch(): file events within this window after the first are reported as one change. Default: 20 ms. */
  readonly watchDebounceMs?: number;
  /** watch(): how often a resync is reported anyway, as fs.watch may drop events. Default: 5000 ms. */
  readonly watchRescanIntervalMs?: number;
  /**
   * An unparsable entry changed within graceMs may be mid-rewrite by the
   * non-atomic Python writer (`open(…, "w")` empties it, json.dump refills
   * it): it is read again, without blocking the event loop, for up to this
   * long. An entry this store has read before is read again only briefly and
   * meanwhile keeps its last good record (see readThroughRewrite). Default: 500 ms (a writer descheduled on a busy machine can leave the file empty for a few hundred ms; discovery still answers within 1 s).
   */
  readonly midWriteRetryMs?: number;
}

interface Settings {
  readonly dir: string;
  readonly logger: Logger;
  readonly graceMs: number;
  readonly maxFileBytes: number;
  readonly readConcurrency: number;
  readonly now: () => number;
  readonly lockStaleMs: number;
  readonly lockWaitMs: number;
  readonly watchDebounceMs: number;
  readonly watchRescanIntervalMs: number;
  readonly midWriteRetryMs: number;
}


/**
 * How long after its last change a file's stamp (inode, mtime, ctime, size) is
 * trusted to say its content did not change. An in-place writer (Python's) could
 * rewrite a file within one timestamp tick keeping its size; ticks are up to a
 * second (HFS+) or two (FAT). Atomic writes always change the inode.
 */
const SETTLED_MS = 2_000;

/**
 * A listing reads entries synchronously for at most this long before it yields
 * to the event loop (setImmediate), so the host's loop is never held much longer.
 */
const LIST_SLICE_MS = 4;

/**
 * Entries a listing reads before it parses them (listBatchNow): enough that the
 * system calls and the parsing each run in a tight loop of their own, few
 * enough that a batch stays well inside a slice.
 */
const LIST_BATCH = 32;

/** What one batch's reads share: records are ~1 KiB, a batch of them well under this. */
const listArena = new ReadArena(256 * 1024);

/**
 * A directory up to this size, and with no more than this allocated to it
 * (st_blocks), is read with one synchronous readdir: about 1 500 to 3 000
 * entries, a millisecond or two (ext4 and XFS give a directory's size in bytes
 * of names, btrfs twice their length, tmpfs 20 per entry; ZFS gives the entry
 * count as the size, but a directory of many entries has many blocks). A
 * larger one goes through the thread pool, which holds the event loop only to
 * make the names.
 */
const SYNC_READDIR_BYTES = 64 * 1024;

/** How long an entry with a last good record is read again while it looks mid-rewrite. */
const KNOWN_ENTRY_RETRY_MS = 5;

/**
 * Opens (creating when missing) a registry directory. A directory that cannot
 * be created (read-only parent) still opens: it lists as empty and refuses writes.
 */
export async function openJsonDirStore(options: JsonDirStoreOptions): Promise<JsonDirStore> {
  if (typeof options.dir !== 'string' || !isAbsolute(options.dir)) {
    throw new InvalidStoreUriError(`json:${String(options.dir)}`, 'the registry directory must be an absolute path');
  }
  const maxFileBytes = options.maxFileBytes ?? 256 * 1024;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1) {
    throw new InvalidStoreUriError(`json:${options.dir}`, `maxFileBytes must be a whole number of bytes above 0, not ${String(maxFileBytes)}`);
  }
  const lockStaleMs = options.lockStaleMs ?? 10_000;
  const settings: Settings = {
    dir: resolve(options.dir),
    logger: options.logger ?? silentLogger,
    graceMs: options.graceMs ?? 5_000,
    maxFileBytes,
    readConcurrency: Math.max(1, options.readConcurrency ?? 64),
    now: options.now ?? Date.now,
    lockStaleMs,
    lockWaitMs: options.lockWaitMs ?? lockStaleMs + 5_000,
    watchDebounceMs: options.watchDebounceMs ?? 20,
    watchRescanIntervalMs: options.watchRescanIntervalMs ?? 5_000,
    midWriteRetryMs: Math.max(0, options.midWriteRetryMs ?? 500),
  };
  const store = new JsonDirStore(settings);
  if (!(await checkDirectory(settings.dir, 'read', undefined, settings.logger)) && options.createDirectory !== false) {
    try {
      await ensureDirectory(settings.dir);
    } catch (error) {
      if (!(error instanceof ReadOnlyStoreError)) throw error;
      settings.logger.debug(`registry directory ${settings.dir} does not exist and cannot be created; it lists as empty`);
    }
  }
  return store;
}

/**
 * One JSON file per instance, `<dir>/<instance_id>.json`, in the format the
 * Python Marcus registry reads and writes. Writes are atomic and locked per
 * entry; reads take no lock and never follow links, block on special files,
 * read oversize files, or delete what may be mid-write.
 */
export class JsonDirStore implements RegistryStore {
  readonly kind = 'json';
  readonly location: string;
  readonly capabilities = { expiresEntries: false, distributed: false } as const;
  private readonly locks: EntryLocks;
  /**
   * What the last listing read, by file name (`<id>.json`): every entry's last good record
   * (any age), which stands for an entry caught mid-rewrite by the non-atomic
   * Python writer until the rewrite is readable; and, for a settled entry, the
   * stamp that recognises its file unchanged, so the next listing lstats it
   * instead of reading, parsing and validating it again. Replaced by each
   * listing: holds only entries the last listing saw.
   */
  private known = new Map<string, Known>();

  /** Use openJsonDirStore, which also creates the directory. */
  constructor(private readonly settings: Settings) {
    this.location = settings.dir;
    this.locks = new EntryLocks(settings.dir, { staleMs: settings.lockStaleMs, waitMs: settings.lockWaitMs, logger: settings.logger });
  }

  async put(record: ServiceRecord): Promise<StoredEntry> {
    const id = assertInstanceId((record as { instance_id?: unknown } | null)?.instance_id);
    const valid = assertRecord(record);
    const path = entryPath(this.location, id);
    return this.guard('write', id, async () => {
      await this.prepareWrite();
      const release = await this.locks.acquire(id, path);
      try {
        const existing = await pathKind(path);
        if (existing.kind === 'other') throw new NotARegistryError(path, `the entry is ${existing.what}, not a regular file`);
        return await this.write(path, valid);
      } finally {
        await release();
      }
    });
  }

  async update(instanceId: string, mutate: (current: ServiceRecord) => ServiceRecord): Promise<StoredEntry> {
    const id = assertInstanceId(instanceId);
    const path = entryPath(this.location, id);
    return this.guard('write', id, async () => {
      if (!(await checkDirectory(this.location, 'write', undefined, this.settings.logger))) throw new NotFoundError(id);
      const release = await this.locks.acquire(id, path);
      try {
        const current = await this.readThroughRewrite(path, id);
        if (current.kind === 'missing') throw new NotFoundError(id);
        if (current.kind === 'problem') {
          throw new InvalidRecordError(`entry ${id} cannot be updated: ${current.message}`, { details: { instanceId: id, problem: current.code } });
        }
        const next = assertRecordUpdate(mutate(current.record), current.record);
        if (next.instance_id !== id) throw new InvalidRecordError(`update may not change instance_id (${id} → ${next.instance_id})`);
        return await this.write(path, next);
      } finally {
        await release();
      }
    });
  }

  async get(instanceId: string): Promise<StoredEntry | undefined> {
    const id = assertReadableInstanceId(instanceId);
    const path = readableEntryPath(this.location, id);
    return this.guard('read', id, async () => {
      if (!(await checkDirectory(this.location, 'read', undefined, this.settings.logger))) return undefined;
      const read = await this.readThroughRewrite(path, id);
      if (read.kind === 'entry') return { record: read.record, version: read.version };
      const known = this.known.get(entryName(id))?.entry;
      if (known && this.midWrite(read)) return known;
      if (read.kind === 'problem') this.settings.logger.debug(`entry ${id} is not readable as a record: ${read.message}`, { code: read.code });
      return undefined;
    });
  }

  async list(): Promise<ListResult> {
    const dirents = await this.guard('read', undefined, () => this.readDirectory());
    const previous = this.known;
    const next = new Map<string, Known>();
    // Most entries are read right here, with synchronous system calls, in slices of
    // at most LIST_SLICE_MS between yields to the event loop; an unparsable one
    // (perhaps mid-rewrite, perhaps to quarantine) waits its turn in listOne.
    // By the dirent's index: undefined for a name that is not an entry, or one that vanished.
    const outcomes = new Array<Known | StoreProblem | undefined>(dirents.length);
    const later: Array<{ index: number; dirent: Dirent; id: string }> = [];
    const batch = new ListBatch(dirents, previous, next, outcomes, later);
    await forEachRunInSlices(dirents.length, LIST_SLICE_MS, (start, slice) => this.listBatchNow(batch, start, slice));
    if (later.length > 0) {
      const settled = await mapBounded(later, this.settings.readConcurrency, ({ dirent, id }) => this.listOne(dirent, id, next));
      later.forEach(({ index }, i) => (outcomes[index] = settled[i]));
    }
    this.known = next;
    const entries: StoredEntry[] = [];
    const problems: StoreProblem[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome === undefined) continue;
      if (outcome instanceof Known) {
        entries.push(outcome.entry);
        if (outcome.notes !== undefined) problems.push(...outcome.notes);
      } else problems.push(outcome);
    }
    return { entries, problems };
  }

  /**
   * The directory's entries, once it passed checkDirectory; none when it does
   * not exist. A small directory (its size says so) is checked and read
   * without waiting on the thread pool: that costs less than the two round trips.
   */
  private async readDirectory(): Promise<Dirent[]> {
    const dir = this.location;
    const checked = checkDirectorySync(dir, 'read');
    if (checked === undefined) return [];
    if (checked === 'repair') {
      if (!(await checkDirectory(dir, 'read', undefined, this.settings.logger))) return [];
    } else if (checked.size <= SYNC_READDIR_BYTES && checked.blocks * 512 <= SYNC_READDIR_BYTES) {
      return readdirSync(dir, { withFileTypes: true });
    }
    return fsPromises().readdir(dir, { withFileTypes: true });
  }

  async deleteIfUnchanged(instanceId: string, version: string): Promise<DeleteOutcome> {
    const id = assertReadableInstanceId(instanceId);
    const path = readableEntryPath(this.location, id);
    return this.guard('write', id, async () => {
      if (!(await checkDirectory(this.location, 'write', undefined, this.settings.logger))) return 'missing';
      // Cheap answers first, without the lock; the lock-held check below is the one that counts.
      const before = this.compare(path, version);
      if (before !== 'same') return before;
      const release = await this.locks.tryAcquire(id, path);
      if (!release) return 'busy';
      try {
        const under = this.compare(path, version);
        if (under !== 'same') return under;
        return (await unlinkIfPresent(path)) ? 'deleted' : 'missing';
      } finally {
        await release();
      }
    });
  }

  /**
   * Under the entry's lock. With `owner`, the file is re-read under the lock and
   * unlinked only if it holds that owner's record (same pid and started_at):
   * a newer registration of the same id is left in place.
   */
  async delete(instanceId: string, owner?: EntryOwner): Promise<boolean> {
    const id = assertReadableInstanceId(instanceId);
    const path = readableEntryPath(this.location, id);
    return this.guard('write', id, async () => {
      if (!(await checkDirectory(this.location, 'write', undefined, this.settings.logger))) return false;
      const release = await this.locks.acquire(id, path);
      try {
        const existing = await pathKind(path);
        if (existing.kind === 'missing') return false;
        if (existing.kind === 'other' && existing.what === 'a directory') {
          throw new NotARegistryError(path, 'the entry is a directory, not a regular file');
        }
        if (owner) {
          const current = await readEntryFile(path, id, this.settings.maxFileBytes);
          if (current.kind !== 'entry' || !isOwnedBy(current.record, owner)) return false;
          // The owner's own removal: moved into the departures, which is the note of a clean stop.
          try {
            departSync(this.location, id, path);
          } catch (error) {
            if (errnoOf(error) === 'ENOENT') return false;
            throw error;
          }
          void sweepDepartures(this.location, this.settings.now());
          return true;
        }
        return await unlinkIfPresent(path);
      } finally {
        await release();
      }
    });
  }

  async departedCleanly(instanceId: string, owner: EntryOwner): Promise<boolean> {
    const id = assertInstanceId(instanceId);
    return this.guard('read', id, () => departedCleanly(this.location, id, owner, this.settings.maxFileBytes, this.settings.now()));
  }

  /**
   * For a process `exit` handler: the owner removing its own file. No lock is
   * possible there; with `owner` the file is re-read synchronously and unlinked
   * only if it holds that owner's record and its version has not changed since
   * that read. Never throws.
   */
  deleteSync(instanceId: string, owner?: EntryOwner): boolean {
    const path = entryPath(this.location, assertInstanceId(instanceId));
    try {
      if (owner) {
        const current = readEntryRecordSync(path, instanceId, this.settings.maxFileBytes);
        if (!current || !isOwnedBy(current.record, owner)) return false;
        // A newer registration written since the read holds other bytes: leave it.
        const now = readEntryStateSync(path, this.settings.maxFileBytes);
        if (now.kind !== 'bytes' || now.version !== current.version) return false;
        departSync(this.location, instanceId, path);
        return true;
      }
      unlinkSync(path);
      return true;
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') {
        this.settings.logger.warn(`could not remove registry entry ${path} at exit`, { error: String(error) });
      }
      return false;
    }
  }

  /** fs.watch on the directory, debounced, with a periodic rescan (see json-dir.watch.ts). */
  async watch(onChange: (change: StoreChange) => void, options: StoreWatchOptions = {}): Promise<StoreWatch> {
    const watch = new DirectoryWatch({
      dir: this.location,
      debounceMs: this.settings.watchDebounceMs,
      rescanIntervalMs: this.settings.watchRescanIntervalMs,
      logger: this.settings.logger,
      onChange,
      onError: options.onError,
    });
    watch.start();
    return watch;
  }

  /**
   * Every read checks the directory first (ADR 0005): it belongs to this user or
   * root and no one else may write into it, so only they wrote what it returns.
   * Checked again now: throws InsecureDirectoryError when that no longer holds.
   */
  async untrustedWriters(): Promise<string | undefined> {
    await checkDirectory(this.location, 'read', undefined, this.settings.logger);
    return undefined;
  }

  /** The registry directory's `dev:ino`; undefined when it is not there (a watcher tells an outage from removals by it). */
  async identity(): Promise<string | undefined> {
    return fsPromises().stat(this.location).then(
      (info) => (info.isDirectory() ? `${info.dev}:${info.ino}` : undefined),
      () => undefined,
    );
  }

  /** Holds no handles, timers or global state between calls (watches are closed by their owners), only the listing caches: safe to call twice. */
  async close(): Promise<void> {
    this.known = new Map();
  }

  /**
   * listOne, without waiting on anything, for a batch of entries from
   * dirents[start] on: first the system calls of each, one synchronous lstat
   * (a settled entry, compared with its stamp) or a read (readEntryBytesSync:
   * open + read + close for an entry seen for the first time, open + fstat +
   * read + close for one seen before), then the parsing and validation of what
   * was read (or, for the same bytes as before, the record kept: keep). A
   * batch ends after LIST_BATCH entries, when its slice has run
   * LIST_SLICE_MS, or after an entry that did not fit the shared buffer
   * (so it holds at most one buffer of its own). An unparsable entry is left
   * to listOne (batch.later): it may be mid-rewrite (read again after yields)
   * or due for quarantine (under its lock). Returns the index after the batch.
   */
  private listBatchNow(batch: ListBatch, start: number, slice: SliceClock): number {
    const { dirents, next, outcomes, reads } = batch;
    const end = Math.min(dirents.length, start + LIST_BATCH);
    // Read before the batch's reads: a file is trusted by its stamp only if it was settled by then.
    const now = this.settings.now();
    listArena.reset();
    let index = start;
    try {
      while (index < end) {
        this.readNow(batch, index++);
        if (listArena.overflowed || slice.hasRun(LIST_SLICE_MS)) break;
      }
      // Entry files are ASCII (both writers escape the rest): one check for the whole batch.
      const ascii = listArena.isAscii();
      for (const { index: at, id, path, read: bytes } of reads) {
        const name = (dirents[at] as Dirent).name;
        const known = batch.previous.get(name);
        if (known !== undefined && bytes.stats !== undefined && versionOfBytes(bytes.buffer, bytes.start, bytes.end) === known.entry.version) {
          // The same bytes as last time (its stamp was missing or moved: a first sight, a chmod): its record
          // stands, now with the stamp of this read.
          outcomes[at] = this.keep(name, known, bytes.stats, next, now);
          continue;
        }
        let read: EntryRead;
        try {
          read = interpretEntryBytes(bytes, id, ascii && bytes.buffer === listArena.buffer);
        } catch (error) {
          outcomes[at] = unreadable(name, path, error);
          continue;
        }
        if (read.kind === 'problem' && read.code === 'UNPARSABLE') batch.later.push({ index: at, dirent: dirents[at] as Dirent, id });
        else outcomes[at] = this.settle(name, path, read, next, now);
      }
    } finally {
      reads.length = 0; // nothing of the shared buffer outlives the batch
    }
    return index;
  }

  /** listBatchNow's system calls for dirents[index]: its outcome, or its bytes in batch.reads. */
  private readNow(batch: ListBatch, index: number): void {
    const { dirents, previous, next, outcomes, reads } = batch;
    const dirent = dirents[index] as Dirent;
    const name = dirent.name;
    // A name the last listing took for an entry is one (instanceIdOfName): not checked again.
    const known = previous.get(name);
    const checkedId = known === undefined ? instanceIdOfName(name) : undefined;
    if (known === undefined && checkedId === undefined) return;
    if (!dirent.isFile() && (dirent.isDirectory() || dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice())) {
      outcomes[index] = problem('NOT_REGULAR_FILE', name, `entry is ${describeType(dirent)}, not a regular file; left alone`, 'skipped');
      return;
    }
    const path = known?.path ?? listedEntryPath(this.location, name);
    if (known?.stamp !== undefined && isUnchangedSync(path, known.stamp)) {
      // Read and validated before, settled, and not changed since: one lstat instead of open, read, parse and validate.
      next.set(name, known);
      outcomes[index] = known;
      return;
    }
    let read: EntryBytes | EntryRead;
    try {
      // An entry seen for the first time is read without a stat (ADR 0034); one seen before, with
      // one, for the stamp that lets the next listing recognise it unchanged.
      read = readEntryBytesSync(path, this.settings.maxFileBytes, listArena, known !== undefined);
    } catch (error) {
      outcomes[index] = unreadable(name, path, error);
      return;
    }
    if (read.kind === 'bytes') reads.push({ index, id: checkedId ?? idOfEntryName(name), path, read });
    else outcomes[index] = this.settle(name, path, read, next);
  }

  /** What a listing makes of a read entry, a vanished one, or a problem other than UNPARSABLE. */
  private settle(name: string, path: string, read: EntryRead, next: Map<string, Known>, now = this.settings.now()): Known | StoreProblem | undefined {
    switch (read.kind) {
      case 'entry': {
        // Handed out again while unchanged, so shared: frozen.
        const entry: StoredEntry = Object.freeze({ record: deepFreeze(read.record), version: read.version });
        const known = new Known(entry, settledStamp(read.stamp, now), path, notesOf(entry.record, name));
        next.set(name, known);
        return known;
      }
      case 'missing':
        return undefined; // removed between readdir and open: it is gone
      case 'problem':
        return problem(read.code, name, read.message, 'skipped');
    }
  }

  /** A known entry whose bytes did not change, kept with the stamp of the stat it was read with now. */
  private keep(name: string, known: Known, stats: Stats, next: Map<string, Known>, now: number): Known {
    const kept = new Known(known.entry, settledStamp(stampOf(stats), now), known.path, known.notes);
    next.set(name, kept);
    return kept;
  }

  /** For an entry listBatchNow found unparsable: read again while it may be mid-rewrite, then left for its writer or quarantined. */
  private async listOne(dirent: Dirent, id: string, next: Map<string, Known>): Promise<Known | StoreProblem | undefined> {
    const name = dirent.name;
    const path = listedEntryPath(this.location, name);
    let read: EntryRead;
    try {
      read = await this.readThroughRewrite(path, id);
    } catch (error) {
      return unreadable(name, path, error);
    }
    if (read.kind !== 'problem' || read.code !== 'UNPARSABLE') return this.settle(name, path, read, next);
    // Caught mid-rewrite (Python empties the file, then refills it): the entry is still there, as last read.
    const known = this.known.get(name);
    if (known && this.midWrite(read)) {
      const standIn = new Known(known.entry, undefined, path, known.notes);
      next.set(name, standIn);
      return standIn;
    }
    return this.unparsable(id, name, path, read);
  }

  /** An unparsable entry changed within the grace period: perhaps its (non-atomic) writer is rewriting it. */
  private midWrite(read: EntryRead): boolean {
    return read.kind === 'problem' && read.code === 'UNPARSABLE' && read.stamp !== undefined && this.settings.now() - read.stamp.mtimeMs < this.settings.graceMs;
  }

  /**
   * readEntryFile, and while the entry looks mid-rewrite, again: right away a
   * few times (the Python writer refills the file within a fraction of a
   * millisecond to a few), then every millisecond, until midWriteRetryMs have
   * passed (KNOWN_ENTRY_RETRY_MS when a last good record can stand in).
   * Every wait yields to the event loop.
   */
  private async readThroughRewrite(path: string, id: string): Promise<EntryRead> {
    let read = await readEntryFile(path, id, this.settings.maxFileBytes);
    if (!this.midWrite(read)) return read;
    const budget = this.known.has(entryName(id)) ? Math.min(KNOWN_ENTRY_RETRY_MS, this.settings.midWriteRetryMs) : this.settings.midWriteRetryMs;
    const deadline = monotonicMs() + budget;
    for (let attempt = 1; monotonicMs() < deadline; attempt++) {
      await new Promise((resolve) => (attempt <= 16 ? setImmediate(resolve) : setTimeout(resolve, 1)));
      read = await readEntryFile(path, id, this.settings.maxFileBytes);
      if (!this.midWrite(read)) return read;
    }
    return read;
  }

  /** A torn write is left to its writer for graceMs; after that it is moved aside, never deleted. */
  private async unparsable(id: string, name: string, path: string, read: Extract<EntryRead, { kind: 'problem' }>): Promise<StoreProblem> {
    const now = this.settings.now();
    if (read.stamp === undefined || now - read.stamp.mtimeMs < this.settings.graceMs) {
      return problem('UNPARSABLE', name, `${read.message}; younger than ${this.settings.graceMs} ms, perhaps mid-write: left for its writer`, 'left-for-writer');
    }
    try {
      const release = await this.locks.tryAcquire(id, path);
      if (!release) return problem('UNPARSABLE', name, `${read.message}; its lock is held: left for its writer`, 'left-for-writer');
      try {
        // The same bytes and the same file at the same change: an empty file that a writer just opened
        // again (Python's open('w') before it writes) has the same bytes and a new stamp.
        const state = readEntryStateSync(path, this.settings.maxFileBytes);
        if (state.kind !== 'bytes' || state.version !== read.version || read.stamp === undefined || !sameStamp(state.stamp, read.stamp)) {
          return problem('UNPARSABLE', name, `${read.message}; it changed while being looked at: left for its writer`, 'left-for-writer');
        }
        const destination = await quarantineFile(this.location, name, now);
        this.settings.logger.warn(`moved unparsable registry entry aside`, { entry: name, to: destination });
        return problem('UNPARSABLE', name, `${read.message}; moved to ${destination}`, 'quarantined');
      } finally {
        await release();
      }
    } catch (error) {
      const why = translateFsError(error, { op: 'write', location: this.location, instanceId: id }).message;
      return problem('UNPARSABLE', name, `${read.message}; could not be quarantined: ${why}`, 'skipped');
    }
  }

  /**
   * Whether the entry at `path` still holds the bytes `version` names (ADR
   * 0034): read again, synchronously (a prune compares many at once, and holds
   * no descriptor across an await), and compared.
   */
  private compare(path: string, version: string): 'same' | 'missing' | 'changed' {
    const now = readEntryStateSync(path, this.settings.maxFileBytes);
    return now.kind === 'missing' ? 'missing' : now.kind === 'bytes' && now.version === version ? 'same' : 'changed';
  }

  private async prepareWrite(): Promise<void> {
    if (!(await checkDirectory(this.location, 'write', undefined, this.settings.logger))) await ensureDirectory(this.location);
  }

  private async write(path: string, record: ServiceRecord): Promise<StoredEntry> {
    // Non-finite numbers (read from a Python record) go back as Python's NaN / Infinity tokens, never as null.
    const text = stringifyPythonJson(record, encodeRecord);
    await writeAtomically(path, text);
    // The version names the bytes written (ADR 0034); a writer that replaced them since gave the file another one.
    return { record, version: versionOfBytes(Buffer.from(text, 'utf8')) };
  }

  /**
   * Every fs/lock (errno) error leaves the store as a RegistryError, through the
   * one lookup table. Anything else passes untouched: RegistryErrors, and what
   * a caller's `mutate` threw (its TypeError is not a store failure).
   */
  private async guard<T>(op: FsOperation, instanceId: string | undefined, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (errnoOf(error) === undefined) throw error;
      throw translateFsError(error, { op, location: this.location, ...(instanceId === undefined ? {} : { instanceId }) });
    }
  }
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await fsPromises().unlink(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

/** What the batches of one listing share (JsonDirStore.listBatchNow). */
class ListBatch {
  /** The current batch's entries read and not yet interpreted. */
  readonly reads: Array<{ index: number; id: string; path: string; read: EntryBytes }> = [];

  constructor(
    readonly dirents: readonly Dirent[],
    /** The last listing's entries, by file name. */
    readonly previous: ReadonlyMap<string, Known>,
    /** This listing's, as they are read. */
    readonly next: Map<string, Known>,
    /** By the dirent's index: undefined for a name that is not an entry, or one that vanished. */
    readonly outcomes: Array<Known | StoreProblem | undefined>,
    /** Entries found unparsable, for listOne. */
    readonly later: Array<{ index: number; dirent: Dirent; id: string }>,
  ) {}
}

/** An entry as the last listing left it (JsonDirStore.known). */
class Known {
  constructor(
    readonly entry: StoredEntry,
    /** Set when the entry was settled when read: its file is then recognised unchanged by it. */
    readonly stamp: EntryStamp | undefined,
    /** The entry's path (built once, not at every listing). */
    readonly path: string,
    /** The notes on its record's ignored fields (foreignFieldNotes), worked out once; undefined when there are none. */
    readonly notes: readonly StoreProblem[] | undefined,
  ) {}
}

/** The file name of the entry of `id`, as readdir gives it (the key of JsonDirStore.known). */
function entryName(id: string): string {
  return `${id}${ENTRY_SUFFIX}`;
}

/** The id of a name instanceIdOfName accepted. */
function idOfEntryName(name: string): string {
  return name.slice(0, -ENTRY_SUFFIX.length);
}

function notesOf(record: ServiceRecord, name: string): readonly StoreProblem[] | undefined {
  if (foreignFieldsOf(record).length === 0) return undefined;
  const notes = foreignFieldNotes(record, name);
  // Handed out by every listing while the entry is unchanged, so shared: frozen.
  return notes.length > 0 ? Object.freeze(notes.map((note) => Object.freeze(note))) : undefined;
}

/**
 * The stamp a listing keeps for a file: none when it changed less than
 * SETTLED_MS before `now` (it could change again within the same timestamp
 * tick with the same size, in place, unseen by its stamp), or was read
 * without a stat (seen for the first time: stamped at its next read).
 */
function settledStamp(stamp: EntryStamp | undefined, now: number): EntryStamp | undefined {
  return stamp === undefined || now - changedMsOf(stamp) < SETTLED_MS ? undefined : stamp;
}

/** An entry that could not be read (or interpreted): skipped, with why. */
function unreadable(name: string, path: string, error: unknown): StoreProblem {
  return problem('UNREADABLE', name, `entry could not be read: ${translateFsError(error, { op: 'read', location: path }).message}`, 'skipped');
}

function problem(code: string, entry: string, message: string, action: StoreProblem['action']): StoreProblem {
  return { code, entry, message, action };
}
