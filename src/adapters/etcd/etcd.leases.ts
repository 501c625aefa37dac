import type { Etcd3 } from 'etcd3';
import type { RegistryError } from '../../domain/errors.js';
import { isOwnedBy } from '../../domain/entry-owner.js';
import { decodeRecord, encodeRecord, type ServiceRecord } from '../../domain/record.schema.js';
import type { Logger } from '../../ports/logger.port.js';
import { keepaliveIntervalMs, keepaliveTimeoutMs, type MemberKeepalive } from './etcd.keepalive.js';

/** A lease granted to one registration, kept alive by our own keepalive loop. */
interface HeldLease {
  readonly id: string;
  readonly ttlS: number;
  /** Set once it is released or revoked: its loop stops and nothing reuses it. */
  released: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** One entry this store put itself: the heartbeat is its lease's keepalive. */
interface Registration {
  readonly instanceId: string;
  readonly key: string;
  /** The newest record we wrote; what a re-registration puts back. */
  record: ServiceRecord;
  /** The mod revision `record` was written at: an older write never replaces it. */
  revision: bigint;
  ttlS: number;
  /** The live lease the key is attached to; undefined while re-registering. */
  lease: HeldLease | undefined;
  leaseId: string | undefined;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export interface OwnLeasesDeps {
  readonly client: Etcd3;
  /** Sends each keepalive to one member, with a deadline, moving on when a member does not answer. */
  readonly keepalive: MemberKeepalive;
  /** Upper bound of one keepalive's deadline (see keepaliveTimeoutMs). */
  readonly memberTimeoutMs: number;
  readonly logger: Logger;
  readonly translate: (error: unknown) => RegistryError;
  readonly isLeaseInvalid: (error: unknown) => boolean;
  readonly maxRecoveryDelayMs: number;
}

export interface WriteResult {
  /** The key's new mod revision. */
  readonly revision: string;
}

/**
 * The registrations this store made, each on its own lease. The keepalive is
 * ours, not etcd3's (whose stream has no deadline and stays on a hung member
 * until the lease is gone): every third of the TTL one keepalive with a
 * deadline well under the TTL, on one member; a failed or late one is retried
 * at once on the next member (docs/adr/0021-etcd-hung-member-failover.md).
 * When a lease is lost (etcd restarted without its data, a partition longer than
 * the TTL) the entry is granted a new lease and put back, with back-off, until
 * it succeeds or the entry is deleted or the store closed. Nothing of this ever
 * reaches the host program as an exception: it is logged.
 *
 * Operations on one instance id are serialized (put, delete, recovery), so a
 * re-registration never races a put or an unregister of the same entry.
 */
export class OwnLeases {
  private readonly registrations = new Map<string, Registration>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly deps: OwnLeasesDeps) {}

  has(instanceId: string): boolean {
    return this.registrations.has(instanceId);
  }

  /** The lease an own registration's key is attached to right now, if any. */
  leaseIdOf(instanceId: string): string | undefined {
    return this.registrations.get(instanceId)?.leaseId;
  }

  /**
   * After an update() of an own entry (written at `revision`): a later
   * re-registration puts this version back — unless something newer was written
   * meanwhile (update() runs outside the per-entry queue).
   */
  remember(instanceId: string, record: ServiceRecord, revision: string): void {
    const registration = this.registrations.get(instanceId);
    if (registration && BigInt(revision) > registration.revision) {
      registration.record = record;
      registration.revision = BigInt(revision);
    }
  }

  /**
   * Puts `record` under `key` on a lease of `ttlS` seconds: the entry's current
   * lease when it is ours, alive and of the same TTL (a re-put keeps its lease),
   * otherwise a fresh one (the old one is then revoked; it holds no other key).
   */
  put(key: string, record: ServiceRecord, ttlS: number): Promise<WriteResult> {
    return this.serial(record.instance_id, async () => {
      const existing = this.registrations.get(record.instance_id);
      const reusable = existing?.lease && !existing.lease.released && existing.ttlS === ttlS ? existing : undefined;
      if (reusable?.leaseId !== undefined) {
        try {
          const revision = await this.write(key, record, reusable.leaseId);
          reusable.record = record;
          reusable.revision = BigInt(revision);
          return { revision };
        } catch (error) {
          if (!this.deps.isLeaseInvalid(error)) throw this.deps.translate(error);
          // The lease ran out under us: fall through to a fresh one.
        }
      }
      const { lease, leaseId } = await this.grant(ttlS);
      let revision: string;
      try {
        revision = await this.write(key, record, leaseId);
      } catch (error) {
        this.revokeQuietly(lease, record.instance_id);
        throw this.deps.translate(error);
      }
      this.bind(existing, { instanceId: record.instance_id, key, record, ttlS, revision: BigInt(revision) }, lease, leaseId);
      return { revision };
    });
  }

  /**
   * Runs `remove` (the key's deletion) and, if the entry was ours and
   * `shouldForget(result)`, forgets it and revokes its lease so nothing
   * re-registers it. With `forgetOnError` (an unregister) it is forgotten even
   * when the deletion fails, etcd being unreachable: its lease is then left to
   * expire instead of being re-put when etcd returns.
   */
  forget<T>(instanceId: string, remove: () => Promise<T>, shouldForget: (result: T) => boolean, forgetOnError = false): Promise<T> {
    return this.serial(instanceId, async () => {
      let result: T;
      try {
        result = await remove();
      } catch (error) {
        if (forgetOnError) this.drop(instanceId);
        throw error;
      }
      if (shouldForget(result)) this.drop(instanceId);
      return result;
    });
  }

  /**
   * Stops every keepalive and re-registration. Leases are released, not revoked:
   * an orderly close without unregistering leaves the entries to expire after
   * their TTL, exactly as a crash would; unregistering is delete()'s job.
   */
  close(): void {
    this.closed = true;
    for (const registration of this.registrations.values()) {
      this.stopRetrying(registration);
      if (registration.lease) this.release(registration.lease);
    }
    this.registrations.clear();
  }

  private bind(
    existing: Registration | undefined,
    fields: Pick<Registration, 'instanceId' | 'key' | 'record' | 'ttlS' | 'revision'>,
    lease: HeldLease,
    leaseId: string,
  ): void {
    const registration: Registration = existing ?? { ...fields, lease: undefined, leaseId: undefined, failures: 0, retryTimer: undefined };
    const previous = registration.lease;
    Object.assign(registration, fields, { lease, leaseId, failures: 0 });
    this.stopRetrying(registration);
    this.registrations.set(fields.instanceId, registration);
    this.scheduleBeat(registration, lease, keepaliveIntervalMs(lease.ttlS));
    if (previous && previous !== lease) this.revokeQuietly(previous, fields.instanceId);
  }

  private async grant(ttlS: number): Promise<{ lease: HeldLease; leaseId: string }> {
    try {
      const { ID } = await this.deps.client.leaseClient.leaseGrant({ TTL: ttlS });
      return { lease: { id: ID, ttlS, released: false, timer: undefined }, leaseId: ID };
    } catch (error) {
      throw this.deps.translate(error);
    }
  }

  private scheduleBeat(registration: Registration, lease: HeldLease, delayMs: number): void {
    if (lease.released) return;
    if (lease.timer) clearTimeout(lease.timer);
    lease.timer = setTimeout(() => {
      lease.timer = undefined;
      this.beat(registration, lease);
    }, delayMs);
    // Not unref()'d: as etcd3's own keepalive did, a live registration keeps its process up.
  }

  /**
   * One keepalive. Answered: the next one a third of the TTL later; the lease
   * is gone (TTL 0): re-register; failed or late: the next member at once, and
   * once every member failed in a row, again after one deadline (the cluster is
   * down or electing a leader). Never throws: it runs on a timer.
   */
  private beat(registration: Registration, lease: HeldLease): void {
    if (this.closed || lease.released) return;
    const timeoutMs = keepaliveTimeoutMs(lease.ttlS, this.deps.memberTimeoutMs);
    let failuresInRow = 0;
    const attempt = (): void => {
      this.deps.keepalive.renew(lease.id, timeoutMs).then(
        (ttl) => {
          if (this.closed || lease.released) return;
          if (ttl > 0) return this.scheduleBeat(registration, lease, keepaliveIntervalMs(lease.ttlS));
          this.onLost(registration, lease, new Error(`lease ${lease.id} expired or was revoked`));
        },
        () => {
          if (this.closed || lease.released) return;
          failuresInRow += 1;
          if (failuresInRow % this.deps.keepalive.memberCount !== 0) return attempt();
          if (lease.timer) clearTimeout(lease.timer);
          lease.timer = setTimeout(() => {
            lease.timer = undefined;
            if (!this.closed && !lease.released) attempt();
          }, timeoutMs);
        },
      );
    };
    attempt();
  }

  private release(lease: HeldLease): void {
    lease.released = true;
    if (lease.timer) clearTimeout(lease.timer);
    lease.timer = undefined;
  }

  private async write(key: string, record: ServiceRecord, leaseId: string): Promise<string> {
    const response = await this.deps.client.put(key).value(encodeRecord(record)).lease(leaseId).exec();
    return response.header.revision;
  }

  /**
   * Puts a lost registration back, but only into an empty key or over its own
   * record (same pid and started_at): undefined when another registration holds it.
   */
  private async writeBack(key: string, record: ServiceRecord, leaseId: string): Promise<string | undefined> {
    const client = this.deps.client;
    const put = () => client.put(key).value(encodeRecord(record)).lease(leaseId);
    for (;;) {
      const created = await client.if(key, 'Create', '==', 0).then(put()).commit();
      if (created.succeeded) return created.header.revision;
      const kv = (await client.get(key).exec()).kvs[0];
      if (!kv) continue; // gone again meanwhile: try to create it
      const current = decodeRecord(kv.value.toString());
      if (!current.ok || !isOwnedBy(current.record, record)) return undefined;
      const replaced = await client.if(key, 'Mod', '==', kv.mod_revision).then(put()).commit();
      if (replaced.succeeded) return replaced.header.revision;
    }
  }

  private onLost(registration: Registration, lease: HeldLease, error: Error): void {
    this.release(lease);
    if (this.closed || registration.lease !== lease || this.registrations.get(registration.instanceId) !== registration) return;
    registration.lease = undefined;
    registration.leaseId = undefined;
    this.deps.logger.warn(`etcd store: lease of ${registration.instanceId} lost (${error.message}); re-registering`, {
      instanceId: registration.instanceId,
    });
    this.scheduleRecovery(registration, 0);
  }

  private scheduleRecovery(registration: Registration, delayMs: number): void {
    this.stopRetrying(registration);
    registration.retryTimer = setTimeout(() => {
      registration.retryTimer = undefined;
      void this.serial(registration.instanceId, () => this.recover(registration));
    }, delayMs);
    registration.retryTimer.unref();
  }

  private async recover(registration: Registration): Promise<void> {
    // Deleted, closed, or a put() already gave it a new lease meanwhile.
    if (this.closed || this.registrations.get(registration.instanceId) !== registration || registration.lease) return;
    try {
      const { lease, leaseId } = await this.grant(registration.ttlS);
      let revision: string | undefined;
      try {
        revision = await this.writeBack(registration.key, registration.record, leaseId);
      } catch (error) {
        this.revokeQuietly(lease, registration.instanceId);
        throw this.deps.translate(error);
      }
      if (revision === undefined) {
        // Another registration of this id took the key while our lease was gone: it wins.
        this.revokeQuietly(lease, registration.instanceId);
        this.drop(registration.instanceId);
        this.deps.logger.warn(`etcd store: ${registration.instanceId} was registered again by another process while its lease was lost; not re-registering`, {
          instanceId: registration.instanceId,
        });
        return;
      }
      registration.revision = BigInt(revision);
      if (this.closed || this.registrations.get(registration.instanceId) !== registration) {
        this.revokeQuietly(lease, registration.instanceId);
        return;
      }
      const failures = registration.failures;
      this.bind(registration, registration, lease, leaseId);
      this.deps.logger.warn(`etcd store: re-registered ${registration.instanceId} on a new lease after ${failures} failed attempt(s)`, {
        instanceId: registration.instanceId,
        leaseId,
      });
    } catch (error) {
      if (this.closed || this.registrations.get(registration.instanceId) !== registration) return;
      registration.failures += 1;
      const delay = backoff(registration.failures, this.deps.maxRecoveryDelayMs);
      const message = `etcd store: re-registering ${registration.instanceId} failed (${(error as Error).message}); retrying in ${delay} ms`;
      if (registration.failures === 1) this.deps.logger.warn(message, { instanceId: registration.instanceId });
      else this.deps.logger.debug(message, { instanceId: registration.instanceId });
      this.scheduleRecovery(registration, delay);
    }
  }

  private drop(instanceId: string): void {
    const registration = this.registrations.get(instanceId);
    if (!registration) return;
    this.registrations.delete(instanceId);
    this.stopRetrying(registration);
    if (registration.lease) this.revokeQuietly(registration.lease, instanceId);
  }

  private stopRetrying(registration: Registration): void {
    if (registration.retryTimer) clearTimeout(registration.retryTimer);
    registration.retryTimer = undefined;
  }

  private revokeQuietly(lease: HeldLease, instanceId: string): void {
    this.release(lease);
    this.deps.client.leaseClient.leaseRevoke({ ID: lease.id }).catch((error: unknown) => {
      // It expires by itself after its TTL; nothing is lost by failing here.
      this.deps.logger.debug(`etcd store: revoking an old lease of ${instanceId} failed: ${(error as Error).message}`);
    });
  }

  /** Runs `task` after every earlier task of the same instance id, whatever their outcome. */
  private serial<T>(instanceId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(instanceId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(instanceId, settled);
    void settled.then(() => {
      if (this.queues.get(instanceId) === settled) this.queues.delete(instanceId);
    });
    return run;
  }
}

/** Exponential back-off with full jitter on the upper half: 250 ms, 500 ms, … up to `max`. */
function backoff(failures: number, max: number): number {
  const ceiling = Math.min(max, 250 * 2 ** Math.min(failures - 1, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
