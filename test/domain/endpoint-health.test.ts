import { describe, expect, it } from 'vitest';
import { withEndpointHealth } from '../../src/domain/endpoint-health.js';
import { rankByPreference, type Candidate } from '../../src/domain/preference.js';
import type { Verdict } from '../../src/domain/staleness.js';
import { fixedRecord } from '../support/records.js';

const healthy: Verdict = { health: 'healthy' };
const missed: Verdict = { health: 'unresponsive', reason: 'heartbeat-missed', detail: 'no heartbeat for 40 s' };
const stale: Verdict = { health: 'stale', reason: 'process-exited', detail: 'pid 1 is gone' };

describe('withEndpointHealth (endpoint probes, ADR 0023)', () => {
  it('K failures in a row make a live instance unresponsive (endpoint-down); fewer, none or no fact leave the verdict as it is', () => {
    expect(withEndpointHealth(healthy, { consecutiveFailures: 3, lastError: 'no answer within 500 ms' }, 3)).toEqual({
      health: 'unresponsive',
      reason: 'endpoint-down',
      detail: 'its MCP endpoint failed 3 probes in a row: no answer within 500 ms',
    });
    expect(withEndpointHealth(missed, { consecutiveFailures: 5 }, 3)).toMatchObject({ health: 'unresponsive', reason: 'endpoint-down' });
    expect(withEndpointHealth(healthy, { consecutiveFailures: 2, lastError: 'ECONNREFUSED' }, 3)).toBe(healthy);
    expect(withEndpointHealth(healthy, { consecutiveFailures: 0 }, 1)).toBe(healthy);
    expect(withEndpointHealth(missed, undefined, 1)).toBe(missed);
  });

  it('never turns a verdict into stale, and never revives a stale one: an instance is not removed for its endpoint', () => {
    expect(withEndpointHealth(stale, { consecutiveFailures: 0 }, 1)).toBe(stale);
    expect(withEndpointHealth(stale, { consecutiveFailures: 9 }, 1)).toBe(stale);
  });

  it('a threshold below 1 counts as 1', () => {
    expect(withEndpointHealth(healthy, { consecutiveFailures: 1 }, 0)).toMatchObject({ reason: 'endpoint-down' });
  });
});

describe('preference with endpoint health', () => {
  const cand = (id: string, health: Candidate['health'], reason?: string, startedAt = '2026-11-21T12:00:00.000000+00:00'): Candidate => ({
    record: fixedRecord({ instance_id: id, started_at: startedAt }),
    health,
    ...(reason !== undefined && { reason }),
  });

  it('an endpoint-down instance ranks last, after other unresponsive ones, however new; a pin still wins', () => {
    const down = cand('down', 'unresponsive', 'endpoint-down', '2026-11-21T13:00:00.000000+00:00');
    const missed = cand('missed', 'unresponsive', 'heartbeat-missed');
    const ok = cand('ok', 'healthy');
    expect(rankByPreference([down, missed, ok]).map((c) => c.record.instance_id)).toEqual(['ok', 'missed', 'down']);
    expect(rankByPreference([ok, missed, down], { pin: 'down' }).map((c) => c.record.instance_id)).toEqual(['down', 'ok', 'missed']);
  });
});
