import type { Etcd3 } from 'etcd3';

/** Lease look-ups in flight at once when a listing meets many unknown leases. */
const CONCURRENCY = 16;
/** Known leases kept between listings at most (a listing keeps only the leases it met). */
const MAX_KNOWN = 100_000;

/**
 * The granted TTL of the leases entries are attached to, so discovery can tell
 * whether a lease vouches for its entry (see leaseVouches in the domain): a
 * lease's granted TTL never changes, so each lease id is asked about once
 * (LeaseTimeToLive), and our own leases are known from their grant. A lease
 * that is gone (TTL -1) or cannot be asked about (no permission on one of its
 * keys, a failed call) vouches for nothing: its entry is judged by heartbeat.
 */
export class LeaseTtls {
  private readonly known = new Map<string, number>();

  constructor(private readonly client: Etcd3) {}

  /** Records a lease this store granted itself. */
  remember(leaseId: string | undefined, ttlS: number): void {
    if (leaseId !== undefined && leaseId !== '0') this.known.set(leaseId, ttlS * 1000);
  }

  /** Granted TTL in ms of each given live lease ('0', no lease, is left out); `keepOnly` drops the others from memory. */
  async of(leaseIds: Iterable<string>, keepOnly = false): Promise<Map<string, number>> {
    const wanted = new Set([...leaseIds].filter((id) => id !== '0'));
    const unknown = [...wanted].filter((id) => !this.known.has(id));
    for (let i = 0; i < unknown.length; i += CONCURRENCY) {
      await Promise.all(unknown.slice(i, i + CONCURRENCY).map((id) => this.lookUp(id)));
    }
    const result = new Map<string, number>();
    for (const id of wanted) {
      const ttl = this.known.get(id);
      if (ttl !== undefined) result.set(id, ttl);
    }
    if (keepOnly || this.known.size > MAX_KNOWN) {
      for (const id of this.known.keys()) if (!wanted.has(id)) this.known.delete(id);
    }
    return result;
  }

  clear(): void {
    this.known.clear();
  }

  private async lookUp(id: string): Promise<void> {
    try {
      const answer = await this.client.leaseClient.leaseTimeToLive({ ID: id });
      const granted = Number(answer.grantedTTL);
      if (Number(answer.TTL) >= 0 && Number.isFinite(granted) && granted > 0) this.known.set(id, granted * 1000);
    } catch {
      // Unknown: the entry is judged by its heartbeat.
    }
  }
}
