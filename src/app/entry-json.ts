import type { JudgedEntry } from './discovery.service.js';

/**
 * The JSON form of one judged entry, the same over HTTP and in the CLI's --json:
 * `{health, reason?, detail?, record}` — the record exactly as the store holds
 * it (the on-disk keys and values) under `record`, and what discovery judged
 * beside it.
 */
export function entryJson(entry: JudgedEntry): Record<string, unknown> {
  return { health: entry.health, ...(entry.reason !== undefined && { reason: entry.reason }), ...(entry.detail !== undefined && { detail: entry.detail }), record: entry.record };
}
