import type { ServiceRecord } from './record.schema.js';
import { parseTimestamp, subMillisecondNanos } from './timestamp.js';

/** Discovery filters; every given field must match. */
export interface ServiceFilters {
  /** Only this instance (an explicit `--instance`); MARCUS_INSTANCE_ID is a softer pin, see PreferenceContext. */
  readonly instanceId?: string;
  readonly provider?: string;
  readonly project?: string;
  readonly capability?: string;
  readonly status?: string;
  readonly hostname?: string;
}

export function matchesFilters(record: ServiceRecord, filters: ServiceFilters = {}): boolean {
  if (filters.instanceId !== undefined && record.instance_id !== filters.instanceId) return false;
  if (filters.provider !== undefined && record.provider !== filters.provider) return false;
  if (filters.project !== undefined && record.project_name !== filters.project) return false;
  if (filters.status !== undefined && record.status !== filters.status) return false;
  if (filters.hostname !== undefined && (record.hostname ?? '').toLowerCase() !== filters.hostname.toLowerCase()) return false;
  if (filters.capability !== undefined && !(record.capabilities ?? []).includes(filters.capability)) return false;
  return true;
}

/** Epoch ms of `started_at`; records validated by the schema always have one. */
export function startedAtMs(record: ServiceRecord): number {
  return parseTimestamp(record.started_at) ?? 0;
}

/**
 * Orders two records by `started_at` to the precision written (Python writes
 * microseconds): epoch milliseconds, then what lies below the millisecond.
 * Negative when `a` started first; 0 when they started at the same instant.
 */
export function compareStartedAt(a: ServiceRecord, b: ServiceRecord): number {
  return startedAtMs(a) - startedAtMs(b) || subMillisecondNanos(a.started_at) - subMillisecondNanos(b.started_at);
}

export function compareInstanceIds(a: ServiceRecord, b: ServiceRecord): number {
  return a.instance_id < b.instance_id ? -1 : a.instance_id > b.instance_id ? 1 : 0;
}

/**
 * Oldest first by `started_at` (to the microsecond), as the Python registry
 * returns them; instance_id breaks ties.
 */
export function byStartedAt(a: ServiceRecord, b: ServiceRecord): number {
  return compareStartedAt(a, b) || compareInstanceIds(a, b);
}

/**
 * Sorts in place as `byStartedAt`, parsing each `started_at` once instead of
 * twice per comparison (a sort makes n·log n of them: 10 000 entries, ~270 000 parses).
 */
export function sortByStartedAt<T>(items: T[], recordOf: (item: T) => ServiceRecord): T[] {
  const keyed = items.map((item) => {
    const record = recordOf(item);
    return { item, at: startedAtMs(record), below: subMillisecondNanos(record.started_at) };
  });
  keyed.sort((a, b) => a.at - b.at || a.below - b.below || compareInstanceIds(recordOf(a.item), recordOf(b.item)));
  keyed.forEach((k, i) => (items[i] = k.item));
  return items;
}
