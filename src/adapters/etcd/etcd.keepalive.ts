import type { Etcd3 } from 'etcd3';
import type { Logger } from '../../ports/logger.port.js';
import type { MemberClients } from './etcd.members.js';

/** The lowest deadline a single keepalive gets, whatever the TTL: a loaded machine needs some room. */
const MIN_KEEPALIVE_TIMEOUT_MS = 250;

/**
 * How long one keepalive may take on one member: a sixth of the TTL, at most
 * `memberTimeoutMs`, at least MIN_KEEPALIVE_TIMEOUT_MS. With a beat every third
 * of the TTL, a hung member costs one such deadline before the next member is
 * tried, far from the lease's expiry.
 */
export function keepaliveTimeoutMs(ttlS: number, memberTimeoutMs: number): number {
  return Math.max(MIN_KEEPALIVE_TIMEOUT_MS, Math.min(memberTimeoutMs, Math.floor((ttlS * 1000) / 6)));
}

/** Time between two keepalives of a lease that answered: a third of the TTL (what etcd's Go client does). */
export function keepaliveIntervalMs(ttlS: number): number {
  return Math.floor((ttlS * 1000) / 3);
}

/**
 * Sends lease keepalives to one member at a time, each with a deadline. A
 * keepalive that fails or misses its deadline moves every later one to the next
 * member (the first endpoint named is where it starts). A member that is hung
 * (SIGSTOP, a stuck disk, a half-open connection) therefore costs one deadline,
 * never the lease.
 */
export class MemberKeepalive {
  private cursor = 0;
  /** Failures since the last keepalive that was answered. */
  private failuresInRow = 0;

  constructor(
    private readonly members: MemberClients,
    private readonly logger: Logger,
  ) {}

  /** How many members there are to try in turn. */
  get memberCount(): number {
    return this.members.size;
  }

  /**
   * One keepalive of `leaseId` on the current member: resolves with the TTL etcd
   * granted in seconds, 0 when the lease no longer exists. Rejects when the
   * member failed or did not answer within `timeoutMs`, having moved to the next member.
   */
  async renew(leaseId: string, timeoutMs: number): Promise<number> {
    const member = this.cursor;
    try {
      const ttl = await keepaliveOnce(this.members.client(member), leaseId, timeoutMs);
      this.failuresInRow = 0;
      return ttl;
    } catch (error) {
      this.failuresInRow += 1;
      if (this.cursor === member) this.cursor = (member + 1) % this.members.size;
      const message =
        `etcd store: lease keepalive on ${this.members.endpoint(member)} failed (${(error as Error).message}); ` +
        `next keepalive goes to ${this.members.endpoint(this.cursor)}`;
      if (this.failuresInRow === 1) this.logger.warn(message, { leaseId });
      else this.logger.debug(message, { leaseId });
      throw error;
    }
  }
}

interface KeepaliveStream {
  on(event: 'data', listener: (response: { TTL: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  write(request: { ID: string }): unknown;
  end(): unknown;
  cancel?(): void;
}

/** One request on a fresh keepalive stream, with a gRPC deadline and a timer of our own as a backstop. */
async function keepaliveOnce(client: Etcd3, leaseId: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  let answered = false;
  let stream: KeepaliveStream | undefined;
  const dispose = (open: KeepaliveStream) => {
    // Later errors of a stream we are done with (its cancellation) are expected.
    open.on('error', () => {});
    try {
      if (answered) open.end();
      else open.cancel?.();
    } catch {
      // already closed
    }
  };
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 50);
  });
  try {
    return await Promise.race([
      late,
      (async () => {
        const open = (await client.leaseClient.leaseKeepAlive({ deadline })) as unknown as KeepaliveStream;
        if (finished) {
          dispose(open);
          throw new Error('keepalive abandoned');
        }
        stream = open;
        return new Promise<number>((resolve, reject) => {
          open.on('data', (response) => {
            answered = true;
            resolve(Number(response.TTL));
          });
          open.on('error', reject);
          open.write({ ID: leaseId });
        });
      })(),
    ]);
  } finally {
    finished = true;
    clearTimeout(timer);
    if (stream) dispose(stream);
  }
}
