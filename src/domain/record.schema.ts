import type * as z from 'zod/mini';
import { InvalidRecordError, UnsupportedSchemaVersionError } from './errors.js';
import { attachForeignFields, carryForeignFields, foreignFieldsOf, type ForeignField } from './foreign-fields.js';
import { exceedsDepth, MAX_RECORD_DEPTH } from './json-depth.js';
import { MAX_PYTHON_JSON_DEPTH, parsePythonJson } from './python-json.js';
import { fastReadRecord } from './record.fast-check.js';
import { REQUIRED_KEYS, SCHEMA_VERSION } from './record.keys.js';
import { buildSchemas, type RecordSchemas } from './record.zod.js';
import { formatTimestamp } from './timestamp.js';

export { MAX_PID, RECORD_KEYS, REQUIRED_KEYS, SCHEMA_VERSION } from './record.keys.js';

let built: RecordSchemas | undefined;

function schemas(): RecordSchemas {
  built ??= buildSchemas();
  return built;
}

/**
 * The record schema (what we write) as a zod/mini schema, built on the first
 * call: `recordSchema().safeParse(value)`. The JSON Schema for other languages
 * is generated from it (`npm run schema`).
 */
export function recordSchema(): RecordSchemas['write'] {
  return schemas().write;
}

/** A record as read: what we write, with `status` possibly absent. Writes require it (assertRecord). */
export type ServiceRecord = z.infer<RecordSchemas['read']>;

/** A key that would reach an object's prototype if ever copied by assignment. */
const HOSTILE_KEYS = new Set(['__proto__']);

export type ParseOutcome =
  | { readonly ok: true; readonly record: ServiceRecord }
  | { readonly ok: false; readonly error: InvalidRecordError | UnsupportedSchemaVersionError };

/**
 * Validates an already-decoded JSON value as a reader: liberal. Never throws.
 *
 * The REQUIRED_KEYS must be there in their types, or the record is refused.
 * Any other known key in an unexpected type does not hide the record: where
 * its meaning is clear it is read in our type (`schema_version: "1"` → 1,
 * `process_start_time` as epoch seconds → a timestamp), otherwise it is
 * treated as absent; either way the original stays in the record's JSON
 * (written back untouched, see foreign-fields.ts), and the ignored ones are
 * reported by `foreignFieldsOf(record)` for stores to note.
 */
export function parseRecord(value: unknown): ParseOutcome {
  return parse(value, 'read');
}

/** parseRecord by the zod schema alone, without the hand-written fast check (for the test that proves the two agree). */
export function parseRecordBySchema(value: unknown): ParseOutcome {
  return parse(value, 'read', false);
}

/** assertRecord by the zod schema alone (the same test, for writes). */
export function assertRecordBySchema(value: unknown): ServiceRecord {
  const outcome = parse(value, 'write', false);
  if (!outcome.ok) throw outcome.error;
  return outcome.record;
}

function parse(value: unknown, mode: 'read' | 'write' | 'write-back', fastCheck = true): ParseOutcome {
  // The common well-formed record, checked by hand; anything else (and every error message) is the schema's.
  // A write needs `status` too: the write schema differs from the read schema only there.
  const fast = fastCheck ? fastReadRecord<ServiceRecord>(value) : undefined;
  if (fast !== undefined && (mode !== 'write' || typeof fast.status === 'string')) return { ok: true, record: fast };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new InvalidRecordError(`a record must be a JSON object, got ${describe(value)}`) };
  }
  const clean: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!HOSTILE_KEYS.has(key)) clean[key] = (value as Record<string, unknown>)[key];
  }
  const fields: ForeignField[] = [];
  if (mode === 'read') readVersionString(clean, fields);
  const version = clean['schema_version'];
  if (typeof version === 'number' && version > SCHEMA_VERSION) {
    return { ok: false, error: new UnsupportedSchemaVersionError('the record', version, SCHEMA_VERSION) };
  }
  if (exceedsDepth(value, MAX_RECORD_DEPTH)) {
    const issue = `(root): nested deeper than ${MAX_RECORD_DEPTH} levels`;
    return { ok: false, error: new InvalidRecordError(`invalid record: ${issue}`, { details: { issues: [issue] } }) };
  }
  // write-back: an update of a record whose status was ignored on read may leave it absent.
  const schema = mode === 'write' ? schemas().write : schemas().read;
  let result = schema.safeParse(clean);
  if (!result.success && mode === 'read' && setAsideForeign(clean, result.error.issues, fields)) result = schema.safeParse(clean);
  if (result.success) {
    const order = fields.length > 0 ? Object.keys(value) : [];
    return { ok: true, record: attachForeignFields(result.data, order, fields) };
  }
  const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return {
    ok: false,
    error: new InvalidRecordError(`invalid record: ${issues.join('; ')}`, { details: { issues } }),
  };
}

/** `schema_version` written as a string of digits ("1"): its meaning is clear. */
function readVersionString(clean: Record<string, unknown>, fields: ForeignField[]): void {
  const original = clean['schema_version'];
  if (typeof original !== 'string' || !/^\d{1,9}$/.test(original)) return;
  const used = Number(original);
  clean['schema_version'] = used;
  fields.push({ key: 'schema_version', original, used, reason: 'a string of digits, read as the number' });
}

/**
 * For every key the schema refused that is not required: reads it in our type
 * when its meaning is clear, else removes it (treated as absent), and records
 * the original. Returns false when a required key is among the refused (the
 * record is invalid as it is), true when it changed something to parse again.
 */
function setAsideForeign(clean: Record<string, unknown>, issues: readonly z.core.$ZodIssue[], fields: ForeignField[]): boolean {
  const refused = new Map<string, string>();
  for (const issue of issues) {
    const key = issue.path[0];
    if (typeof key !== 'string' || REQUIRED_KEYS.has(key) || !Object.prototype.hasOwnProperty.call(clean, key)) return false;
    if (!refused.has(key)) refused.set(key, issue.message);
  }
  for (const [key, message] of refused) {
    const original = clean[key];
    const used = readAsOurType(key, original);
    if (used === undefined) delete clean[key];
    else clean[key] = used;
    fields.push({ key, original, used, reason: used === undefined ? message : 'read in our type' });
  }
  return refused.size > 0;
}

/** The value in our type when the foreign one means it unambiguously, else undefined. */
function readAsOurType(key: string, value: unknown): unknown {
  // Epoch seconds, as Python's time.time() and psutil's create_time() give them (years 1970–5138).
  if (key === 'process_start_time' && typeof value === 'number' && Number.isFinite(value) && value > 0 && value < 1e11) {
    return formatTimestamp(value * 1000);
  }
  return undefined;
}

/**
 * Decodes JSON text and validates it. Never throws. Python's dialect is read
 * too (`NaN`, `Infinity`, `-Infinity`, as its json.dump writes them): they
 * decode to the same JavaScript numbers. See python-json.ts.
 */
export function decodeRecord(text: string): ParseOutcome {
  const decoded = decodeJsonText(text);
  return decoded.ok ? parseRecord(decoded.value) : decoded;
}

/**
 * JSON text to a value: JSON.parse, and only when it refuses, Python's
 * dialect. Fails with an `unparsable` error for text neither reads.
 */
export function decodeJsonText(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: InvalidRecordError } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (cause) {
    const python = parsePythonJson(text);
    if (python.ok) return python;
    if (python.reason === 'too-deep') {
      const issue = `(root): nested deeper than ${MAX_PYTHON_JSON_DEPTH} levels`;
      return { ok: false, error: new InvalidRecordError(`invalid record: ${issue}`, { details: { issues: [issue] } }) };
    }
    return { ok: false, error: new InvalidRecordError('not valid JSON', { cause, details: { unparsable: true } }) };
  }
}

/** Validates a record about to be written, strictly (what we write, nothing ignored); throws InvalidRecordError. */
export function assertRecord(value: unknown): ServiceRecord {
  const outcome = parse(value, 'write');
  if (!outcome.ok) throw outcome.error;
  return outcome.record;
}

/**
 * Validates `next`, an update of the stored `previous`, as strictly as
 * assertRecord, and returns it with the originals of `previous` that the
 * update left alone (see carryForeignFields): an update writes a foreign key
 * back untouched. A `status` that was foreign (ignored) may stay absent.
 */
export function assertRecordUpdate(next: unknown, previous: ServiceRecord): ServiceRecord {
  const keepsForeignStatus =
    typeof next === 'object' && next !== null && (next as Record<string, unknown>)['status'] === undefined &&
    foreignFieldsOf(previous).some((f) => f.key === 'status' && f.used === undefined);
  const outcome = parse(next, keepsForeignStatus ? 'write-back' : 'write');
  if (!outcome.ok) throw outcome.error;
  return carryForeignFields(outcome.record, previous);
}


/**
 * JSON with a 2-space indent and ASCII only, as the Python writer's
 * `json.dump(…, indent=2)` (ensure_ascii): every non-ASCII UTF-16 code unit is
 * written `\uXXXX` (astral characters as their surrogate pair). A Python reader
 * opens the file with the locale's encoding, which under `LC_ALL=C` without UTF-8
 * mode (or a Windows code page) cannot decode raw UTF-8.
 */
export function encodeRecord(record: ServiceRecord): string {
  return `${JSON.stringify(record, null, 2).replace(NON_ASCII, escapeCodeUnit)}\n`;
}

const NON_ASCII = /[\u0080-\uffff]/g;

function escapeCodeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Whether decoding failed because the bytes are not JSON (a torn or corrupt write). */
export function isUnparsable(error: InvalidRecordError | UnsupportedSchemaVersionError): boolean {
  return error.details['unparsable'] === true;
}

/** Whether the record was written by a newer format this reader must leave alone. */
export function isUnsupportedVersion(error: InvalidRecordError | UnsupportedSchemaVersionError): boolean {
  return error instanceof UnsupportedSchemaVersionError;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
