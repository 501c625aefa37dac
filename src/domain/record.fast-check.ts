import { isValidInstanceId } from './instance-id.js';
import { MAX_PID, RECORD_KEYS, REQUIRED_KEYS, type RecordKey } from './record.keys.js';
import { parseTimestamp } from './timestamp.js';

/**
 * A hand-written check of the common, well-formed record, for readers that
 * validate many (a discovery of 1 000 JSON files: the zod schema was most of
 * the CPU after the file reads, ADR 0027). It answers only "this is a record,
 * exactly as the schema would return it" or "ask the schema": anything
 * unusual — a key in another type, a limit crossed, a nested unknown value, a
 * `__proto__` key, a schema_version other than 1, a Python-only instance id —
 * is left to `parseRecord`'s zod path, which stays the one source of truth and
 * gives every error message. test/domain/record.fast-check.test.ts proves that
 * whatever this accepts the schema accepts, with a deep-equal record in the
 * same key order, over the bad-input corpus's records and many generated ones.
 *
 * The keys, the required ones and the pid limit are the format's
 * (record.keys.ts, as the schema's); the limits below are the schema's
 * (record.schema.ts): the test checks each at its boundary against the schema.
 */


const INDEX = new Map<string, number>(RECORD_KEYS.map((key, i) => [key, i]));

const MAX_HEARTBEAT_INTERVAL_MS = 24 * 3600_000;
const MAX_LIST_ITEMS = 1024;
const MAX_LIST_ITEM_LENGTH = 4096;
const MAX_TIMESTAMP_LENGTH = 64;

function isString(value: unknown, max: number): boolean {
  return typeof value === 'string' && value.length <= max;
}

function isTimestamp(value: unknown): boolean {
  return typeof value === 'string' && value.length <= MAX_TIMESTAMP_LENGTH && parseTimestamp(value) !== undefined;
}

function isStringList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > MAX_LIST_ITEMS) return false;
  for (let i = 0; i < value.length; i++) if (!isString(value[i], MAX_LIST_ITEM_LENGTH)) return false;
  return true;
}

function isInt(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** A plain JSON object whose values are all scalars (no nesting to bound, no `__proto__` key). */
function isFlatObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || !isScalar((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

const isString256 = (value: unknown): boolean => isString(value, 256);
const isString4096 = (value: unknown): boolean => isString(value, 4096);
const isNullableString1024 = (value: unknown): boolean => value === null || isString(value, 1024);

/** For each key, whether a value is what the read schema accepts as is. */
const VALID: { readonly [K in RecordKey]: (value: unknown) => boolean } = {
  instance_id: isValidInstanceId,
  pid: (value) => isInt(value, 1, MAX_PID),
  mcp_command: (value) => isString(value, 65_536),
  mcp_args: isStringList,
  mcp_url: isString4096,
  transport: (value) => value === 'stdio' || value === 'streamable-http' || value === 'sse',
  log_dir: isString4096,
  project_name: isNullableString1024,
  provider: isNullableString1024,
  status: isString256,
  started_at: isTimestamp,
  last_heartbeat: isTimestamp,
  platform: isString256,
  working_directory: isString4096,
  runtime: isString256,
  runtime_version: isString256,
  schema_version: (value) => value === 1,
  hostname: (value) => isString(value, 255),
  process_start_time: isTimestamp,
  process_start_token: (value) => typeof value === 'string' && value.length >= 1 && value.length <= 128,
  heartbeat_interval_ms: (value) => isInt(value, 1, MAX_HEARTBEAT_INTERVAL_MS),
  capabilities: isStringList,
  supported_providers: isStringList,
  load_metrics: isFlatObject,
  api_version: isString256,
};

/** VALID by the key's position in RECORD_KEYS. */
const VALID_AT: ReadonlyArray<(value: unknown) => boolean> = RECORD_KEYS.map((key) => VALID[key]);

/**
 * The record the read schema would return for `value` (a fresh object, known
 * keys in the schema's order then unknown keys as read, arrays and
 * load_metrics copied), or undefined: then ask the schema. Reads each value
 * once (a getter on a caller's object is not asked twice). Never throws.
 *
 * `owned`: the caller owns `value`, plain data just out of JSON.parse that
 * nobody else holds: when its keys are already in that order it is the record
 * itself, not a copy.
 */
export function fastReadRecord<T>(value: unknown, owned = false): T | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const input = value as Record<string, unknown>;
  const keys = Object.keys(input);
  // Owned (plain data from JSON.parse): checked in place, then taken as is or copied in order.
  // Otherwise every value is read once, into `known`, and the record built from that.
  const known = owned ? undefined : new Array<unknown>(RECORD_KEYS.length).fill(ABSENT);
  let unknown: Array<[string, unknown]> | undefined;
  let required = 0;
  // Whether the keys already come in the order the schema returns them.
  let ordered = true;
  let lastIndex = -1;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    const item = input[key];
    const index = INDEX.get(key);
    if (index === undefined) {
      // Unknown keys are kept as read; only scalars here, so nothing to bound in depth and nothing to pollute.
      if (key === '__proto__' || !isScalar(item)) return undefined;
      (unknown ??= []).push([key, item]);
      lastIndex = RECORD_KEYS.length;
      continue;
    }
    if (!(VALID_AT[index] as (value: unknown) => boolean)(item)) return undefined;
    if (known !== undefined) known[index] = item;
    if (IS_REQUIRED[index] === true) required++;
    if (index < lastIndex) ordered = false;
    lastIndex = index;
  }
  if (required !== REQUIRED_KEYS.size) return undefined;
  if (owned && ordered) return input as T;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < RECORD_KEYS.length; i++) {
    const key = RECORD_KEYS[i] as RecordKey;
    let item: unknown;
    if (known !== undefined) item = known[i];
    else item = Object.prototype.hasOwnProperty.call(input, key) ? input[key] : ABSENT;
    if (item === ABSENT) continue;
    out[key] = Array.isArray(item) ? item.slice() : i === LOAD_METRICS ? copyFlat(item as Record<string, unknown>) : item;
  }
  if (unknown !== undefined) for (const [key, item] of unknown) out[key] = item;
  return out as T;
}

const ABSENT = Symbol('absent');

/** load_metrics as the schema returns a z.record: a plain copy (it holds no `__proto__` key, see isFlatObject). */
function copyFlat(item: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(item)) copy[key] = item[key];
  return copy;
}
const LOAD_METRICS = RECORD_KEYS.indexOf('load_metrics');
const IS_REQUIRED: readonly boolean[] = RECORD_KEYS.map((key) => REQUIRED_KEYS.has(key));
