import type { ServiceFilters } from '../../domain/filters.js';
import type { ProbeOptions } from '../probe/endpoint-probe.js';

/** What ServiceRegistry.watch() and watchEvents() accept. Every field is optional. */
export interface WatchOptions {
  /** Ends the watch: the iterator finishes, the emitter closes, everything the watch held is released. Default: none. */
  readonly signal?: AbortSignal;
  /** Only instances matching every given field are reported. Default: all. */
  readonly filters?: ServiceFilters;
  /**
   * How often every entry is judged again, which is what reports a process that
   * died without touching the store (and heartbeats running out). Stores without
   * a native watch are also polled this often, but at least every
   * POLL_INTERVAL_MS. Default: 1000 ms; values below 10 ms are raised to 10 ms.
   */
  readonly sweepIntervalMs?: number;
  /**
   * Endpoint probes (ADR 0023), opt-in: each live instance's mcp_url is probed
   * every `intervalMs` (default 5000); after `failures` (default 3) failed
   * probes in a row it is reported `unresponsive` with reason `endpoint-down`
   * (never removed for it), and healthy again once it answers. Default: off.
   */
  readonly probe?: ProbeOptions;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;
/** Stores without a native watch are listed at least this often. */
export const POLL_INTERVAL_MS = 250;
const MIN_SWEEP_INTERVAL_MS = 10;

export function sweepIntervalOf(options: WatchOptions): number {
  const value = options.sweepIntervalMs;
  if (value === undefined || !Number.isFinite(value) || value <= 0) return DEFAULT_SWEEP_INTERVAL_MS;
  return Math.max(MIN_SWEEP_INTERVAL_MS, value);
}
