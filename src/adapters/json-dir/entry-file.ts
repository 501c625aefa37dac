import { isAscii } from 'node:buffer';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { InvalidInstanceIdError } from '../../domain/errors.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertReadableInstanceId, isReadableInstanceId, parseRecordAs } from '../../domain/python-instance-id.js';
import { fastReadRecord } from '../../domain/record.fast-check.js';
import { decodeJsonText, isUnparsable, isUnsupportedVersion, type ParseOutcome, type ServiceRecord } from '../../domain/record.schema.js';
import { errnoOf } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';
import type { FileHandle } from 'node:fs/promises';

export const ENTRY_SUFFIX = '.json';

/** `<dir>/<id>.json` for a write: the id is validated (our strict pattern) before any path is built. */
export function entryPath(dir: string, instanceId: string): string {
  return join(dir, `${assertInstanceId(instanceId)}${ENTRY_SUFFIX}`);
}

/**
 * `<dir>/<id>.json` for a read or a clean-up: ours, or an id the Python
 * registry lists (`marcus_my project`). The path is built only when it names a
 * file directly inside `dir` (no separator of this platform, no `..`).
 */
export function readableEntryPath(dir: string, instanceId: string): string {
  const name = `${assertReadableInstanceId(instanceId)}${ENTRY_SUFFIX}`;
  const path = join(dir, name);
  if (dirname(path) !== dir || basename(path) !== name) throw new InvalidInstanceIdError(instanceId);
  return path;
}

/**
 * `<dir>/<name>` for a name readdir returned and instanceIdOfName accepted:
 * one path component already (no separator, not `..`), so readableEntryPath's
 * checks hold without building and taking the path apart again.
 */
export function listedEntryPath(dir: string, name: string): string {
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

/**
 * The instance id a directory entry name stands for, or undefined when the name
 * is not an entry (README, `*.lock` dirs, temp files of atomic writes
 * `<id>.json.<…>.tmp` and write-file-atomic's `<id>.json.<hash>`, `.quarantine`,
 * editor backups): those are left alone.
 * Entries are `<id>.json` for our ids, and every name Python's glob
 * `marcus_*.json` matches.
 */
export function instanceIdOfName(name: string): string | undefined {
  if (!name.endsWith(ENTRY_SUFFIX)) return undefined;
  const id = name.slice(0, -ENTRY_SUFFIX.length);
  return isReadableInstanceId(id) ? id : undefined;
}

/**
 * An entry's version: its bytes, one character per byte (latin1), so equal
 * exactly when the contents are (ADR 0034). Taken from the bytes a reader
 * parsed, it names what was judged; compare-and-delete reads the file again
 * and compares. For the ASCII files both registries write it is the very
 * string JSON.parse reads, at no cost of its own.
 */
export function versionOfBytes(buffer: Buffer, start = 0, end = buffer.length): string {
  return buffer.toString('latin1', start, end);
}

/**
 * What a settled entry is recognised by without reading it (json-dir.store.ts,
 * ADR 0027): its inode, size and change times, from the fstat of the open
 * file it was read from (a plain stat: the times in ms as doubles, ADR 0033).
 * A plain lstat is compared against it; see isUnchangedSync.
 */
export interface EntryStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

export function stampOf(stats: Stats): EntryStamp {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

/** Epoch ms of the stamped file's last change: the later of its mtime and ctime. */
export function changedMsOf(stamp: EntryStamp): number {
  return Math.max(stamp.mtimeMs, stamp.ctimeMs);
}

const NO_THROW_IF_MISSING = { throwIfNoEntry: false } as const;

/**
 * Whether the entry at `path` is still the regular file `stamp` was taken of:
 * same inode, size, mtime and ctime. One lstat without BigInts (an atomic
 * rename gives a new inode, an in-place rewrite new times). False when it is
 * gone, not a regular file, or not stat-able: the caller reads it then.
 */
export function isUnchangedSync(path: string, stamp: EntryStamp): boolean {
  let stats: Stats | undefined;
  try {
    stats = lstatSync(path, NO_THROW_IF_MISSING);
  } catch {
    return false;
  }
  return (
    stats !== undefined &&
    stats.isFile() &&
    stats.ino === stamp.ino &&
    stats.size === stamp.size &&
    stats.ctimeMs === stamp.ctimeMs &&
    stats.mtimeMs === stamp.mtimeMs
  );
}

export type EntryProblemCode =
  | 'NOT_REGULAR_FILE'
  | 'TOO_LARGE'
  | 'UNREADABLE'
  | 'UNPARSABLE'
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_SCHEMA_VERSION'
  | 'ID_MISMATCH';

export type EntryRead =
  | {
      readonly kind: 'entry';
      readonly record: ServiceRecord;
      readonly version: string;
      /** Recognises the same file later without reading it (isUnchangedSync); absent when read without a stat. */
      readonly stamp?: EntryStamp;
    }
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'problem';
      readonly code: EntryProblemCode;
      readonly message: string;
      /** Set for UNPARSABLE: what the quarantine compares the file with before moving it. */
      readonly version?: string;
      /** Set for UNPARSABLE when read with a stat: its mtime for the grace period, and the file the quarantine may move. */
      readonly stamp?: EntryStamp;
    };

// O_NONBLOCK: opening a FIFO must return at once instead of waiting for a writer.
// O_NOFOLLOW: an entry that is a symlink is never followed (ELOOP).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one entry file without following links, without blocking on special
 * files and without reading more than `maxBytes`. Never throws for a bad entry;
 * throws only what the caller must translate (e.g. EMFILE).
 */
export async function readEntryFile(path: string, instanceId: string, maxBytes: number): Promise<EntryRead> {
  let handle;
  try {
    handle = await fsPromises().open(path, OPEN_FLAGS);
  } catch (error) {
    return openFailure(error);
  }
  try {
    const read = await readOpened(handle, maxBytes);
    return read.kind === 'bytes' ? interpret(read.bytes, 0, read.bytes.length, read.stats, instanceId) : read;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** An open entry file's fstat and bytes, or why it is not read. */
async function readOpened(handle: FileHandle, maxBytes: number): Promise<{ kind: 'bytes'; bytes: Buffer; stats: Stats } | EntryRead> {
  const stats = await handle.stat();
  const refused = refuse(stats, maxBytes);
  if (refused) return refused;
  const size = stats.size;
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
    if (bytesRead === 0) break; // truncated under us: what we have will not parse
    filled += bytesRead;
  }
  return { kind: 'bytes', bytes: filled === size ? buffer : buffer.subarray(0, filled), stats };
}

/**
 * An entry file's bytes (`buffer` from `start` to `end`) and, when it was
 * read with one, the fstat taken when it was opened; read by
 * readEntryBytesSync and not yet interpreted (interpretEntryBytes).
 */
export interface EntryBytes {
  readonly kind: 'bytes';
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  readonly stats: Stats | undefined;
}

/**
 * The most a read without a stat asks for (readEntryBytesSync): far more than
 * a record, so that a shorter answer is the whole file.
 */
const FIRST_READ_BYTES = 64 * 1024;

/**
 * readEntryFile's system calls, synchronous, without interpreting what they
 * read: the same flags, without four thread-pool round trips per file. The
 * bytes land in `arena` (a batch's shared buffer) when they fit, and stay
 * valid until the arena is reset. For a listing that reads many small local
 * files in batches short enough not to hold the event loop
 * (json-dir.store.ts): it reads a batch, then interprets it (ADR 0032).
 *
 * `withStats` false (an entry the listing has not seen before): open, one
 * read and close, without an fstat (ADR 0034). The directory entry said it is
 * a regular file; opened without following links and without blocking, a
 * file swapped in since then cannot hold the read, which is at an offset: a
 * directory fails it (EISDIR), a FIFO too (ESPIPE). The read asks for one byte
 * more than `maxBytes` allows (at most FIRST_READ_BYTES): a file that fills
 * it is read again with its fstat, which refuses what is too large. A shorter read is taken as the
 * whole file: a file cut short would not parse, and goes to the full read too.
 * With `withStats`, or for such a file: open, fstat, read and close, with
 * ADR 0027's checks, and the stat for the entry's stamp.
 */
export function readEntryBytesSync(path: string, maxBytes: number, arena: ReadArena, withStats = true): EntryBytes | EntryRead {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    return openFailure(error);
  }
  try {
    if (!withStats) {
      const ask = Math.min(maxBytes + 1, FIRST_READ_BYTES);
      const at = arena.take(ask);
      if (at >= 0) {
        let got: number;
        try {
          got = readSync(fd, arena.buffer, at, ask, 0);
        } catch (error) {
          arena.giveBack(ask);
          const refused = readFailure(error);
          if (refused) return refused;
          throw error;
        }
        arena.giveBack(ask - got);
        if (got < ask) return { kind: 'bytes', buffer: arena.buffer, start: at, end: at + got, stats: undefined };
        arena.giveBack(got); // as large as it may be, or larger: read again below, with its stat
      }
    }
    const stats = fstatSync(fd);
    const refused = refuse(stats, maxBytes);
    if (refused) return refused;
    const size = stats.size;
    const at = arena.take(size);
    const buffer = at < 0 ? Buffer.allocUnsafe(size) : arena.buffer;
    const start = at < 0 ? 0 : at;
    return { kind: 'bytes', buffer, start, end: start + readInto(fd, buffer, start, size), stats };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // a close error after a complete read changes nothing we read
    }
  }
}

/** Reads `size` bytes of `fd` from its start into `buffer` at `start`; fewer when it was truncated under us (what we have will not parse). */
function readInto(fd: number, buffer: Buffer, start: number, size: number): number {
  let filled = 0;
  while (filled < size) {
    const bytesRead = readSync(fd, buffer, start + filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** What a read of a file opened as an entry says it is when it fails: a directory, or a FIFO or socket (no reads at an offset). */
function readFailure(error: unknown): EntryRead | undefined {
  switch (errnoOf(error)) {
    case 'EISDIR':
      return notRegular('a directory');
    case 'ESPIPE':
      return notRegular('a FIFO or other special file');
    default:
      return undefined;
  }
}

/**
 * What readEntryBytesSync read, as a record of `instanceId` or the problem
 * with it. `ascii`: its bytes are known to be ASCII (ReadArena.isAscii), so
 * they need no check of their own.
 */
export function interpretEntryBytes(read: EntryBytes, instanceId: string, ascii: boolean): EntryRead {
  return interpret(read.buffer, read.start, read.end, read.stats, instanceId, ascii);
}

/**
 * One buffer that a batch of small reads share, one after the other; a read
 * that does not fit needs a buffer of its own (and `overflowed` says so, for a
 * batch to end there). What was taken is valid until `reset`: a batch is read
 * and interpreted without yielding in between. Reads land in it by offset,
 * without a Buffer object of their own.
 */
export class ReadArena {
  private bytesOf: Buffer | undefined;
  private used = 0;
  private overflow = false;

  constructor(private readonly bytes: number) {}

  /** The shared buffer (allocated at the first use). */
  get buffer(): Buffer {
    return (this.bytesOf ??= Buffer.allocUnsafeSlow(this.bytes));
  }

  /** Where in `buffer` to read `size` bytes; -1 when they do not fit (the read needs a buffer of its own). */
  take(size: number): number {
    if (size > this.bytes - this.used) {
      this.overflow = true;
      return -1;
    }
    const at = this.used;
    this.used += size;
    return at;
  }

  /** Hands back the last `bytes` of the last region taken (what a read did not fill). */
  giveBack(bytes: number): void {
    this.used -= bytes;
  }

  /** Whether everything taken since the last reset is ASCII: one check for a whole batch of reads. */
  isAscii(): boolean {
    return this.used === 0 || isAscii(this.buffer.subarray(0, this.used));
  }

  /** Whether a read since the last reset needed a buffer of its own. */
  get overflowed(): boolean {
    return this.overflow;
  }

  /** Everything taken before is done with. */
  reset(): void {
    this.used = 0;
    this.overflow = false;
  }
}

/** What an opened entry is not allowed to be: anything but a regular file, or larger than `maxBytes`. */
function refuse(stats: Stats, maxBytes: number): EntryRead | undefined {
  if (!stats.isFile()) return notRegular(describeType(stats));
  const size = stats.size;
  if (size > maxBytes) {
    return { kind: 'problem', code: 'TOO_LARGE', message: `entry is ${size} bytes, more than the ${maxBytes} allowed; not read` };
  }
  return undefined;
}

/**
 * The bytes of an entry file, as a record of `instanceId` or the problem with
 * them. `stats` (when read with one) gives the entry its stamp.
 */
function interpret(buffer: Buffer, start: number, end: number, stats: Stats | undefined, instanceId: string, ascii = false): EntryRead {
  const version = versionOfBytes(buffer, start, end);
  let text: string;
  try {
    // Both writers escape every non-ASCII character (json.dump's ensure_ascii, encodeRecord): ASCII
    // decodes the same as UTF-8, without the decoder (and has no byte-order mark to drop), so the
    // version is the text.
    const bytes = ascii ? undefined : buffer.subarray(start, end);
    text = bytes === undefined || isAscii(bytes) ? version : utf8.decode(bytes);
  } catch {
    return unparsable('not valid UTF-8', version, stats);
  }
  const outcome = decodeEntry(text, instanceId);
  if (!outcome.ok) {
    const { error } = outcome;
    if (isUnparsable(error)) return unparsable('not valid JSON', version, stats);
    const code = isUnsupportedVersion(error) ? 'UNSUPPORTED_SCHEMA_VERSION' : 'INVALID_RECORD';
    return { kind: 'problem', code, message: error.message };
  }
  if (outcome.record.instance_id !== instanceId) {
    return {
      kind: 'problem',
      code: 'ID_MISMATCH',
      message: `file of ${instanceId} holds the record of ${JSON.stringify(outcome.record.instance_id)}`,
    };
  }
  return stats === undefined ? { kind: 'entry', record: outcome.record, version } : { kind: 'entry', record: outcome.record, version, stamp: stampOf(stats) };
}

/**
 * Synchronous, for a process `exit` handler: the record at `path` and its
 * version, or undefined when it is absent, not a regular file, too large,
 * unreadable or not a valid record of `instanceId`. Opened as readEntryFile
 * opens (no links followed, no blocking on FIFOs). Never throws.
 */
export function readEntryRecordSync(path: string, instanceId: string, maxBytes: number): { record: ServiceRecord; version: string } | undefined {
  try {
    const read = readWholeSync(path, maxBytes);
    if (read.kind !== 'bytes') return undefined;
    const outcome = decodeEntry(utf8.decode(read.bytes), instanceId);
    if (!outcome.ok || outcome.record.instance_id !== instanceId) return undefined;
    return { record: outcome.record, version: versionOfBytes(read.bytes) };
  } catch {
    return undefined;
  }
}

/** What is at an entry's path now: its version and the stamp of the fstat it was read with, or why there is none. */
export type EntryState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'other' }
  | { readonly kind: 'bytes'; readonly version: string; readonly stamp: EntryStamp };

/**
 * The entry at `path` as it is now, read as readEntryFile reads (no links
 * followed, no blocking, nothing over `maxBytes`), not parsed: what
 * compare-and-delete, the exit handler and the quarantine compare with what
 * they judged (ADR 0034). Synchronous, so that no descriptor is held across
 * an await (a prune may compare thousands of entries at once). 'other' for
 * what is not a regular file within `maxBytes`, or cannot be opened;
 * throws what the caller must translate (e.g. EMFILE, EIO).
 */
export function readEntryStateSync(path: string, maxBytes: number): EntryState {
  const read = readWholeSync(path, maxBytes);
  return read.kind === 'bytes' ? { kind: 'bytes', version: versionOfBytes(read.bytes), stamp: stampOf(read.stats) } : read;
}

/** Whether two stamps name the same file at the same change (inode, size, mtime and ctime). */
export function sameStamp(a: EntryStamp, b: EntryStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The whole entry file at `path` and its fstat, read as readEntryFile reads; throws what openFailure does not know, and read errors. */
function readWholeSync(path: string, maxBytes: number): { kind: 'bytes'; bytes: Buffer; stats: Stats } | { kind: 'missing' } | { kind: 'other' } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    return openFailure(error).kind === 'missing' ? { kind: 'missing' } : { kind: 'other' };
  }
  try {
    const stats = fstatSync(fd);
    if (refuse(stats, maxBytes)) return { kind: 'other' };
    const buffer = Buffer.allocUnsafe(stats.size);
    return { kind: 'bytes', bytes: buffer.subarray(0, readInto(fd, buffer, 0, stats.size)), stats };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // a close error after a complete read changes nothing we read
    }
  }
}

export type PathKind = { readonly kind: 'missing' } | { readonly kind: 'file' } | { readonly kind: 'other'; readonly what: string };

/** What is at `path`, without following it: a write refuses anything but a regular file there. */
export async function pathKind(path: string): Promise<PathKind> {
  try {
    const stats = await fsPromises().lstat(path);
    return stats.isFile() ? { kind: 'file' } : { kind: 'other', what: describeType(stats) };
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
}

/**
 * The record in an entry file's text; validated as the record of
 * `instanceId`'s file (see parseRecordAs). The common well-formed record is
 * recognised by the fast check, which answers as parseRecordAs would for any
 * file name (it accepts only ids of our pattern); the decoded value is ours
 * alone, so it may become the record without a copy.
 */
function decodeEntry(text: string, instanceId: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: perhaps Python's dialect (NaN, Infinity), else the unparsable error.
    const decoded = decodeJsonText(text);
    if (!decoded.ok) return decoded;
    value = decoded.value;
  }
  const record = fastReadRecord<ServiceRecord>(value, true);
  return record !== undefined ? { ok: true, record } : parseRecordAs(value, instanceId);
}

function openFailure(error: unknown): EntryRead {
  switch (errnoOf(error)) {
    case 'ENOENT':
      return { kind: 'missing' };
    case 'ELOOP': // Linux, macOS: O_NOFOLLOW on a symlink
    case 'EMLINK': // FreeBSD says this instead
      return notRegular('a symbolic link (never followed)');
    case 'ENXIO': // a socket
    case 'ENODEV':
    case 'EOPNOTSUPP':
      return notRegular('a special file');
    case 'EACCES':
    case 'EPERM':
      return { kind: 'problem', code: 'UNREADABLE', message: `entry is not readable: ${(error as Error).message}` };
    default:
      throw error;
  }
}

function notRegular(what: string): EntryRead {
  return { kind: 'problem', code: 'NOT_REGULAR_FILE', message: `entry is ${what}, not a regular file; left alone` };
}

function unparsable(why: string, version: string, stats: Stats | undefined): EntryRead {
  return { kind: 'problem', code: 'UNPARSABLE', message: `entry is ${why}`, version, ...(stats !== undefined && { stamp: stampOf(stats) }) };
}

export function describeType(stats: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link (never followed)';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'a device or other special file';
}
