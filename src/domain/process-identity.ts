import type { ServiceRecord } from './record.schema.js';
import { DEFAULT_STALENESS_POLICY, type ProcessFacts, type StalenessPolicy } from './staleness.js';
import { parseTimestamp } from './timestamp.js';

/**
 * Whether the process now at a record's pid is provably the one that registered
 * (for `stop`, which must never signal a reused pid):
 * - same: the start token matches (or, without tokens, the start time within tolerance);
 * - other: it does not — the pid was reused;
 * - unknown: the record or the platform gives nothing to compare (a record without
 *   process_start_time/token, e.g. one the Python registry wrote without psutil);
 * - gone: no process runs at that pid.
 */
export type ProcessIdentity = 'same' | 'other' | 'unknown' | 'gone';

export function processIdentity(record: ServiceRecord, facts: ProcessFacts, policy: StalenessPolicy = DEFAULT_STALENESS_POLICY): ProcessIdentity {
  if (!facts.alive) return 'gone';
  const token = record.process_start_token;
  if (token !== undefined && facts.startToken !== undefined) return token === facts.startToken ? 'same' : 'other';
  const recorded = record.process_start_time === undefined ? undefined : parseTimestamp(record.process_start_time);
  if (recorded === undefined || facts.startTimeMs === undefined) return 'unknown';
  return Math.abs(recorded - facts.startTimeMs) <= policy.startTimeToleranceMs ? 'same' : 'other';
}
