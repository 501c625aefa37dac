import { isAscii } from 'node:buffer';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type BigIntStats, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { InvalidInstanceIdError } from '../../domain/errors.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertReadableInstanceId, isReadableInstanceId, parseRecordAs } from '../../domain/python-instance-id.js';
import { fastReadRecord } from '../../domain/record.fast-check.js';
import { decodeJsonText, isUnparsable, isUnsupportedVersion, type ParseOutcome, type ServiceRecord } from '../../domain/record.schema.js';
import { errnoOf } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

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
 * File identity + change: an atomic write gives a new inode per write, the
 * Python writer rewrites in place (mtime, ctime and size change). Equal for an
 * unchanged file however it is stat'ed (fstat of an open file or lstat).
 */
export function versionOf(stats: BigIntStats): string {
  return `${stats.ino}:${stats.mtimeNs}:${stats.ctimeNs}:${stats.size}`;
}

/**
 * What a settled entry is recognised by without reading it (json-dir.store.ts,
 * ADR 0027): its inode, size and change times, as plain numbers, taken from
 * the same fstat as the entry's version. A plain lstat (no BigInt, no version
 * string) is compared against it; see isUnchangedSync.
 */
export interface EntryStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

function stampOf(stats: BigIntStats): EntryStamp {
  return { ino: Number(stats.ino), size: Number(stats.size), mtimeMs: Number(stats.mtimeNs) / 1e6, ctimeMs: Number(stats.ctimeNs) / 1e6 };
}

/**
 * How far two readings of one timestamp may differ in milliseconds and still
 * be the same: the stamp's ms come from the nanoseconds of a BigInt stat, a
 * plain stat's from seconds and nanoseconds in doubles; both round within a
 * few hundred nanoseconds at today's epoch (a double's step is ~0.24 µs).
 * A change is never this close to the recorded one: an entry is only settled
 * (trusted by its stamp) when its last change was SETTLED_MS (2 s) before it
 * was read, and any later write, rename over it, chmod or chown stamps ctime
 * with the time of that change.
 */
const SAME_TIME_MS = 0.001;

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
    Math.abs(stats.ctimeMs - stamp.ctimeMs) < SAME_TIME_MS &&
    Math.abs(stats.mtimeMs - stamp.mtimeMs) < SAME_TIME_MS
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
      /** Epoch ms of the file's last change (the later of mtime and ctime). */
      readonly changedMs: number;
      /** Recognises the same file later without reading it (isUnchangedSync). */
      readonly stamp: EntryStamp;
    }
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'problem';
      readonly code: EntryProblemCode;
      readonly message: string;
      /** Set for UNPARSABLE: what the grace-period and quarantine decisions need. */
      readonly mtimeMs?: number;
      readonly version?: string;
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
    const stats = await handle.stat({ bigint: true });
    const refused = refuse(stats, maxBytes);
    if (refused) return refused;
    const size = Number(stats.size);
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break; // truncated under us: what we have will not parse
      filled += bytesRead;
    }
    return interpret(buffer.subarray(0, filled), stats, instanceId);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * An entry file's bytes and the fstat taken when it was opened, read by
 * readEntryBytesSync and not yet interpreted (interpretEntryBytes).
 */
export interface EntryBytes {
  readonly kind: 'bytes';
  readonly bytes: Buffer;
  readonly stats: BigIntStats;
}

/**
 * readEntryFile's system calls, synchronous, without interpreting what they
 * read: the same flags and checks, without four thread-pool round trips per
 * file (open, fstat, read, close). The bytes land in `arena` (a batch's shared
 * buffer) when they fit, and stay valid until the arena is reset.
 * For a listing that reads many small local files in batches short enough not
 * to hold the event loop (json-dir.store.ts): it reads a batch, then interprets
 * it, rather than alternating system calls with parsing, which makes both
 * slower (each evicts what the other had in the CPU's caches; ADR 0032).
 */
export function readEntryBytesSync(path: string, maxBytes: number, arena: ReadArena): EntryBytes | EntryRead {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    return openFailure(error);
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    const refused = refuse(stats, maxBytes);
    if (refused) return refused;
    const size = Number(stats.size);
    const buffer = arena.take(size);
    let filled = 0;
    while (filled < size) {
      const bytesRead = readSync(fd, buffer, filled, size - filled, filled);
      if (bytesRead === 0) break; // truncated under us: what we have will not parse
      filled += bytesRead;
    }
    return { kind: 'bytes', bytes: filled === size ? buffer : buffer.subarray(0, filled), stats };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // a close error after a complete read changes nothing we read
    }
  }
}

/** What readEntryBytesSync read, as a record of `instanceId` or the problem with it. */
export function interpretEntryBytes(read: EntryBytes, instanceId: string): EntryRead {
  return interpret(read.bytes, read.stats, instanceId);
}

/**
 * One buffer that a batch of small reads share, one after the other; a read
 * that does not fit gets a buffer of its own (and `overflowed` says so, for a
 * batch to end there). What was taken is valid until `reset`: a batch is read
 * and interpreted without yielding in between.
 */
export class ReadArena {
  private buffer: Buffer | undefined;
  private used = 0;
  private overflow = false;

  constructor(private readonly bytes: number) {}

  /** `size` bytes to read into. */
  take(size: number): Buffer {
    if (size > this.bytes - this.used) {
      this.overflow = true;
      return Buffer.allocUnsafe(size);
    }
    this.buffer ??= Buffer.allocUnsafeSlow(this.bytes);
    const taken = this.buffer.subarray(this.used, this.used + size);
    this.used += size;
    return taken;
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
function refuse(stats: BigIntStats, maxBytes: number): EntryRead | undefined {
  if (!stats.isFile()) return notRegular(describeType(stats));
  const size = Number(stats.size);
  if (size > maxBytes) {
    return { kind: 'problem', code: 'TOO_LARGE', message: `entry is ${size} bytes, more than the ${maxBytes} allowed; not read` };
  }
  return undefined;
}

/** The bytes of an entry file, as a record of `instanceId` or the problem with them. */
function interpret(bytes: Buffer, stats: BigIntStats, instanceId: string): EntryRead {
  let text: string;
  try {
    // Both writers escape every non-ASCII character (json.dump's ensure_ascii, encodeRecord): ASCII
    // decodes the same as UTF-8, without the decoder (and has no byte-order mark to drop).
    text = isAscii(bytes) ? bytes.toString('latin1') : utf8.decode(bytes);
  } catch {
    return unparsable('not valid UTF-8', stats);
  }
  const outcome = decodeEntry(text, instanceId);
  if (!outcome.ok) {
    const { error } = outcome;
    if (isUnparsable(error)) return unparsable('not valid JSON', stats);
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
  const stamp = stampOf(stats);
  return { kind: 'entry', record: outcome.record, version: versionOf(stats), changedMs: Math.max(stamp.mtimeMs, stamp.ctimeMs), stamp };
}

/**
 * Synchronous, for a process `exit` handler: the record at `path` and its
 * version, or undefined when it is absent, not a regular file, too large,
 * unreadable or not a valid record of `instanceId`. Opened as readEntryFile
 * opens (no links followed, no blocking on FIFOs). Never throws.
 */
export function readEntryRecordSync(path: string, instanceId: string, maxBytes: number): { record: ServiceRecord; version: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile() || stats.size > BigInt(maxBytes)) return undefined;
    const size = Number(stats.size);
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const bytesRead = readSync(fd, buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const outcome = decodeEntry(utf8.decode(buffer.subarray(0, filled)), instanceId);
    if (!outcome.ok || outcome.record.instance_id !== instanceId) return undefined;
    return { record: outcome.record, version: versionOf(stats) };
  } catch {
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // nothing to do at exit
    }
  }
}

/** Synchronous statEntryVersion; undefined when absent, not a regular file or not stat-able. */
export function statEntryVersionSync(path: string): string | undefined {
  try {
    const stats = lstatSync(path, { bigint: true });
    return stats.isFile() ? versionOf(stats) : undefined;
  } catch {
    return undefined;
  }
}

/** The version of the entry at `path` without reading it, or undefined when absent or not a regular file. */
export async function statEntryVersion(path: string): Promise<string | undefined> {
  try {
    const stats = await fsPromises().lstat(path, { bigint: true });
    return stats.isFile() ? versionOf(stats) : undefined;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
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

function unparsable(why: string, stats: BigIntStats): EntryRead {
  return { kind: 'problem', code: 'UNPARSABLE', message: `entry is ${why}`, mtimeMs: Number(stats.mtimeMs), version: versionOf(stats) };
}

export function describeType(stats: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link (never followed)';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'a device or other special file';
}
