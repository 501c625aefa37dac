import { byStartedAt, compareInstanceIds, matchesFilters, type ServiceFilters } from './filters.js';
import type { ServiceRecord } from './record.schema.js';
import { judge, type JudgeInput, type StalenessPolicy, type UnresponsiveReason, DEFAULT_STALENESS_POLICY } from './staleness.js';
import { parseTimestamp } from './timestamp.js';

/** The health of an instance a watcher reports: stale ones are not live, they are removed. */
export type LiveHealth = 'healthy' | 'unresponsive';

/**
 * Why an instance left the registry:
 * - unregistered: its entry was deleted while its process looked alive (its owner unregistering);
 * - process-exited / pid-reused / heartbeat-expired: judged stale (see staleness.ts);
 * - lease-expired: a lease-backed store (etcd) dropped it because its owner stopped beating.
 */
export type RemovalReason = 'unregistered' | 'process-exited' | 'pid-reused' | 'heartbeat-expired' | 'lease-expired';

/** One change of the registry, as a watcher sees it through its filters. */
export type RegistryEvent =
  | { type: 'added'; record: ServiceRecord; health: LiveHealth; reason?: UnresponsiveReason }
  | { type: 'updated'; record: ServiceRecord; health: LiveHealth; reason?: UnresponsiveReason }
  | { type: 'removed'; record: ServiceRecord; reason: RemovalReason };

/** One live entry of a snapshot. */
export interface SnapshotEntry {
  readonly record: ServiceRecord;
  /** The store's version token: a different one means the entry was written again. */
  readonly version: string;
  readonly health: LiveHealth;
  /** Why it is unresponsive, when it is and the watcher says (e.g. `endpoint-down` from endpoint probes). */
  readonly reason?: UnresponsiveReason;
}

/** Live entries by instance id, as judged at one moment. */
export type RegistrySnapshot = ReadonlyMap<string, SnapshotEntry>;

/**
 * The events that turn `previous` into `next`, seen through `filters`:
 * - an entry only in `next` is added; one only in `previous` is removed, for
 *   the reason `removalReason` gives;
 * - an entry in both is updated when its version or its health changed;
 * - an entry that stops matching the filters leaves the watched set: removed
 *   ('unregistered': it is still registered, but no longer as what was asked
 *   for); one that starts matching them is added.
 * Removals come first (by instance id), then additions and updates, oldest
 * `started_at` first, so the initial state reads like `list`.
 */
export function diffSnapshots(
  previous: RegistrySnapshot,
  next: RegistrySnapshot,
  removalReason: (instanceId: string, entry: SnapshotEntry) => RemovalReason,
  filters: ServiceFilters = {},
): RegistryEvent[] {
  const removed: RegistryEvent[] = [];
  const changed: RegistryEvent[] = [];
  for (const [id, before] of previous) {
    if (!matchesFilters(before.record, filters)) continue;
    const after = next.get(id);
    if (!after) removed.push({ type: 'removed', record: before.record, reason: removalReason(id, before) });
    else if (!matchesFilters(after.record, filters)) removed.push({ type: 'removed', record: after.record, reason: 'unregistered' });
  }
  for (const [id, after] of next) {
    if (!matchesFilters(after.record, filters)) continue;
    const before = previous.get(id);
    const why = after.reason !== undefined ? { reason: after.reason } : {};
    if (!before || !matchesFilters(before.record, filters)) changed.push({ type: 'added', record: after.record, health: after.health, ...why });
    else if (before.version !== after.version || before.health !== after.health || before.reason !== after.reason) {
      changed.push({ type: 'updated', record: after.record, health: after.health, ...why });
    }
  }
  removed.sort((a, b) => compareInstanceIds(a.record, b.record));
  changed.sort((a, b) => byStartedAt(a.record, b.record));
  return [...removed, ...changed];
}

export interface VanishedInput extends JudgeInput {
  /** Epoch ms when the watcher last saw this entry change (a heartbeat it observed), if it did. */
  readonly lastChangeSeenAt?: number;
}

/**
 * A lease-backed entry is kept alive by a keepalive at a third of the lease TTL
 * (TTL = missedBeats × interval), and its owner rewrites it every interval. An
 * entry deleted while its last beat was younger than this many intervals was
 * deleted by someone (its owner unregistering); an older one ran out its lease.
 */
export const LEASE_EXPIRY_BEATS = 1.5;

/**
 * Why an entry that was live is no longer in the store. Nobody can tell from
 * the store who deleted it, so the entry is judged once more as it last was:
 * - a local process that is gone (or whose pid was reused) → process-exited / pid-reused,
 *   whoever removed the entry (its owner at exit, or another reader's prune);
 * - a remote entry whose heartbeat ran out → heartbeat-expired (not lease-backed)
 *   or lease-expired (lease-backed: the lease outlives the last beat by at least
 *   two intervals, an unregistering owner beat less than one interval ago);
 * - otherwise unregistered.
 */
export function reasonForVanished(record: ServiceRecord, input: VanishedInput, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): RemovalReason {
  const verdict = judge(record, { ...input, leaseBacked: false }, policy);
  if (verdict.health === 'stale') return input.leaseBacked && verdict.reason === 'heartbeat-expired' ? 'lease-expired' : verdict.reason;
  if (input.leaseBacked && record.heartbeat_interval_ms !== undefined) {
    const beat = Math.max(parseTimestamp(record.last_heartbeat) ?? Number.NEGATIVE_INFINITY, input.lastChangeSeenAt ?? Number.NEGATIVE_INFINITY);
    if (input.now - beat > record.heartbeat_interval_ms * LEASE_EXPIRY_BEATS) return 'lease-expired';
  }
  return 'unregistered';
}
