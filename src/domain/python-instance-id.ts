import { InvalidInstanceIdError } from './errors.js';
import { isValidInstanceId } from './instance-id.js';
import { parseRecord, type ParseOutcome } from './record.schema.js';

/**
 * Instance ids the Python registry allows, read side only. Python takes any
 * string for an id (`MarcusServiceRegistry(instance_id)`), writes `<id>.json`,
 * and its `discover_services()` lists every file its glob `marcus_*.json`
 * matches: `marcus_my project`, `marcus_a:b`. We read, show and clean up such
 * entries; our own writes keep the strict INSTANCE_ID_PATTERN.
 */
export const PYTHON_ENTRY_PREFIX = 'marcus_';

/** A file name is at most 255 bytes on the filesystems we meet; `.json` takes 5. */
const MAX_ID_BYTES = 255 - '.json'.length;

const utf8 = new TextEncoder();

/**
 * An id the glob `marcus_*.json` lists and that names exactly one file inside
 * the directory: it starts with `marcus_`, holds no `/` and no NUL (so it is
 * one path component: `..` cannot be a component of it), is well-formed
 * Unicode (it round-trips through a file name) and fits a file name.
 */
export function isPythonInstanceId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.startsWith(PYTHON_ENTRY_PREFIX) &&
    !value.includes('/') &&
    !value.includes('\u0000') &&
    !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value) &&
    utf8.encode(value).length <= MAX_ID_BYTES
  );
}

/** An id a reader may look up: one of ours, or one the Python registry lists. */
export function isReadableInstanceId(value: unknown): value is string {
  return isValidInstanceId(value) || isPythonInstanceId(value);
}

/** The id, when a reader may look it up; InvalidInstanceIdError otherwise. */
export function assertReadableInstanceId(value: unknown): string {
  if (!isReadableInstanceId(value)) throw new InvalidInstanceIdError(value);
  return value;
}

/** Stands in for a Python-only id while the rest of the record is validated. */
const STAND_IN_ID = `${PYTHON_ENTRY_PREFIX}0`;

/**
 * parseRecord for the entry named `id`. A record whose `instance_id` is that
 * Python-only id (as Python writes it: the file name minus `.json`) is
 * validated like any other, with the id checked by isPythonInstanceId instead
 * of the write pattern, and keeps its id as written. Anything else is
 * parseRecord's answer.
 */
export function parseRecordAs(value: unknown, id: string): ParseOutcome {
  if (isValidInstanceId(id) || !isPythonInstanceId(id) || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return parseRecord(value);
  }
  if ((value as Record<string, unknown>)['instance_id'] !== id) return parseRecord(value);
  const outcome = parseRecord({ ...value, instance_id: STAND_IN_ID });
  // The parsed record is fresh (not shared yet): its id is put back in place, keeping the object
  // (and anything attached to it) and the key's position.
  if (outcome.ok) (outcome.record as { instance_id: string }).instance_id = id;
  return outcome;
}
