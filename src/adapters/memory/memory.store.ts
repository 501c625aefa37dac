import { InvalidRecordError, NotFoundError } from '../../domain/errors.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertRecord, type ServiceRecord } from '../../domain/record.schema.js';
import type { DeleteOutcome, ListResult, RegistryStore, StoredEntry } from '../../ports/store.port.js';

/**
 * A store in this process's memory: for tests, embedding, and to keep the store
 * contract honest (it runs through the same suite as the real stores).
 */
export class MemoryStore implements RegistryStore {
  readonly kind = 'memory';
  readonly location = 'memory';
  readonly capabilities = { expiresEntries: false, distributed: false } as const;
  private readonly entries = new Map<string, StoredEntry>();
  private nextVersion = 1;

  async put(record: ServiceRecord): Promise<StoredEntry> {
    return this.store(assertRecord(record));
  }

  async update(instanceId: string, mutate: (current: ServiceRecord) => ServiceRecord): Promise<StoredEntry> {
    assertInstanceId(instanceId);
    const current = this.entries.get(instanceId);
    if (!current) throw new NotFoundError(instanceId);
    const next = assertRecord(mutate(structuredClone(current.record)));
    if (next.instance_id !== instanceId) {
      throw new InvalidRecordError(`update may not change instance_id (${instanceId} → ${next.instance_id})`);
    }
    return this.store(next);
  }

  async get(instanceId: string): Promise<StoredEntry | undefined> {
    assertInstanceId(instanceId);
    const entry = this.entries.get(instanceId);
    return entry && clone(entry);
  }

  async list(): Promise<ListResult> {
    return { entries: [...this.entries.values()].map(clone), problems: [] };
  }

  async deleteIfUnchanged(instanceId: string, version: string): Promise<DeleteOutcome> {
    assertInstanceId(instanceId);
    const entry = this.entries.get(instanceId);
    if (!entry) return 'missing';
    if (entry.version !== version) return 'changed';
    this.entries.delete(instanceId);
    return 'deleted';
  }

  async delete(instanceId: string): Promise<boolean> {
    assertInstanceId(instanceId);
    return this.entries.delete(instanceId);
  }

  deleteSync(instanceId: string): void {
    this.entries.delete(instanceId);
  }

  async close(): Promise<void> {}

  private store(record: ServiceRecord): StoredEntry {
    const entry = { record: structuredClone(record), version: String(this.nextVersion++) };
    this.entries.set(record.instance_id, entry);
    return clone(entry);
  }
}

function clone(entry: StoredEntry): StoredEntry {
  return { record: structuredClone(entry.record), version: entry.version };
}
