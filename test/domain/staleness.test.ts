import { describe, expect, it } from 'vitest';
import { parseRecord, type ServiceRecord } from '../../src/domain/record.schema.js';
import {
  DEFAULT_STALENESS_POLICY,
  heartbeatTtlMs,
  isLocalRecord,
  judge,
  type JudgeInput,
  type StalenessPolicy,
  type Verdict,
} from '../../src/domain/staleness.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const LOCAL = 'devbox';
const START = NOW - 3_600_000; // the process started an hour ago
const INTERVAL = 10_000;

function record(overrides: Partial<ServiceRecord> & Record<string, unknown> = {}): ServiceRecord {
  return {
    instance_id: 'marcus_4242',
    pid: 4242,
    mcp_command: 'node server.js',
    log_dir: '/var/log/marcus',
    project_name: null,
    provider: null,
    status: 'running',
    started_at: formatTimestamp(START),
    last_heartbeat: formatTimestamp(NOW - 1_000),
    platform: 'Linux',
    working_directory: '/srv',
    schema_version: 1,
    hostname: LOCAL,
    process_start_time: formatTimestamp(START),
    heartbeat_interval_ms: INTERVAL,
    ...overrides,
  } as ServiceRecord;
}

function without(r: ServiceRecord, ...keys: (keyof ServiceRecord)[]): ServiceRecord {
  const copy: Record<string, unknown> = { ...r };
  for (const key of keys) delete copy[key];
  return copy as ServiceRecord;
}

const alive = (startTimeMs?: number): JudgeInput['process'] =>
  startTimeMs === undefined ? { alive: true } : { alive: true, startTimeMs };
const dead: JudgeInput['process'] = { alive: false };

function local(process: JudgeInput['process'], extra: Partial<JudgeInput> = {}): JudgeInput {
  return { now: NOW, localHostname: LOCAL, process, ...extra };
}

function remote(extra: Partial<JudgeInput> = {}): JudgeInput {
  return { now: NOW, localHostname: 'otherbox', ...extra };
}

function expectVerdict(verdict: Verdict, health: Verdict['health'], reason?: string): void {
  expect(verdict.health).toBe(health);
  if (reason === undefined) expect(verdict).toEqual({ health: 'healthy' });
  else {
    expect(verdict).toMatchObject({ health, reason });
    expect((verdict as { detail: string }).detail.length).toBeGreaterThan(0);
  }
}

describe('isLocalRecord', () => {
  it('is local when the hostname matches, case-insensitively', () => {
    expect(isLocalRecord(record({ hostname: 'DevBox' }), 'devbox')).toBe(true);
    expect(isLocalRecord(record({ hostname: 'devbox' }), 'DEVBOX')).toBe(true);
  });

  it('is local when the record has no hostname (seed-era Python) or an empty one', () => {
    expect(isLocalRecord(without(record(), 'hostname'), 'devbox')).toBe(true);
    expect(isLocalRecord(record({ hostname: '' }), 'devbox')).toBe(true);
  });

  it('a hostname in a type we do not use (ignored on read) is some other host; null is this one', () => {
    const base = without(record(), 'hostname');
    const parsed = (hostname: unknown) => {
      const outcome = parseRecord({ ...base, hostname });
      if (!outcome.ok) throw outcome.error;
      return outcome.record;
    };
    expect(isLocalRecord(parsed(7), LOCAL)).toBe(false);
    expect(isLocalRecord(parsed({ name: LOCAL }), LOCAL)).toBe(false);
    expect(isLocalRecord(parsed(null), LOCAL)).toBe(true);
    // So a dead pid here does not make it stale: it is judged by its heartbeat, as a remote record.
    expect(judge(parsed(7), local(dead)).health).toBe('healthy');
    expect(judge(parsed(null), local(dead))).toMatchObject({ health: 'stale', reason: 'process-exited' });
  });

  it('is remote when the hostname differs', () => {
    expect(isLocalRecord(record({ hostname: 'devbox2' }), 'devbox')).toBe(false);
  });
});

describe('heartbeatTtlMs', () => {
  it('is interval × missedBeats', () => {
    expect(heartbeatTtlMs(record({ heartbeat_interval_ms: 10_000 }))).toBe(30_000);
    expect(heartbeatTtlMs(record({ heartbeat_interval_ms: 250 }))).toBe(750);
    expect(DEFAULT_STALENESS_POLICY.missedBeats).toBe(3);
  });

  it('uses the given policy', () => {
    const policy: StalenessPolicy = { ...DEFAULT_STALENESS_POLICY, missedBeats: 5 };
    expect(heartbeatTtlMs(record({ heartbeat_interval_ms: 1_000 }), policy)).toBe(5_000);
  });

  it('is undefined when the record declares no interval', () => {
    expect(heartbeatTtlMs(without(record(), 'heartbeat_interval_ms'))).toBeUndefined();
  });
});

describe('judge: local records', () => {
  it('a live process with a fresh heartbeat and matching start time is healthy', () => {
    expectVerdict(judge(record(), local(alive(START))), 'healthy');
  });

  it('a dead pid is stale: process-exited', () => {
    const verdict = judge(record(), local(dead));
    expectVerdict(verdict, 'stale', 'process-exited');
    expect((verdict as { detail: string }).detail).toContain('4242');
  });

  it('a dead pid is stale even with a fresh heartbeat and no interval', () => {
    expectVerdict(judge(without(record(), 'heartbeat_interval_ms'), local(dead)), 'stale', 'process-exited');
  });

  it('a live pid whose start time differs by more than the tolerance is stale: pid-reused', () => {
    const tolerance = DEFAULT_STALENESS_POLICY.startTimeToleranceMs;
    expectVerdict(judge(record(), local(alive(START + tolerance + 1))), 'stale', 'pid-reused');
    expectVerdict(judge(record(), local(alive(START - tolerance - 1))), 'stale', 'pid-reused');
    expectVerdict(judge(record(), local(alive(START + 86_400_000))), 'stale', 'pid-reused');
  });

  it('a start time within the tolerance (either side, inclusive) is the same process', () => {
    const tolerance = DEFAULT_STALENESS_POLICY.startTimeToleranceMs;
    expectVerdict(judge(record(), local(alive(START + tolerance))), 'healthy');
    expectVerdict(judge(record(), local(alive(START - tolerance))), 'healthy');
    expectVerdict(judge(record(), local(alive(START + 999))), 'healthy');
  });

  it('ps gives start times in whole seconds: a truncated second is not a reuse', () => {
    const recorded = START + 876;
    const observed = Math.floor(recorded / 1000) * 1000;
    expectVerdict(judge(record({ process_start_time: formatTimestamp(recorded) }), local(alive(observed))), 'healthy');
  });

  it('compares an aware start time across offsets', () => {
    const r = record({ process_start_time: '2026-11-21T16:30:00+05:30' }); // 11:00 UTC
    expectVerdict(judge(r, local(alive(Date.UTC(2026, 10, 21, 11, 0, 0)))), 'healthy');
    expectVerdict(judge(r, local(alive(Date.UTC(2026, 10, 21, 16, 30, 0)))), 'stale', 'pid-reused');
  });

  it('a record without process_start_time is never judged stale by its start time (no false removal)', () => {
    const r = without(record(), 'process_start_time');
    expectVerdict(judge(r, local(alive(START - 86_400_000))), 'healthy');
    expectVerdict(judge(r, local(alive(START + 86_400_000))), 'unresponsive', 'pid-started-later');
  });

  it('without a start time or token, a live pid whose process started after started_at is unresponsive: pid-started-later', () => {
    // Every Python record: started_at only. The registrant starts before it registers.
    const python = without(record(), 'process_start_time', 'heartbeat_interval_ms', 'schema_version', 'hostname');
    const tolerance = DEFAULT_STALENESS_POLICY.clockSkewToleranceMs;
    expectVerdict(judge(python, local(alive(START - 5_000))), 'healthy');
    // A wall-clock step of up to the tolerance does not make it a stranger.
    expectVerdict(judge(python, local(alive(START + tolerance))), 'healthy');
    const verdict = judge(python, local(alive(START + tolerance + 1)));
    expectVerdict(verdict, 'unresponsive', 'pid-started-later');
    expect(verdict.health !== 'healthy' && verdict.detail).toMatch(/pid 4242 belongs to a process started at .* after the record's started_at/);
    // It outranks a missed heartbeat (its own reason), and a dead pid is still stale.
    const beating = without(record({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL - 1) }), 'process_start_time');
    expectVerdict(judge(beating, local(alive(START + 3_600_000))), 'unresponsive', 'pid-started-later');
    expectVerdict(judge(python, local(dead)), 'stale', 'process-exited');
    // Facts without a start time cannot tell.
    expectVerdict(judge(python, local(alive())), 'healthy');
    // Remote records: the pid means nothing here.
    expectVerdict(judge(without(record({ hostname: 'otherbox' }), 'process_start_time', 'heartbeat_interval_ms'), local(alive(START + 86_400_000))), 'unresponsive', 'unverifiable');
  });

  it('a recorded start time that matches decides: no pid-started-later even if started_at is older', () => {
    const r = record({ started_at: formatTimestamp(START - 600_000) });
    expectVerdict(judge(r, local(alive(START))), 'healthy');
  });

  it('facts without a start time cannot show reuse', () => {
    expectVerdict(judge(record(), local(alive())), 'healthy');
  });

  it('a live process that missed its heartbeats is unresponsive: heartbeat-missed, not stale', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL - 1) });
    expectVerdict(judge(r, local(alive(START))), 'unresponsive', 'heartbeat-missed');
  });

  it('a heartbeat exactly at the TTL is still healthy', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL) });
    expectVerdict(judge(r, local(alive(START))), 'healthy');
  });

  it('a record without an interval is judged by its pid alone, even with an ancient heartbeat', () => {
    const r = without(record({ last_heartbeat: '2001-01-01T00:00:00' }), 'heartbeat_interval_ms');
    expectVerdict(judge(r, local(alive(START))), 'healthy');
    expectVerdict(judge(r, local(dead)), 'stale', 'process-exited');
  });

  it('a seed-era Python record (no hostname, no interval, no start time) lives while its pid does', () => {
    const r = without(record({ last_heartbeat: '2020-01-01T00:00:00.000001' }), 'hostname', 'heartbeat_interval_ms', 'process_start_time', 'schema_version');
    expectVerdict(judge(r, local(alive(START))), 'healthy');
    expectVerdict(judge(r, local(dead)), 'stale', 'process-exited');
  });

  it('a hostname differing only in case is local: pid facts count', () => {
    expectVerdict(judge(record({ hostname: 'DEVBOX' }), local(dead)), 'stale', 'process-exited');
  });

  it('a heartbeat far in the future is unresponsive: clock-skew', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW + DEFAULT_STALENESS_POLICY.clockSkewToleranceMs + 1_000) });
    const verdict = judge(r, local(alive(START)));
    expectVerdict(verdict, 'unresponsive', 'clock-skew');
  });

  it('a heartbeat slightly in the future (within the skew tolerance) is healthy', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW + 5_000) });
    expectVerdict(judge(r, local(alive(START))), 'healthy');
  });

  it('without facts (probe gave none) a local record is judged by its heartbeat', () => {
    expectVerdict(judge(record(), local(undefined)), 'healthy');
    expectVerdict(judge(record({ last_heartbeat: formatTimestamp(NOW - 120_000) }), local(undefined)), 'unresponsive', 'heartbeat-missed');
  });

  it('a dead pid beats leaseBacked for a local record', () => {
    expectVerdict(judge(record(), local(dead, { leaseBacked: true })), 'stale', 'process-exited');
  });
});

describe('judge: start tokens (pid reuse immune to clock steps)', () => {
  const TOKEN = '6d1f0c52-9a3e-4c2b-8f1e-0123456789ab:123456';
  const withToken = (overrides: Partial<ServiceRecord> = {}) => record({ process_start_token: TOKEN, ...overrides });
  const aliveWith = (startToken: string | undefined, startTimeMs?: number): JudgeInput['process'] => ({
    alive: true,
    ...(startTimeMs !== undefined && { startTimeMs }),
    ...(startToken !== undefined && { startToken }),
  });
  const STEPS = [3_000, -3_000, 3_600_000, -86_400_000, 10 * 365 * 86_400_000];

  it.each(STEPS)('equal tokens are the same process, whatever the clock did (start time off by %i ms): healthy', (step) => {
    expectVerdict(judge(withToken(), local(aliveWith(TOKEN, START + step))), 'healthy');
  });

  it('equal tokens with no observed start time at all: healthy', () => {
    expectVerdict(judge(withToken(), local(aliveWith(TOKEN))), 'healthy');
  });

  it('equal tokens still leave missed heartbeats to make the process unresponsive, never stale', () => {
    const r = withToken({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL - 1) });
    expectVerdict(judge(r, local(aliveWith(TOKEN, START + 3_600_000))), 'unresponsive', 'heartbeat-missed');
  });

  it.each([
    ['another start tick', '6d1f0c52-9a3e-4c2b-8f1e-0123456789ab:123457'],
    ['another boot', 'ffffffff-9a3e-4c2b-8f1e-0123456789ab:123456'],
    ['any other string', 'x'],
  ])('different tokens are a reused pid even with an identical start time (%s): pid-reused', (_name, token) => {
    const verdict = judge(withToken(), local(aliveWith(token, START)));
    expectVerdict(verdict, 'stale', 'pid-reused');
    expect((verdict as { detail: string }).detail).toContain(token);
  });

  it('a dead pid is process-exited whatever the token', () => {
    expectVerdict(judge(withToken(), local(dead)), 'stale', 'process-exited');
  });

  it('a record without a token (Python, ps-list hosts, older writers): the start time decides, with its tolerance', () => {
    const tolerance = DEFAULT_STALENESS_POLICY.startTimeToleranceMs;
    expectVerdict(judge(record(), local(aliveWith(TOKEN, START + tolerance))), 'healthy');
    expectVerdict(judge(record(), local(aliveWith(TOKEN, START + tolerance + 1))), 'stale', 'pid-reused');
    expectVerdict(judge(record(), local(aliveWith('other', START))), 'healthy');
  });

  it('facts without a token (ps-list, no boot_id): the start time decides, with its tolerance', () => {
    const tolerance = DEFAULT_STALENESS_POLICY.startTimeToleranceMs;
    expectVerdict(judge(withToken(), local(aliveWith(undefined, START - tolerance))), 'healthy');
    expectVerdict(judge(withToken(), local(aliveWith(undefined, START - tolerance - 1))), 'stale', 'pid-reused');
  });

  it('neither a token nor a start time on one side: no reuse can be shown (a younger process is only pid-started-later)', () => {
    expectVerdict(judge(without(withToken(), 'process_start_time'), local(aliveWith(undefined, START - 86_400_000))), 'healthy');
    expectVerdict(judge(without(withToken(), 'process_start_time'), local(aliveWith(undefined, START + 86_400_000))), 'unresponsive', 'pid-started-later');
    expectVerdict(judge(withToken(), local(aliveWith(undefined))), 'healthy');
  });

  it('a token is matched exactly: no trimming, no case folding', () => {
    expectVerdict(judge(withToken(), local(aliveWith(`${TOKEN} `, START))), 'stale', 'pid-reused');
    expectVerdict(judge(withToken(), local(aliveWith(TOKEN.toUpperCase(), START))), 'stale', 'pid-reused');
  });

  it('remote records ignore tokens as they ignore pids', () => {
    expectVerdict(judge(withToken(), remote({ process: aliveWith('other', START) })), 'healthy');
  });
});

describe('judge: remote records', () => {
  it('ignores pid facts, even "dead" ones', () => {
    expectVerdict(judge(record(), remote({ process: dead })), 'healthy');
    expectVerdict(judge(record(), remote({ process: alive(START + 86_400_000) })), 'healthy');
  });

  it('is stale once past its TTL: heartbeat-expired', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL - 1) });
    expectVerdict(judge(r, remote()), 'stale', 'heartbeat-expired');
    expectVerdict(judge(r, remote({ process: alive(START) })), 'stale', 'heartbeat-expired');
  });

  it('is healthy within its TTL', () => {
    expectVerdict(judge(record({ last_heartbeat: formatTimestamp(NOW - 3 * INTERVAL) }), remote()), 'healthy');
    expectVerdict(judge(record({ last_heartbeat: formatTimestamp(NOW - 1) }), remote()), 'healthy');
  });

  it('without an interval cannot be verified: unresponsive unverifiable, never stale', () => {
    const r = without(record({ last_heartbeat: '2001-01-01T00:00:00+00:00' }), 'heartbeat_interval_ms');
    const verdict = judge(r, remote({ process: dead }));
    expectVerdict(verdict, 'unresponsive', 'unverifiable');
    expect((verdict as { detail: string }).detail).toContain(LOCAL);
  });

  it('lease-backed: healthy regardless of its heartbeat', () => {
    const ancient = record({ last_heartbeat: '2001-01-01T00:00:00+00:00' });
    expectVerdict(judge(ancient, remote({ leaseBacked: true })), 'healthy');
    expectVerdict(judge(without(ancient, 'heartbeat_interval_ms'), remote({ leaseBacked: true })), 'healthy');
    // ...but not of a heartbeat in the future (see staleness-trust.test.ts).
    expectVerdict(judge(record({ last_heartbeat: formatTimestamp(NOW + 3_600_000) }), remote({ leaseBacked: true })), 'unresponsive', 'clock-skew');
  });

  it('a heartbeat far in the future is unresponsive: clock-skew, not healthy and not stale', () => {
    const verdict = judge(record({ last_heartbeat: formatTimestamp(NOW + 3_600_000) }), remote());
    expectVerdict(verdict, 'unresponsive', 'clock-skew');
    expect((verdict as { detail: string }).detail).toContain('3600');
  });

  it('reads a naive remote heartbeat as local time of this machine', () => {
    const beat = new Date(NOW - 1_000);
    const naive = `${beat.getFullYear()}-${String(beat.getMonth() + 1).padStart(2, '0')}-${String(beat.getDate()).padStart(2, '0')}T${String(beat.getHours()).padStart(2, '0')}:${String(beat.getMinutes()).padStart(2, '0')}:${String(beat.getSeconds()).padStart(2, '0')}`;
    expectVerdict(judge(record({ last_heartbeat: naive }), remote()), 'healthy');
  });
});

describe('judge: custom policy', () => {
  it('uses missedBeats for the TTL', () => {
    const policy: StalenessPolicy = { ...DEFAULT_STALENESS_POLICY, missedBeats: 10 };
    const r = record({ last_heartbeat: formatTimestamp(NOW - 5 * INTERVAL) });
    expectVerdict(judge(r, remote()), 'stale', 'heartbeat-expired');
    expectVerdict(judge(r, remote(), policy), 'healthy');
    expectVerdict(judge(record({ last_heartbeat: formatTimestamp(NOW - 11 * INTERVAL) }), remote(), policy), 'stale', 'heartbeat-expired');
  });

  it('uses startTimeToleranceMs', () => {
    const strict: StalenessPolicy = { ...DEFAULT_STALENESS_POLICY, startTimeToleranceMs: 0 };
    const loose: StalenessPolicy = { ...DEFAULT_STALENESS_POLICY, startTimeToleranceMs: 60_000 };
    expectVerdict(judge(record(), local(alive(START + 1)), strict), 'stale', 'pid-reused');
    expectVerdict(judge(record(), local(alive(START + 30_000)), loose), 'healthy');
    expectVerdict(judge(record(), local(alive(START + 30_000))), 'stale', 'pid-reused');
  });

  it('uses clockSkewToleranceMs', () => {
    const r = record({ last_heartbeat: formatTimestamp(NOW + 30_000) });
    expectVerdict(judge(r, remote()), 'healthy');
    expectVerdict(judge(r, remote(), { ...DEFAULT_STALENESS_POLICY, clockSkewToleranceMs: 10_000 }), 'unresponsive', 'clock-skew');
  });

  it('is pure: same inputs, same verdict, no mutation', () => {
    const r = record();
    const input = local(alive(START));
    const copy = structuredClone(r);
    expect(judge(r, input)).toEqual(judge(r, input));
    expect(r).toEqual(copy);
  });
});
