import type { ServiceRecord } from './record.schema.js';
import { parseTimestamp } from './timestamp.js';

/**
 * healthy: alive and beating. unresponsive: alive (or unverifiable) but not
 * beating — still listed, ranked last. stale: gone — safe to remove.
 */
export type Health = 'healthy' | 'unresponsive' | 'stale';

export type StaleReason = 'process-exited' | 'pid-reused' | 'heartbeat-expired';
export type UnresponsiveReason = 'heartbeat-missed' | 'clock-skew' | 'unverifiable' | 'endpoint-down';

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
  /** The store expires entries itself (etcd lease): a remote entry that exists is alive. */
  readonly leaseBacked?: boolean;
}

export interface StalenessPolicy {
  /** Heartbeats a record may miss before it is unresponsive (local) or stale (remote). */
  readonly missedBeats: number;
  /** Allowed difference between the recorded and observed process start time. */
  readonly startTimeToleranceMs: number;
  /** A heartbeat further in the future than this is not believed. */
  readonly clockSkewToleranceMs: number;
}

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
  if (host === undefined || host === '') return true;
  return host.toLowerCase() === localHostname.toLowerCase();
}

/**
 * Judges one record. Local records: the pid decides life and death (dead or
 * reused pid → stale; reuse is told by the start token, else the start time); missed heartbeats only make a live process unresponsive.
 * Remote records: the pid is meaningless, so the heartbeat TTL (or the store's
 * lease) decides; a remote record with no declared interval cannot be verified
 * and is never judged stale.
 */
export function judge(record: ServiceRecord, input: JudgeInput, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): Verdict {
  const local = isLocalRecord(record, input.localHostname);
  if (local) {
    const facts = input.process;
    if (facts && !facts.alive) {
      return { health: 'stale', reason: 'process-exited', detail: `pid ${record.pid} is not running` };
    }
    if (facts?.alive) {
      const reused = pidReuse(record, facts, policy);
      if (reused !== undefined) return { health: 'stale', reason: 'pid-reused', detail: reused };
    }
  } else if (input.leaseBacked) {
    return { health: 'healthy' };
  }
  return judgeHeartbeat(record, input.now, local, policy);
}

/**
 * Why the live process at the record's pid is not the one that registered, or
 * undefined if it is (or cannot be told apart). The start token, when both sides
 * have one, decides alone: it does not move with the wall clock. Otherwise the
 * start times are compared with the policy's tolerance.
 */
function pidReuse(record: ServiceRecord, facts: ProcessFacts & { alive: true }, policy: StalenessPolicy): string | undefined {
  const recordedToken = record.process_start_token;
  if (recordedToken !== undefined && facts.startToken !== undefined) {
    return recordedToken === facts.startToken
      ? undefined
      : `pid ${record.pid} now belongs to another process (start token ${facts.startToken}, recorded ${recordedToken})`;
  }
  if (facts.startTimeMs === undefined || record.process_start_time === undefined) return undefined;
  const recorded = parseTimestamp(record.process_start_time);
  if (recorded === undefined || Math.abs(recorded - facts.startTimeMs) <= policy.startTimeToleranceMs) return undefined;
  return `pid ${record.pid} now belongs to a process started at ${new Date(facts.startTimeMs).toISOString()}`;
}

function judgeHeartbeat(record: ServiceRecord, now: number, local: boolean, policy: StalenessPolicy): Verdict {
  const ttl = heartbeatTtlMs(record, policy);
  if (ttl === undefined) {
    return local
      ? { health: 'healthy' }
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
  return { health: 'healthy' };
}
