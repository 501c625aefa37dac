import { describe, expect, it } from 'vitest';
import { comparePreference, type Candidate } from '../../src/domain/preference.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { judge, leaseVouches, MIN_VOUCHING_LEASE_MS, type JudgeInput } from '../../src/domain/staleness.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { fixedRecord } from '../support/records.js';

/** Records nobody can vouch for: timestamps in the future, leases far longer than the heartbeat TTL. */
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const HOUR = 3_600_000;

function record(overrides: Partial<ServiceRecord> & Record<string, unknown> = {}): ServiceRecord {
  return fixedRecord({ started_at: formatTimestamp(NOW - HOUR), last_heartbeat: formatTimestamp(NOW - 1_000), heartbeat_interval_ms: 10_000, ...overrides });
}

const remote = (extra: Partial<JudgeInput> = {}): JudgeInput => ({ now: NOW, localHostname: 'here', ...extra });
const local = (extra: Partial<JudgeInput> = {}): JudgeInput => ({ now: NOW, localHostname: 'here', process: { alive: true }, ...extra });

describe('future timestamps are never believed', () => {
  it('a started_at beyond the skew tolerance makes a record unresponsive (clock-skew), local or remote, lease or not', () => {
    const r = record({ hostname: 'elsewhere', started_at: '2099-01-01T00:00:00.000000' });
    for (const input of [remote(), remote({ leaseBacked: true })]) {
      const verdict = judge(r, input);
      expect(verdict).toMatchObject({ health: 'unresponsive', reason: 'clock-skew' });
      expect((verdict as { detail: string }).detail).toMatch(/^started_at is \d+ s in the future$/);
    }
    expect(judge(record({ hostname: 'here', started_at: '2099-01-01T00:00:00.000000' }), local())).toMatchObject({ health: 'unresponsive', reason: 'clock-skew' });
    // Within the tolerance it is believed.
    expect(judge(record({ hostname: 'elsewhere', started_at: formatTimestamp(NOW + 30_000) }), remote())).toEqual({ health: 'healthy' });
  });

  it('so a record from the future never ranks before a healthy one', () => {
    const future: Candidate = { record: record({ instance_id: 'marcus_future', started_at: '2099-01-01T00:00:00.000000' }), health: 'unresponsive' };
    const real: Candidate = { record: record({ instance_id: 'marcus_real' }), health: 'healthy' };
    expect([future, real].sort(comparePreference({ cwd: '/' })).map((c) => c.record.instance_id)).toEqual(['marcus_real', 'marcus_future']);
  });
});

describe('leaseVouches: a lease vouches only when it is no longer than the heartbeat TTL (60 s at least)', () => {
  it('bounds the lease by the record\u2019s own TTL, never below MIN_VOUCHING_LEASE_MS', () => {
    expect(MIN_VOUCHING_LEASE_MS).toBe(60_000);
    expect(leaseVouches(record({ heartbeat_interval_ms: 10_000 }), 30_000)).toBe(true);
    expect(leaseVouches(record({ heartbeat_interval_ms: 10_000 }), 60_000)).toBe(true);
    expect(leaseVouches(record({ heartbeat_interval_ms: 10_000 }), 61_000)).toBe(false);
    expect(leaseVouches(record({ heartbeat_interval_ms: 10_000 }), HOUR)).toBe(false);
    expect(leaseVouches(record({ heartbeat_interval_ms: 60_000 }), 180_000)).toBe(true);
    expect(leaseVouches(record({ heartbeat_interval_ms: 60_000 }), 181_000)).toBe(false);
    expect(leaseVouches(record({ heartbeat_interval_ms: undefined }), 30_000)).toBe(true);
    expect(leaseVouches(record({ heartbeat_interval_ms: undefined }), HOUR)).toBe(false);
  });
});
