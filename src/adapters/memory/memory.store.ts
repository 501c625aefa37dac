import { isOwnedBy, type EntryOwner } from '../../domain/entry-owner.js';
import { InvalidRecordError, NotFoundError } from '../../domain/errors.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { assertRecord, type ServiceRecord } from '../../domain/record.schema.js';
import { DEPARTURE_NOTE_MS, type DeleteOutcome, type ListResult, type RegistryStore, type StoreChange, type StoredEntry, type StoreWatch } from '../../ports/store.port.js';

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
  private readonly watchers = new Set<(change: StoreChange) => void>();
  /** Owner deletes, by instance id: who left and when (see departedCleanly). */
  private readonly departures = new Map<string, { readonly owner: EntryOwner; readonly at: number }>();

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
    this.notify(instanceId);
    return 'deleted';
  }

  async delete(instanceId: string, owner?: EntryOwner): Promise<boolean> {
    return this.deleteSync(instanceId, owner);
  }

  /** With `owner`, only the entry that owner wrote goes (see RegistryStore.delete). */
  deleteSync(instanceId: string, owner?: EntryOwner): boolean {
    assertInstanceId(instanceId);
    const entry = this.entries.get(instanceId);
    if (!entry || (owner && !isOwnedBy(entry.record, owner))) return false;
    if (owner) this.noteDeparture(instanceId, owner);
    this.entries.delete(instanceId);
    this.notify(instanceId);
    return true;
  }

  async departedCleanly(instanceId: string, owner: EntryOwner): Promise<boolean> {
    assertInstanceId(instanceId);
    const note = this.departures.get(instanceId);
    return note !== undefined && isOwnedBy(note.owner, owner) && Date.now() - note.at <= DEPARTURE_NOTE_MS;
  }

  private noteDeparture(instanceId: string, owner: EntryOwner): void {
    const now = Date.now();
    for (const [id, note] of this.departures) if (now - note.at > DEPARTURE_NOTE_MS) this.departures.delete(id);
    this.departures.set(instanceId, { owner: { pid: owner.pid, started_at: owner.started_at }, at: now });
  }

  /** Every write of this store is reported as it happens: nothing else can write its memory. */
  async watch(onChange: (change: StoreChange) => void): Promise<StoreWatch> {
    const listener = (change: StoreChange) => onChange(change);
    this.watchers.add(listener);
    return {
      close: async () => {
        this.watchers.delete(listener);
      },
    };
  }

  /** Only this process writes it. */
  async untrustedWriters(): Promise<string | undefined> {
    return undefined;
  }

  async close(): Promise<void> {}

  private notify(instanceId: string): void {
    for (const listener of this.watchers) listener({ instanceIds: [instanceId] });
  }

  private store(record: ServiceRecord): StoredEntry {
    const entry = { record: structuredClone(record), version: String(this.nextVersion++) };
    this.entries.set(record.instance_id, entry);
    this.notify(record.instance_id);
    return clone(entry);
  }
}

function clone(entry: StoredEntry): StoredEntry {
  return { record: structuredClone(entry.record), version: entry.version };
}
