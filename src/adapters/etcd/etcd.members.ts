import type { Etcd3 } from 'etcd3';

/**
 * One etcd3 client per endpoint, each talking to that member only, made on
 * first use. etcd3's own client picks a member per call and keeps a stream
 * (lease keepalive, watch) on whichever member it opened it, however long that
 * member stays silent; these let the lease keepalive and the watch choose the
 * member themselves and move to the next one when it does not answer in time
 * (docs/adr/0021-etcd-hung-member-failover.md).
 */
export class MemberClients {
  private readonly clients = new Map<number, Etcd3>();
  private closed = false;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly open: (endpoint: string) => Etcd3,
  ) {}

  get size(): number {
    return this.endpoints.length;
  }

  /** The endpoint of member `index`, for messages. */
  endpoint(index: number): string {
    return this.endpoints[index % this.endpoints.length] as string;
  }

  /** The client of member `index` (modulo the number of members). */
  client(index: number): Etcd3 {
    if (this.closed) throw new Error('the etcd store is closed');
    const i = index % this.endpoints.length;
    let client = this.clients.get(i);
    if (!client) {
      client = this.open(this.endpoints[i] as string);
      this.clients.set(i, client);
    }
    return client;
  }

  /**
   * A client of member `index` of its own, which the caller closes: a watch
   * takes one, so that leaving a member drops everything it held there
   * (etcd3 multiplexes every watch of a client over one stream).
   */
  openOwn(index: number): Etcd3 {
    if (this.closed) throw new Error('the etcd store is closed');
    return this.open(this.endpoint(index));
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
