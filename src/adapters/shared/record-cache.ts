import type { ServiceRecord } from '../../domain/record.schema.js';
import type { EntryVersion } from '../../ports/store.port.js';

/**
 * Decoded and validated records by key (an instance id, or the version itself
 * where a version names one write of one entry) and entry version, kept by one store instance so
 * that listing does not parse and validate again an entry that has not changed
 * (JSON.parse + the zod schema are most of what a discovery costs per entry).
 *
 * The records it hands out are shared between calls, so they are deeply frozen:
 * a caller that wants to change one copies it first (`{ ...record }`). Entries
 * not seen by the last completed listing are dropped, so the cache holds at most
 * one record per entry in the store.
 */
export class RecordCache {
  private current = new Map<string, CachedRecord>();

  /** Starts a listing: what it keeps or adds replaces the cache when it is committed. */
  begin(): RecordCacheListing {
    const previous = this.current;
    const next = new Map<string, CachedRecord>();
    return {
      cachedVersion: (instanceId) => previous.get(instanceId)?.version,
      keep: (instanceId, version) => {
        const cached = previous.get(instanceId);
        if (cached === undefined || cached.version !== version) return undefined;
        next.set(instanceId, cached);
        return cached.record;
      },
      add: (instanceId, version, record) => {
        const frozen = deepFreeze(record);
        next.set(instanceId, { version, record: frozen });
        return frozen;
      },
      commit: () => {
        this.current = next;
      },
    };
  }

  clear(): void {
    this.current = new Map();
  }
}

export interface RecordCacheListing {
  /** The version `instanceId` was cached at before this listing, if any. */
  cachedVersion(instanceId: string): EntryVersion | undefined;
  /** The cached record when it is still at `version` (and keeps it); undefined when it must be read. */
  keep(instanceId: string, version: EntryVersion): ServiceRecord | undefined;
  /** Caches a record just read and validated at `version`; returns it frozen. */
  add(instanceId: string, version: EntryVersion, record: ServiceRecord): ServiceRecord;
  /** The listing is complete: entries it did not keep or add are dropped. */
  commit(): void;
}

interface CachedRecord {
  readonly version: EntryVersion;
  readonly record: ServiceRecord;
}

/** Freezes a JSON value and everything in it (records hold only JSON values). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // Called for every record a listing reads: no key array allocated, no call for strings and numbers.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) deepFreeze(item);
    }
    return value;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const item: unknown = value[key];
    if (typeof item === 'object' && item !== null) deepFreeze(item);
  }
  return value;
}
