import { InvalidStoreUriError } from '../../domain/errors.js';
import { silentLogger, type Logger } from '../../ports/logger.port.js';

/** The prefix under which instances live when the store URI names none. */
export const DEFAULT_ETCD_PREFIX = '/marcus/services/';

/** Under the prefix, the keys of clean-stop notes (no instance id starts with a dot). */
export const DEPARTURE_NOTES = '.departed/';

/**
 * etcd cannot keep a lease shorter than about 1.5 election timeouts (2 s with
 * the default 1 s election timeout; it silently raises shorter ones), so we ask
 * for at least that much and say so instead of being surprised.
 */
export const MIN_LEASE_TTL_S = 2;

/** How to reach etcd and where in its key space the registry lives. */
export interface EtcdStoreOptions {
  /** Endpoints as `host:port` (or `http(s)://host:port`). Required, at least one. */
  readonly hosts: readonly string[];
  /** Key prefix of the registry; a missing trailing `/` is added. Default `/marcus/services/`. */
  readonly prefix?: string;
  /**
   * Lease TTL used when put() gets no `ttlMs`. Default 30 000 ms. Rounded up to
   * whole seconds, at least MIN_LEASE_TTL_S.
   */
  readonly defaultTtlMs?: number;
  /** How long to wait for a connection to an endpoint. Default 5 000 ms (etcd3's own is 30 s). */
  readonly dialTimeoutMs?: number;
  /**
   * Deadline of each single request (get, put, transaction), so a partitioned
   * etcd fails a call (etcd3 then retries it on another member) instead of
   * hanging it. Lease keepalives and the watch's check have their own, shorter
   * deadline (memberTimeoutMs). Default 5 000 ms.
   */
  readonly callTimeoutMs?: number;
  /**
   * How long one member may take to answer a lease keepalive or the watch's
   * check before the next member is used (a hung or dead member). A keepalive's
   * deadline is also at most a sixth of the lease TTL. Default 2 000 ms.
   */
  readonly memberTimeoutMs?: number;
  /** How often the watch checks, with a deadline of memberTimeoutMs, that its member still serves. Default 2 000 ms. */
  readonly watchCheckIntervalMs?: number;
  /** Upper bound of the back-off between attempts to re-register after a lost lease. Default 5 000 ms. */
  readonly maxRecoveryDelayMs?: number;
  /** Upper bound of the back-off between attempts to re-open a lost watch stream. Default 2 000 ms (etcd3's own: 30 s). */
  readonly maxWatchRetryDelayMs?: number;
  /** Where lease losses and re-registrations are reported. Default: nowhere. */
  readonly logger?: Logger;
  /** etcd user authentication. The password is given to etcd3 only: never logged, never in a message. */
  readonly auth?: { readonly username: string; readonly password: string };
  /**
   * TLS (https endpoints). `ca`: the PEM certificates to trust (default: the
   * system's roots); `cert` + `key`: a client certificate. Implied, with the
   * system's roots, when a host is given as `https://…`.
   */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

export interface ResolvedEtcdOptions {
  readonly hosts: readonly string[];
  /** The hosts as etcd3 wants them, with a scheme. */
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly defaultTtlMs: number;
  readonly dialTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly memberTimeoutMs: number;
  readonly watchCheckIntervalMs: number;
  readonly maxRecoveryDelayMs: number;
  readonly maxWatchRetryDelayMs: number;
  readonly logger: Logger;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer } | undefined;
  /** `etcd://h1:p1,h2:p2/prefix/` (`etcds://` with TLS), for messages: never a credential. */
  readonly location: string;
}


export function resolveEtcdOptions(options: EtcdStoreOptions): ResolvedEtcdOptions {
  const hosts = options.hosts.map((h) => h.trim()).filter((h) => h !== '');
  let prefix = options.prefix ?? DEFAULT_ETCD_PREFIX;
  if (!prefix.endsWith('/')) prefix += '/';
  const tls = options.tls ?? (hosts.some((h) => /^https:\/\//i.test(h)) ? {} : undefined);
  const bare = hosts.map((h) => h.replace(/^https?:\/\//i, ''));
  const location = `${tls ? 'etcds' : 'etcd'}://${bare.join(',')}${prefix.startsWith('/') ? '' : '/'}${prefix}`;
  if (hosts.length === 0) throw new InvalidStoreUriError(location, 'no etcd endpoint given');
  if (tls && hosts.some((h) => /^http:\/\//i.test(h))) throw new InvalidStoreUriError(location, 'TLS is on but an endpoint is http://');
  if (!tls && hosts.some((h) => /^https:\/\//i.test(h))) throw new InvalidStoreUriError(location, 'mixed http:// and https:// endpoints');
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) throw new InvalidStoreUriError(location, 'a client certificate needs both cert and key');
  if (options.auth && (options.auth.username === '' || options.auth.password === '')) {
    throw new InvalidStoreUriError(location, 'etcd authentication needs a user name and a non-empty password');
  }
  if (prefix === '/') throw new InvalidStoreUriError(location, 'the key prefix must not be empty: the registry would claim every key');
  return {
    hosts,
    endpoints: bare.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    prefix,
    defaultTtlMs: positive(options.defaultTtlMs, 30_000),
    dialTimeoutMs: positive(options.dialTimeoutMs, 5_000),
    callTimeoutMs: positive(options.callTimeoutMs, 5_000),
    memberTimeoutMs: positive(options.memberTimeoutMs, 2_000),
    watchCheckIntervalMs: positive(options.watchCheckIntervalMs, 2_000),
    maxRecoveryDelayMs: positive(options.maxRecoveryDelayMs, 5_000),
    maxWatchRetryDelayMs: positive(options.maxWatchRetryDelayMs, 2_000),
    logger: options.logger ?? silentLogger,
    auth: options.auth,
    tls,
    location,
  };
}

/** Whole seconds of lease for a TTL in ms: rounded up, never below MIN_LEASE_TTL_S. */
export function leaseTtlSeconds(ttlMs: number): number {
  return Math.max(MIN_LEASE_TTL_S, Math.ceil(ttlMs / 1000));
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
