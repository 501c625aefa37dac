import { describe, expect, it } from 'vitest';
import { byStartedAt, compareInstanceIds, matchesFilters, sortByStartedAt, startedAtMs } from '../../src/domain/filters.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { fixedRecord } from '../support/records.js';

function rec(overrides: Partial<ServiceRecord> & Record<string, unknown> = {}): ServiceRecord {
  return fixedRecord({ hostname: 'devbox', capabilities: ['board', 'agents'], ...overrides });
}

describe('matchesFilters', () => {
  it('matches everything with no filters', () => {
    expect(matchesFilters(rec())).toBe(true);
    expect(matchesFilters(rec(), {})).toBe(true);
    expect(matchesFilters(rec({ project_name: null, provider: null, capabilities: undefined }), {})).toBe(true);
  });

  it('filters by provider, exactly', () => {
    expect(matchesFilters(rec(), { provider: 'github' })).toBe(true);
    expect(matchesFilters(rec(), { provider: 'planka' })).toBe(false);
    expect(matchesFilters(rec(), { provider: 'GitHub' })).toBe(false);
    expect(matchesFilters(rec({ provider: null }), { provider: 'github' })).toBe(false);
  });

  it('filters by project', () => {
    expect(matchesFilters(rec(), { project: 'demo' })).toBe(true);
    expect(matchesFilters(rec(), { project: 'other' })).toBe(false);
    expect(matchesFilters(rec({ project_name: null }), { project: 'demo' })).toBe(false);
  });

  it('filters by capability membership', () => {
    expect(matchesFilters(rec(), { capability: 'agents' })).toBe(true);
    expect(matchesFilters(rec(), { capability: 'board' })).toBe(true);
    expect(matchesFilters(rec(), { capability: 'boar' })).toBe(false);
    expect(matchesFilters(rec({ capabilities: undefined }), { capability: 'board' })).toBe(false);
    expect(matchesFilters(rec({ capabilities: [] }), { capability: 'board' })).toBe(false);
  });

  it('filters by status', () => {
    expect(matchesFilters(rec(), { status: 'running' })).toBe(true);
    expect(matchesFilters(rec({ status: 'stopping' }), { status: 'running' })).toBe(false);
  });

  it('filters by hostname, case-insensitively', () => {
    expect(matchesFilters(rec(), { hostname: 'devbox' })).toBe(true);
    expect(matchesFilters(rec(), { hostname: 'DEVBOX' })).toBe(true);
    expect(matchesFilters(rec({ hostname: 'DevBox' }), { hostname: 'devbox' })).toBe(true);
    expect(matchesFilters(rec(), { hostname: 'otherbox' })).toBe(false);
    expect(matchesFilters(rec({ hostname: undefined }), { hostname: 'devbox' })).toBe(false);
  });

  it('requires every given filter to match', () => {
    const all = { provider: 'github', project: 'demo', capability: 'board', status: 'running', hostname: 'devbox' };
    expect(matchesFilters(rec(), all)).toBe(true);
    for (const key of Object.keys(all) as (keyof typeof all)[]) {
      expect(matchesFilters(rec(), { ...all, [key]: 'nope' })).toBe(false);
    }
  });
});

describe('startedAtMs', () => {
  it('parses aware and naive timestamps', () => {
    expect(startedAtMs(rec({ started_at: '2026-11-21T12:00:00.5+00:00' }))).toBe(Date.UTC(2026, 10, 21, 12, 0, 0, 500));
    expect(startedAtMs(rec({ started_at: '2026-11-21T12:00:00' }))).toBe(new Date(2026, 10, 21, 12, 0, 0).getTime());
  });
});

describe('byStartedAt', () => {
  it('sorts oldest first', () => {
    const list = [
      rec({ instance_id: 'c', started_at: '2026-11-21T12:00:03+00:00' }),
      rec({ instance_id: 'a', started_at: '2026-11-21T12:00:01+00:00' }),
      rec({ instance_id: 'b', started_at: '2026-11-21T12:00:02+00:00' }),
    ];
    expect([...list].sort(byStartedAt).map((r) => r.instance_id)).toEqual(['a', 'b', 'c']);
  });

  it('sorts by instant with naive (local) and aware timestamps mixed', () => {
    const local = (ms: number) => {
      const d = new Date(ms);
      const pad = (n: number, w = 2) => String(n).padStart(w, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
    };
    const t = Date.UTC(2026, 10, 21, 12, 0, 0);
    const list = [
      rec({ instance_id: 'naive-3', started_at: local(t + 3_000) }),
      rec({ instance_id: 'z-1', started_at: '2026-11-21T12:00:01Z' }),
      rec({ instance_id: 'offset-2', started_at: '2026-11-21T17:30:02+05:30' }),
      rec({ instance_id: 'naive-0', started_at: local(t) }),
      rec({ instance_id: 'west-4', started_at: '2026-11-21T04:00:04-08:00' }),
    ];
    expect([...list].sort(byStartedAt).map((r) => r.instance_id)).toEqual(['naive-0', 'z-1', 'offset-2', 'naive-3', 'west-4']);
  });

  it('breaks ties by instance_id', () => {
    const list = [
      rec({ instance_id: 'marcus_b', started_at: '2026-11-21T12:00:00Z' }),
      rec({ instance_id: 'marcus_a', started_at: '2026-11-21T12:00:00.000000+00:00' }),
    ];
    expect([...list].sort(byStartedAt).map((r) => r.instance_id)).toEqual(['marcus_a', 'marcus_b']);
  });

  it('orders records within one millisecond by their microseconds, as Python compares the strings', () => {
    for (const [early, late] of [
      ['marcus_a', 'marcus_b'],
      ['marcus_b', 'marcus_a'],
    ]) {
      const list = [
        rec({ instance_id: late, started_at: '2026-11-21T12:00:00.123400+00:00' }),
        rec({ instance_id: early, started_at: '2026-11-21T12:00:00.123100+00:00' }),
      ];
      expect([...list].sort(byStartedAt).map((r) => r.instance_id)).toEqual([early, late]);
      expect(sortByStartedAt([...list], (r) => r).map((r) => r.instance_id)).toEqual([early, late]);
    }
    // Nanoseconds too, and a millisecond still outweighs any fraction below it.
    const fine = [
      rec({ instance_id: 'c', started_at: '2026-11-21T12:00:00.124+00:00' }),
      rec({ instance_id: 'b', started_at: '2026-11-21T12:00:00.123999999Z' }),
      rec({ instance_id: 'a', started_at: '2026-11-21T12:00:00.123999998Z' }),
    ];
    expect(sortByStartedAt([...fine], (r) => r).map((r) => r.instance_id)).toEqual(['a', 'b', 'c']);
  });

  it('compareInstanceIds orders by code unit and is 0 for equal ids', () => {
    expect(compareInstanceIds(rec({ instance_id: 'a' }), rec({ instance_id: 'b' }))).toBeLessThan(0);
    expect(compareInstanceIds(rec({ instance_id: 'b' }), rec({ instance_id: 'a' }))).toBeGreaterThan(0);
    expect(compareInstanceIds(rec({ instance_id: 'B' }), rec({ instance_id: 'a' }))).toBeLessThan(0);
    expect(compareInstanceIds(rec({ instance_id: 'a' }), rec({ instance_id: 'a' }))).toBe(0);
  });
});
