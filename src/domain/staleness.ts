import { foreignFieldsOf } from './foreign-fields.js';
import type { ServiceRecord } from './record.schema.js';
import { parseTimestamp } from './timestamp.js';

/**
 * healthy: alive and beating. unresponsive: alive (or unverifiable) but not
 * beating — still listed, ranked last. stale: gone — safe to remove.
 */
export type Health = 'healthy' | 'unresponsive' | 'stale';

export type StaleReason = 'process-exited' | 'pid-reused' | 'heartbeat-expired';
export type UnresponsiveReason = 'heartbeat-missed' | 'clock-skew' | 'unverifiable' | 'pid-started-later' | 'endpoint-down';

export type Verdict =
  | { readonly health: 'healthy' }
  | { readonly health: 'unresponsive'; readonly reason: UnresponsiveReason; readonly detail: string }
  | { readonly health: 'stale'; readonly reason: StaleReason; readonly detail: string };

/**
 * When and which process started, as far as the platform tells. `token` names one
 * process incarnation exactly and is immune to wall-clock steps (Linux:
 * `<boot_id>:<start ticks>`); `timeMs` is derived from the wall clock, so it moves
 * when the clock is stepped and is compared only with a tolerance.
 */
export interface ProcessStart {
  /** Epoch ms. */
  readonly timeMs?: number;
  /** Opaque; equal tokens mean the same process. */
  readonly token?: string;
}

/** What a liveness probe learned about one pid on this host. */
export type ProcessFacts =
  | { readonly alive: false }
  | {
      readonly alive: true;
      /** epoch ms, when the platform tells */
      readonly startTimeMs?: number;
      /** the incarnation token (see ProcessStart.token), when the platform gives one */
      readonly startToken?: string;
    };

export interface JudgeInput {
  readonly now: number;
  /** This machine's hostname: a pid means something only on its own host. */
  readonly localHostname: string;
  /** Facts about the record's pid; required for local records, ignored for remote ones. */
  readonly process?: ProcessFacts;
  /**
   * The store expires this entry itself: it is attached to a live lease that
   * vouches for it (see leaseVouches), so a remote entry that exists is alive.
   */
  readonly leaseBacked?: boolean;
}

export interface StalenessPolicy {
  /** Heartbeats a record may miss before it is unresponsive (local) or stale (remote). */
  readonly missedBeats: number;
  /** Allowed difference between the recorded and observed process start time. */
  readonly startTimeToleranceMs: number;
  /**
   * A heartbeat further in the future than this is not believed. Also the margin
   * for a record without a start time or token whose pid's process started after
   * its `started_at` (a wall-clock step moves the observed start time): beyond it,
   * the pid may have been reused (`pid-started-later`).
   */
  readonly clockSkewToleranceMs: number;
}

/** The one healthy verdict (it says nothing else): shared, not built per entry judged. */
const HEALTHY: Verdict = Object.freeze({ health: 'healthy' });

export const DEFAULT_STALENESS_POLICY: StalenessPolicy = {
  missedBeats: 3,
  startTimeToleranceMs: 2_000,
  clockSkewToleranceMs: 60_000,
};

/** The TTL a record declares through its heartbeat interval, or undefined if it declares none. */
export function heartbeatTtlMs(record: ServiceRecord, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): number | undefined {
  const interval = record.heartbeat_interval_ms;
  return interval === undefined ? undefined : interval * policy.missedBeats;
}

export function isLocalRecord(record: ServiceRecord, localHostname: string): boolean {
  const host = record.hostname;
  if (host === undefined || host === '') {
    // A hostname we could not read (a number, an object: ignored on read) names some host, maybe
    // another one: its pid is not ours to judge. null, like absence, means this host.
    return !foreignFieldsOf(record).some((f) => f.key === 'hostname' && f.original !== null);
  }
  return host === localHostname || host.toLowerCase() === localHostname.toLowerCase();
}

/**
 * Judges one record. Local records: the pid decides life and death (dead or
 * reused pid → stale; reuse is told by the start token, else the start time); missed heartbeats only make a live process unresponsive.
 * A record with neither (every Python record) whose live pid belongs to a process
 * started after the record's `started_at` is unresponsive (`pid-started-later`):
 * the pid was probably reused, but that rests on wall-clock times only, so it is
 * never stale (never removed) — see ADR 0017.
 * Remote records: the pid is meaningless, so the heartbeat TTL (or a lease that
 * vouches for the entry) decides; a remote record with no declared interval
 * cannot be verified and is never judged stale. A started_at or last_heartbeat
 * beyond the skew tolerance in the future makes a record that would be healthy
 * unresponsive (clock-skew), so it never ranks before a healthy one; an
 * expired one is still stale.
 */
export function judge(record: ServiceRecord, input: JudgeInput, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): Verdict {
  const local = isLocalRecord(record, input.localHostname);
  if (local) {
    const facts = input.process;
    if (facts && !facts.alive) {
      return { health: 'stale', reason: 'process-exited', detail: `pid ${record.pid} is not running` };
    }
    if (facts?.alive) {
      const reuse = pidReuse(record, facts, policy);
      if (reuse.kind === 'reused') return { health: 'stale', reason: 'pid-reused', detail: reuse.detail };
      if (reuse.kind === 'unknown') {
        const later = startedLater(record, facts, policy);
        if (later !== undefined) return { health: 'unresponsive', reason: 'pid-started-later', detail: later };
      }
    }
  }
  // A lease vouches for life, not for a heartbeat from the future (judgeHeartbeat tells clock-skew).
  const byLease = !local && input.leaseBacked === true && inTheFuture(record, 'last_heartbeat', input.now, policy) === undefined;
  const verdict: Verdict = byLease ? HEALTHY : judgeHeartbeat(record, input.now, local, policy);
  const future = verdict.health === 'healthy' ? inTheFuture(record, 'started_at', input.now, policy) : undefined;
  return future === undefined ? verdict : { health: 'unresponsive', reason: 'clock-skew', detail: future };
}

/**
 * Why the live process at the record's pid is not the one that registered, or
 * undefined if it is (or cannot be told apart). The start token, when both sides
 * have one, decides alone: it does not move with the wall clock. Otherwise the
 * start times are compared with the policy's tolerance.
 */
function pidReuse(record: ServiceRecord, facts: ProcessFacts & { alive: true }, policy: StalenessPolicy): PidReuse {
  const recordedToken = record.process_start_token;
  if (recordedToken !== undefined && facts.startToken !== undefined) {
    return recordedToken === facts.startToken
      ? { kind: 'same' }
      : { kind: 'reused', detail: `pid ${record.pid} now belongs to another process (start token ${facts.startToken}, recorded ${recordedToken})` };
  }
  const recorded = parseTimestamp(record.process_start_time);
  if (facts.startTimeMs === undefined || recorded === undefined) return { kind: 'unknown' };
  if (Math.abs(recorded - facts.startTimeMs) <= policy.startTimeToleranceMs) return { kind: 'same' };
  return { kind: 'reused', detail: `pid ${record.pid} now belongs to a process started at ${new Date(facts.startTimeMs).toISOString()}` };
}

type PidReuse = { readonly kind: 'same' } | { readonly kind: 'unknown' } | { readonly kind: 'reused'; readonly detail: string };

/**
 * For a record that cannot be checked for reuse (no comparable start token or
 * start time): why its pid's process looks younger than the record, or
 * undefined. A registrant starts before it registers, so a process started more
 * than the clock-skew tolerance after `started_at` is not the one that wrote it.
 */
function startedLater(record: ServiceRecord, facts: ProcessFacts & { alive: true }, policy: StalenessPolicy): string | undefined {
  const registered = parseTimestamp(record.started_at);
  if (facts.startTimeMs === undefined || registered === undefined) return undefined;
  const lead = facts.startTimeMs - registered;
  if (lead <= policy.clockSkewToleranceMs) return undefined;
  return `pid ${record.pid} belongs to a process started at ${new Date(facts.startTimeMs).toISOString()}, ${Math.round(lead / 1000)} s after the record's started_at: the pid was probably reused`;
}

/**
 * A lease shorter than this vouches for any record: whoever keeps it alive
 * renews it at least this often, as a live writer does.
 */
export const MIN_VOUCHING_LEASE_MS = 60_000;

/**
 * Whether a live lease of `leaseTtlMs` vouches for `record`: a lease vouches
 * for life only as long as it outlives a dead writer by no more than the
 * record's own heartbeat TTL (or MIN_VOUCHING_LEASE_MS). A longer lease (a
 * planter's one-hour grant) says nothing: the record is judged by its heartbeat.
 */
export function leaseVouches(record: ServiceRecord, leaseTtlMs: number, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): boolean {
  return leaseTtlMs <= Math.max(heartbeatTtlMs(record, policy) ?? 0, MIN_VOUCHING_LEASE_MS);
}

/** How far `field` is beyond the skew tolerance in the future, as a message; undefined when it is believable. */
function inTheFuture(record: ServiceRecord, field: 'started_at' | 'last_heartbeat', now: number, policy: StalenessPolicy): string | undefined {
  const at = parseTimestamp(record[field]);
  return at !== undefined && at - now > policy.clockSkewToleranceMs ? `${field} is ${Math.round((at - now) / 1000)} s in the future` : undefined;
}

function judgeHeartbeat(record: ServiceRecord, now: number, local: boolean, policy: StalenessPolicy): Verdict {
  const ttl = heartbeatTtlMs(record, policy);
  if (ttl === undefined) {
    return local
      ? HEALTHY
      : { health: 'unresponsive', reason: 'unverifiable', detail: `record of host ${record.hostname} declares no heartbeat interval` };
  }
  const beat = parseTimestamp(record.last_heartbeat) ?? Number.NEGATIVE_INFINITY;
  const age = now - beat;
  if (age < -policy.clockSkewToleranceMs) {
    return { health: 'unresponsive', reason: 'clock-skew', detail: `last_heartbeat is ${Math.round(-age / 1000)} s in the future` };
  }
  if (age > ttl) {
    const detail = `no heartbeat for ${Math.round(age / 1000)} s (TTL ${Math.round(ttl / 1000)} s)`;
    return local
      ? { health: 'unresponsive', reason: 'heartbeat-missed', detail }
      : { health: 'stale', reason: 'heartbeat-expired', detail };
  }
  return HEALTHY;
}
