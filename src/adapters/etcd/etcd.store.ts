import type * as Etcd3Module from 'etcd3';
import type { Etcd3, IKeyValue } from 'etcd3';
import { ConflictError, DriverMissingError, InvalidRecordError, NotFoundError, RegistryClosedError, type RegistryError } from '../../domain/errors.js';
import { isOwnedBy, type EntryOwner } from '../../domain/entry-owner.js';
import { assertInstanceId, isValidInstanceId } from '../../domain/instance-id.js';
import { assertRecord, assertRecordUpdate, decodeRecord, encodeRecord, type ServiceRecord } from '../../domain/record.schema.js';
import { foreignFieldNotes } from '../shared/foreign-field-notes.js';
import type {
  DeleteOutcome,
  EntryVersion,
  ListResult,
  PutOptions,
  RegistryStore,
  StoreChange,
  StoredEntry,
  StoreProblem,
  StoreWatch,
  StoreWatchOptions,
} from '../../ports/store.port.js';
import { DEPARTURE_NOTE_MS } from '../../ports/store.port.js';
import { makeTranslator } from './etcd.errors.js';
import { DEPARTURE_NOTES, leaseTtlSeconds, resolveEtcdOptions, type EtcdStoreOptions, type ResolvedEtcdOptions } from './etcd.options.js';
import { OwnLeases } from './etcd.leases.js';
import { MemberKeepalive } from './etcd.keepalive.js';
import { MemberClients } from './etcd.members.js';
import { LeaseTtls } from './etcd.lease-ttls.js';
import { RecordCache } from '../shared/record-cache.js';
import { PrefixWatch, watchBackoff } from './etcd.watch.js';

export type { EtcdStoreOptions } from './etcd.options.js';
export { DEFAULT_ETCD_PREFIX, MIN_LEASE_TTL_S } from './etcd.options.js';

/** Attempts of update()'s read-modify-write before it gives up with ConflictError. */
const MAX_UPDATE_ATTEMPTS = 24;

/**
 * Opens a store on an etcd cluster. The `etcd3` package is loaded here, lazily,
 * so users of other stores never load gRPC. No connection is made until the
 * first call: an unreachable cluster shows up as STORE_UNAVAILABLE then.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<RegistryStore> {
  const resolved = resolveEtcdOptions(options);
  let etcd: typeof Etcd3Module;
  try {
    etcd = await import('etcd3');
  } catch (cause) {
    throw new DriverMissingError('etcd3', 'etcd', cause);
  }
  const open = (hosts: string[]) =>
    new etcd.Etcd3({
      hosts,
      dialTimeout: resolved.dialTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + resolved.callTimeoutMs }),
      faultHandling: { watchBackoff: watchBackoff(resolved.maxWatchRetryDelayMs) },
      // list() reads the prefix in one range: gRPC's default 4 MiB cap on a reply
      // failed it from about 5 000 entries (RESOURCE_EXHAUSTED). etcd's own limit applies.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
      ...(resolved.auth && { auth: { username: resolved.auth.username, password: resolved.auth.password } }),
      // etcd3 types rootCertificate as required; grpc's createSsl takes none as "the system's roots".
      ...(resolved.tls && { credentials: { rootCertificate: resolved.tls.ca as Buffer, privateKey: resolved.tls.key, certChain: resolved.tls.cert } }),
    });
  // Single calls go through one client over every member (etcd3 picks one per
  // call and retries a failed one on another); the lease keepalive and the
  // watch choose their member themselves (see etcd.members.ts). Every client
  // gets the same credentials and TLS.
  const members = new MemberClients(resolved.endpoints, (endpoint) => open([endpoint]));
  return new EtcdStore(etcd, open([...resolved.endpoints]), resolved, members);
}

/**
 * One key per instance, `${prefix}${instance_id}`, holding the record's JSON and
 * attached to a lease whose TTL is the heartbeat TTL; the lease's keepalive is
 * the heartbeat, so a crashed host's entries expire by themselves. An entry's
 * version is its key's mod revision, which makes update() and deleteIfUnchanged()
 * single transactions. Entries report the granted TTL of their live lease
 * (leaseTtlMs): a key without one, or with a far longer one, is judged by its
 * heartbeat. See docs/adr/0008-network-discovery-etcd.md and
 * docs/adr/0020-trust-across-hosts-etcd.md.
 */
export class EtcdStore implements RegistryStore {
  readonly kind = 'etcd';
  readonly location: string;
  readonly capabilities = { expiresEntries: true, distributed: true } as const;
  private readonly translate: (error: unknown) => RegistryError;
  private readonly leases: OwnLeases;
  private readonly isLeaseInvalid: (error: unknown) => boolean;
  private readonly watches = new Set<PrefixWatch>();
  private closed = false;
  /** Records decoded by earlier listings, by instance id and mod revision. */
  private readonly cache = new RecordCache();
  /** Granted TTLs of the leases entries are attached to (StoredEntry.leaseTtlMs). */
  private readonly leaseTtls: LeaseTtls;

  constructor(
    etcd: typeof Etcd3Module,
    private readonly client: Etcd3,
    private readonly options: ResolvedEtcdOptions,
    private readonly members: MemberClients,
  ) {
    this.location = options.location;
    this.translate = makeTranslator(etcd, options.location);
    this.isLeaseInvalid = (error) => error instanceof etcd.EtcdLeaseInvalidError;
    this.leaseTtls = new LeaseTtls(client);
    this.leases = new OwnLeases({
      client,
      keepalive: new MemberKeepalive(this.members, options.logger),
      memberTimeoutMs: options.memberTimeoutMs,
      logger: options.logger,
      translate: this.translate,
      isLeaseInvalid: this.isLeaseInvalid,
      maxRecoveryDelayMs: options.maxRecoveryDelayMs,
    });
  }

  async put(record: ServiceRecord, options: PutOptions = {}): Promise<StoredEntry> {
    this.assertOpen();
    const valid = assertRecord(record);
    const ttlS = leaseTtlSeconds(positiveOr(options.ttlMs, this.options.defaultTtlMs));
    const { revision } = await this.leases.put(this.keyOf(valid.instance_id), valid, ttlS);
    this.leaseTtls.remember(this.leases.leaseIdOf(valid.instance_id), ttlS);
    return { record: structuredClone(valid), version: revision };
  }

  async update(instanceId: string, mutate: (current: ServiceRecord) => ServiceRecord): Promise<StoredEntry> {
    this.assertOpen();
    const key = this.keyOf(instanceId);
    let lastConflict: unknown;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const kv = await this.readKey(key);
      if (!kv) throw new NotFoundError(instanceId);
      const current = this.decode(kv, instanceId);
      if (!current.ok) {
        throw new InvalidRecordError(`entry ${instanceId} cannot be updated: ${current.error.message}`, {
          cause: current.error,
          details: { instanceId, problem: current.error.code },
        });
      }
      const next = assertRecordUpdate(mutate(structuredClone(current.record)), current.record);
      if (next.instance_id !== instanceId) {
        throw new InvalidRecordError(`update may not change instance_id (${instanceId} → ${next.instance_id})`);
      }
      // Keep whatever lease the entry has (ours or another process's): an update
      // must neither make an entry immortal nor cut its life short.
      const put = this.client.put(key).value(encodeRecord(next));
      if (kv.lease !== '0') put.lease(kv.lease);
      try {
        const response = await this.client.if(key, 'Mod', '==', kv.mod_revision).then(put).commit();
        if (response.succeeded) {
          this.leases.remember(instanceId, next, response.header.revision);
          return { record: structuredClone(next), version: response.header.revision };
        }
      } catch (error) {
        // The entry's lease expired between our read and write: the key is gone or
        // changing; read again.
        if (!this.isLeaseInvalid(error)) throw this.translate(error);
        lastConflict = error;
      }
      await sleep(5 + Math.random() * 20 * Math.min(attempt + 1, 5));
    }
    throw new ConflictError(instanceId, lastConflict);
  }

  async get(instanceId: string): Promise<StoredEntry | undefined> {
    this.assertOpen();
    const kv = await this.readKey(this.keyOf(instanceId));
    if (!kv) return undefined;
    const outcome = this.decode(kv, instanceId);
    if (outcome.ok) return withLease({ record: outcome.record, version: kv.mod_revision }, (await this.leaseTtls.of([kv.lease])).get(kv.lease));
    // As the other stores: what cannot be read as a record is not an entry (list() reports it).
    this.options.logger.debug(`etcd store: entry ${instanceId} is not readable as a record: ${outcome.error.message}`, { code: outcome.error.code });
    return undefined;
  }

  async list(): Promise<ListResult> {
    this.assertOpen();
    let kvs: IKeyValue[];
    try {
      kvs = (await this.client.getAll().prefix(this.options.prefix).sort('Key', 'Ascend').exec()).kvs;
    } catch (error) {
      throw this.translate(error);
    }
    const entries: StoredEntry[] = [];
    const problems: StoreProblem[] = [];
    const leaseTtls = await this.leaseTtls.of(kvs.map((kv) => kv.lease), true);
    // A key's mod revision names one write of it: an unchanged key reuses the record decoded before.
    const listing = this.cache.begin();
    for (const kv of kvs) {
      const name = kv.key.toString('utf8').slice(this.options.prefix.length);
      if (name.startsWith(DEPARTURE_NOTES)) continue;
      if (!isValidInstanceId(name)) {
        problems.push({ code: 'INVALID_INSTANCE_ID', entry: name, message: `key ${kv.key.toString('utf8')} does not name an instance`, action: 'skipped' });
        continue;
      }
      const known = listing.keep(name, kv.mod_revision);
      if (known) {
        entries.push(withLease({ record: known, version: kv.mod_revision }, leaseTtls.get(kv.lease)));
        continue;
      }
      const outcome = this.decode(kv, name);
      if (outcome.ok) entries.push(withLease({ record: listing.add(name, kv.mod_revision, outcome.record), version: kv.mod_revision }, leaseTtls.get(kv.lease)));
      else problems.push({ code: outcome.error.code, entry: name, message: outcome.error.message, action: 'skipped' });
    }
    listing.commit();
    for (const entry of entries) problems.push(...foreignFieldNotes(entry.record, entry.record.instance_id));
    return { entries, problems };
  }

  async deleteIfUnchanged(instanceId: string, version: EntryVersion): Promise<DeleteOutcome> {
    this.assertOpen();
    const key = this.keyOf(instanceId);
    // Only a positive decimal can be a mod revision; 0 would match an absent key.
    if (!/^[1-9][0-9]{0,18}$/.test(version)) return (await this.readKey(key)) ? 'changed' : 'missing';
    return this.leases.forget(
      instanceId,
      async () => {
        try {
          const response = await this.client
            .if(key, 'Mod', '==', version)
            .then(this.client.delete().key(key))
            .else(this.client.get(key))
            .commit();
          if (response.succeeded) return 'deleted' as const;
          return (response.responses[0]?.response_range?.kvs.length ?? 0) > 0 ? ('changed' as const) : ('missing' as const);
        } catch (error) {
          throw this.translate(error);
        }
      },
      (outcome) => outcome === 'deleted',
    );
  }

  /**
   * Without `owner`: deletes the key whatever it holds. With `owner`: reads the
   * key, and deletes it in a transaction on that read's mod revision only if its
   * record is the owner's (same pid and started_at); a write in between makes it
   * read again. Either way this store forgets its own registration of the id
   * (no keepalive, no re-registration) — unless the key is still attached to
   * that registration's lease, i.e. a newer registration through this very
   * store, whose lease is then neither forgotten nor revoked.
   */
  async delete(instanceId: string, owner?: EntryOwner): Promise<boolean> {
    this.assertOpen();
    const key = this.keyOf(instanceId);
    if (!owner) {
      return this.leases.forget(
        instanceId,
        async () => {
          try {
            return Number((await this.client.delete().key(key).exec()).deleted) > 0;
          } catch (error) {
            throw this.translate(error);
          }
        },
        () => true,
        true,
      );
    }
    return this.leases
      .forget(
        instanceId,
        () => this.deleteOwned(key, instanceId, owner),
        (outcome) => outcome.deleted || outcome.keyLease === undefined || outcome.keyLease !== this.leases.leaseIdOf(instanceId),
        true,
      )
      .then((outcome) => outcome.deleted);
  }

  /**
   * A prefix watch (see etcd.watch.ts): puts and deletes under the prefix are
   * changes; a lost stream, or a member that stops answering, is resumed (on
   * the next member when there are several) and reported as a resync.
   */
  async watch(onChange: (change: StoreChange) => void, options: StoreWatchOptions = {}): Promise<StoreWatch> {
    this.assertOpen();
    const watch = new PrefixWatch({
      members: this.members,
      checkIntervalMs: this.options.watchCheckIntervalMs,
      checkTimeoutMs: this.options.memberTimeoutMs,
      maxRetryDelayMs: this.options.maxWatchRetryDelayMs,
      prefix: this.options.prefix,
      logger: this.options.logger,
      translate: this.translate,
      onChange,
      onError: options.onError,
      connectTimeoutMs: this.options.callTimeoutMs,
      cancelTimeoutMs: this.options.callTimeoutMs,
      onClose: () => this.watches.delete(watch),
    });
    this.watches.add(watch);
    await watch.start();
    return watch;
  }

  /**
   * etcd has no notion of which local user wrote a key: any client with write
   * access to the prefix (on any host) can put a record there. Its records are
   * reached through their URL, never started (ADR 0018).
   */
  async untrustedWriters(): Promise<string | undefined> {
    return `records in ${this.location} can be written by any client with write access to the prefix, from any host`;
  }

  /** Idempotent. Own entries are not removed: their leases expire after the TTL (see OwnLeases.close). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.leaseTtls.clear();
    await Promise.all([...this.watches].map((w) => w.close()));
    this.leases.close();
    this.members.close();
    this.client.close();
  }

  /** Compare-and-delete on ownership; `keyLease` is the lease of the entry left in place, if any. */
  private async deleteOwned(key: string, instanceId: string, owner: EntryOwner): Promise<{ deleted: boolean; keyLease?: string }> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const kv = await this.readKey(key);
      if (!kv) return { deleted: false };
      const current = this.decode(kv, instanceId);
      if (!current.ok || !isOwnedBy(current.record, owner)) return { deleted: false, keyLease: kv.lease };
      try {
        // The note of a clean stop goes in the same transaction as the delete (see departedCleanly).
        const note = this.client.put(this.departureKeyOf(instanceId)).value(JSON.stringify({ pid: owner.pid, started_at: owner.started_at })).lease(await this.departureLease());
        const response = await this.client.if(key, 'Mod', '==', kv.mod_revision).then(this.client.delete().key(key), note).commit();
        if (response.succeeded) return { deleted: true };
      } catch (error) {
        throw this.translate(error);
      }
      // Written (a heartbeat, a re-registration) between the read and the delete: judge it again.
    }
    throw new ConflictError(instanceId);
  }

  /**
   * Whether the owner's own delete removed this entry: its note lives under the
   * prefix (`<prefix>.departed/<id>`, where a user whose role grants only the
   * prefix may write it; no instance id starts with a dot, and listings and
   * watches skip it) on a lease of DEPARTURE_NOTE_MS.
   */
  async departedCleanly(instanceId: string, owner: EntryOwner): Promise<boolean> {
    this.assertOpen();
    const kv = await this.readKey(this.departureKeyOf(instanceId));
    if (!kv) return false;
    try {
      const note = JSON.parse(kv.value.toString('utf8')) as { pid?: unknown; started_at?: unknown };
      return note.pid === owner.pid && note.started_at === owner.started_at;
    } catch {
      return false;
    }
  }

  private departureKeyOf(instanceId: string): string {
    return `${this.options.prefix}${DEPARTURE_NOTES}${assertInstanceId(instanceId)}`;
  }

  /** A fresh lease for a departure note: it expires by itself after DEPARTURE_NOTE_MS. */
  private async departureLease(): Promise<string> {
    const lease = this.client.lease(Math.ceil(DEPARTURE_NOTE_MS / 1000), { autoKeepAlive: false });
    try {
      return String(await lease.grant());
    } finally {
      lease.release();
    }
  }

  private keyOf(instanceId: string): string {
    return `${this.options.prefix}${assertInstanceId(instanceId)}`;
  }

  private async readKey(key: string): Promise<IKeyValue | undefined> {
    try {
      return (await this.client.get(key).exec()).kvs[0];
    } catch (error) {
      throw this.translate(error);
    }
  }

  private decode(kv: IKeyValue, instanceId: string): ReturnType<typeof decodeRecord> {
    const outcome = decodeRecord(kv.value.toString('utf8'));
    if (outcome.ok && outcome.record.instance_id !== instanceId) {
      return {
        ok: false,
        error: new InvalidRecordError(`key ${instanceId} holds the record of ${outcome.record.instance_id}`, {
          details: { instanceId, recordInstanceId: outcome.record.instance_id },
        }),
      };
    }
    return outcome;
  }

  private assertOpen(): void {
    if (this.closed) throw new RegistryClosedError();
  }
}

function withLease(entry: StoredEntry, leaseTtlMs: number | undefined): StoredEntry {
  return leaseTtlMs === undefined ? entry : { ...entry, leaseTtlMs };
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
