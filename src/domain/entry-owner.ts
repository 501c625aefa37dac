import type { ServiceRecord } from './record.schema.js';

/**
 * Who wrote an entry: the registered process's pid and the `started_at` of its
 * registration. An instance id can be taken over (a restarted server registering
 * under a fixed `--instance-id`); the owner tells the new registration from the
 * old one, so the old one's cleanup never removes the new one's entry.
 */
export interface EntryOwner {
  readonly pid: number;
  readonly started_at: string;
}

/** The owner of the registration `record` belongs to. */
export function ownerOf(record: Pick<ServiceRecord, 'pid' | 'started_at'>): EntryOwner {
  return { pid: record.pid, started_at: record.started_at };
}

/** True when `record` was written by the registration `owner` names (same pid, same started_at). */
export function isOwnedBy(record: Pick<ServiceRecord, 'pid' | 'started_at'>, owner: EntryOwner): boolean {
  return record.pid === owner.pid && record.started_at === owner.started_at;
}
