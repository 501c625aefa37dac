import { ipFamily } from './ip-family.js';
import { InvalidMonitorOptionsError } from './monitor.errors.js';
import type { ProbeOptions } from '../../app/probe/endpoint-probe.js';

/** What startMonitor() and `marcus-registry serve` accept. Every field is optional. */
export interface MonitorOptions {
  /**
   * The address to listen on: an IP literal (IPv6 with or without brackets) or
   * `localhost` (which binds 127.0.0.1). Default: 127.0.0.1. Anything outside
   * 127.0.0.0/8 and ::1 needs `allowRemote` and a `token`.
   */
  readonly host?: string;
  /** TCP port; 0 picks any free port (read it back from `Monitor.url`). Default: 0. */
  readonly port?: number;
  /** Permit a non-loopback `host`. Default: false. */
  readonly allowRemote?: boolean;
  /**
   * A shared secret (at least 16 characters): every request must then carry
   * `Authorization: Bearer <token>` (or HTTP Basic with it as the password, for
   * browsers). Required with a non-loopback host. Default: none (loopback only).
   */
  readonly token?: string;
  /** Comment lines sent on idle event streams, so proxies and clients see the connection live. Default: 15 000 ms. */
  readonly streamHeartbeatMs?: number;
  /** The watch sweep of each event stream (see WatchOptions.sweepIntervalMs). Default: the watch's (1 000 ms). */
  readonly sweepIntervalMs?: number;
  /** Endpoint probes on each event stream's watch (see WatchOptions.probe). Default: off. */
  readonly probe?: ProbeOptions;
  /** Event streams open at once; more are refused with 503. Default: 64. */
  readonly maxStreams?: number;
  /**
   * Event streams one client address may hold at once; more are refused with
   * 503. Besides, a client that already holds a stream never takes the last free
   * slot: it stays for a client that holds none. Default: 8 (at most maxStreams).
   */
  readonly maxStreamsPerClient?: number;
  /** Add prom-client's process metrics (CPU, memory, event loop, GC) to /metrics. Default: false (the CLI turns them on). */
  readonly processMetrics?: boolean;
}

export const DEFAULT_MONITOR_HOST = '127.0.0.1';
export const DEFAULT_STREAM_HEARTBEAT_MS = 15_000;
export const DEFAULT_MAX_STREAMS = 64;
export const DEFAULT_MAX_STREAMS_PER_CLIENT = 8;
export const MIN_TOKEN_LENGTH = 16;

/** Where the server listens, as decided from the options. */
export interface BindAddress {
  /** What is passed to listen(): an IP literal. */
  readonly address: string;
  /** What the URL names: the address (IPv6 in brackets) or `localhost`. */
  readonly urlHost: string;
  readonly kind: 'loopback' | 'remote' | 'wildcard';
}

export interface MonitorConfig {
  readonly bind: BindAddress;
  readonly port: number;
  readonly token: string | undefined;
  readonly streamHeartbeatMs: number;
  readonly sweepIntervalMs: number | undefined;
  readonly probe?: ProbeOptions;
  readonly maxStreams: number;
  readonly maxStreamsPerClient: number;
  readonly processMetrics: boolean;
}

/**
 * Validates the options and decides the bind address. Safe by default: a
 * loopback address unless `allowRemote` AND a token say otherwise. Throws
 * InvalidMonitorOptionsError before anything listens.
 */
export function resolveMonitorConfig(options: MonitorOptions = {}): MonitorConfig {
  const bind = bindAddressOf(options.host ?? DEFAULT_MONITOR_HOST);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidMonitorOptionsError('port', `must be an integer from 0 to 65535, got ${String(port)}`);
  const token = options.token;
  if (token !== undefined) {
    if (token.length < MIN_TOKEN_LENGTH) throw new InvalidMonitorOptionsError('token', `must be at least ${MIN_TOKEN_LENGTH} characters`);
    if (/[\s\p{Cc}]/u.test(token)) throw new InvalidMonitorOptionsError('token', 'must not contain spaces or control characters');
  }
  if (bind.kind !== 'loopback') {
    if (options.allowRemote !== true) {
      throw new InvalidMonitorOptionsError('host', `${bind.address} is not a loopback address: serving the registry to other machines needs --allow-remote and a token`);
    }
    if (token === undefined) {
      throw new InvalidMonitorOptionsError('token', `a non-loopback host (${bind.address}) needs a token (MARCUS_REGISTRY_TOKEN or --token-file): every request must then send it`);
    }
  }
  const maxStreams = positive(options.maxStreams, 'maxStreams') ?? DEFAULT_MAX_STREAMS;
  return {
    bind,
    port,
    token,
    streamHeartbeatMs: positive(options.streamHeartbeatMs, 'streamHeartbeatMs') ?? DEFAULT_STREAM_HEARTBEAT_MS,
    sweepIntervalMs: positive(options.sweepIntervalMs, 'sweepIntervalMs'),
    ...(options.probe !== undefined && { probe: options.probe }),
    maxStreams,
    maxStreamsPerClient: Math.min(maxStreams, positive(options.maxStreamsPerClient, 'maxStreamsPerClient') ?? DEFAULT_MAX_STREAMS_PER_CLIENT),
    processMetrics: options.processMetrics === true,
  };
}

/** `localhost` → 127.0.0.1; IP literals as they are (IPv6 normalized); anything else is refused. */
export function bindAddressOf(host: string): BindAddress {
  const raw = host.trim();
  if (raw.toLowerCase() === 'localhost') return { address: '127.0.0.1', urlHost: 'localhost', kind: 'loopback' };
  const unbracketed = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  const family = ipFamily(unbracketed);
  if (family === 4) {
    const kind = unbracketed.startsWith('127.') ? 'loopback' : unbracketed === '0.0.0.0' ? 'wildcard' : 'remote';
    return { address: unbracketed, urlHost: unbracketed, kind };
  }
  if (family === 6) {
    if (unbracketed.includes('%')) throw new InvalidMonitorOptionsError('host', `zone ids are not supported: ${JSON.stringify(host)}`);
    const normalized = new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1);
    const kind = normalized === '::1' ? 'loopback' : normalized === '::' ? 'wildcard' : 'remote';
    return { address: normalized, urlHost: `[${normalized}]`, kind };
  }
  throw new InvalidMonitorOptionsError('host', `must be an IP address or localhost, got ${JSON.stringify(host)}`);
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidMonitorOptionsError(name, `must be a positive number, got ${String(value)}`);
  return value;
}
