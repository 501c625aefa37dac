/**
 * Keys of a record read from disk whose value has a type this reader does not
 * use (Python passes `**kwargs` of any JSON type straight into the file:
 * `transport: "http"`, `capabilities` as an object, `api_version: 1.0`,
 * `status: null`…). The record is still listed; the key is treated as absent
 * by our logic (or, where its meaning is clear, read in our type), and its
 * original value is kept: every JSON serialization of the record — what we
 * write back, what `list --json` and the monitor print — shows it untouched.
 *
 * How: the parsed record is a plain object holding only what our logic may
 * use; the originals hang off it in a WeakMap, and a non-enumerable `toJSON`
 * puts them back, in the file's key order, whenever the object is serialized.
 * A copy (`{ ...record }`) is a plain typed record again: stores that write a
 * mutated copy back carry the originals over with `carryForeignFields`.
 */

/** One key read in a shape we do not use. */
export interface ForeignField {
  readonly key: string;
  /** The value as it was in the file. */
  readonly original: unknown;
  /** What our logic sees instead: undefined when ignored, else the value read in our type. */
  readonly used: unknown;
  /** Why, for people: what the key should have been. */
  readonly reason: string;
}

interface ForeignInfo {
  /** The file's key order, so that what is written back keeps it. */
  readonly order: readonly string[];
  readonly fields: readonly ForeignField[];
}

const foreign = new WeakMap<object, ForeignInfo>();

/** Marks `record` (freshly parsed, not yet shared) as holding `fields`. */
export function attachForeignFields<T extends object>(record: T, order: readonly string[], fields: readonly ForeignField[]): T {
  if (fields.length === 0) return record;
  // A record with its own "toJSON" key (any JSON value) keeps it; only the originals are then not re-serialized.
  if (Object.prototype.hasOwnProperty.call(record, 'toJSON')) return record;
  foreign.set(record, { order, fields });
  Object.defineProperty(record, 'toJSON', { value: serializeWithOriginals, enumerable: false, configurable: false, writable: false });
  return record;
}

/** The keys of `record` read in a shape we do not use, with their originals; empty for most records. */
export function foreignFieldsOf(record: object): readonly ForeignField[] {
  return foreign.get(record)?.fields ?? [];
}

/**
 * `next` (a copy of `previous` changed by an update) with the originals of
 * `previous` that the update left alone, so that writing it back keeps them.
 * A key the update set or removed is the update's.
 */
export function carryForeignFields<T extends object>(next: T, previous: object): T {
  const info = foreign.get(previous);
  if (info === undefined || next === previous) return next;
  const values = next as Record<string, unknown>;
  const kept = info.fields.filter((f) => values[f.key] === f.used);
  if (kept.length === 0) return next;
  const order = [...info.order, ...Object.keys(next).filter((k) => !info.order.includes(k))];
  return attachForeignFields({ ...next }, order, kept);
}

function serializeWithOriginals(this: Record<string, unknown>): Record<string, unknown> {
  const info = foreign.get(this);
  if (info === undefined) return { ...this };
  const originals = new Map(info.fields.map((f) => [f.key, f] as const));
  const out: Record<string, unknown> = {};
  const put = (key: string): void => {
    const field = originals.get(key);
    if (field !== undefined && this[key] === field.used) {
      // JSON.parse and Object.defineProperty: a "__proto__" key is an own key, never the prototype.
      Object.defineProperty(out, key, { value: field.original, enumerable: true, writable: true, configurable: true });
    } else if (Object.prototype.hasOwnProperty.call(this, key)) {
      Object.defineProperty(out, key, { value: this[key], enumerable: true, writable: true, configurable: true });
    }
  };
  for (const key of info.order) put(key);
  for (const key of Object.keys(this)) if (!Object.prototype.hasOwnProperty.call(out, key)) put(key);
  return out;
}
