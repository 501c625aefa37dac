import { describe, expect, it } from 'vitest';
import { diffSnapshots, reasonForVanished, type RegistrySnapshot, type SnapshotEntry } from '../../src/domain/changes.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { makeRecord } from '../support/records.js';

const HOST = 'here';
const NOW = Date.parse('2026-11-21T12:00:00Z');

function entry(id: string, overrides: Partial<Omit<SnapshotEntry, 'record'>> & { record?: Partial<ServiceRecord> } = {}): SnapshotEntry {
  return {
    version: overrides.version ?? '1',
    health: overrides.health ?? 'healthy',
    record: makeRecord({ instance_id: id, hostname: HOST, ...overrides.record }),
  };
}

function snapshot(...entries: SnapshotEntry[]): RegistrySnapshot {
  return new Map(entries.map((e) => [e.record.instance_id, e]));
}

const unregistered = () => 'unregistered' as const;
const summary = (events: ReturnType<typeof diffSnapshots>) =>
  events.map((e) => (e.type === 'removed' ? `-${e.record.instance_id}:${e.reason}` : `${e.type === 'added' ? '+' : '~'}${e.record.instance_id}:${e.health}`));

describe('diffSnapshots', () => {
  it('reports nothing between equal snapshots', () => {
    const s = snapshot(entry('marcus_a'), entry('marcus_b'));
    expect(diffSnapshots(s, snapshot(entry('marcus_a'), entry('marcus_b')), unregistered)).toEqual([]);
  });

  it('reports every entry of a first snapshot as added, oldest started_at first', () => {
    const next = snapshot(
      entry('marcus_new', { record: { started_at: '2026-11-21T11:00:00.000000+00:00' } }),
      entry('marcus_old', { record: { started_at: '2026-11-20T11:00:00.000000+00:00' }, health: 'unresponsive' }),
    );
    expect(summary(diffSnapshots(new Map(), next, unregistered))).toEqual(['+marcus_old:unresponsive', '+marcus_new:healthy']);
  });

  it('reports a new version or a health change as updated, carrying the new record', () => {
    const previous = snapshot(entry('marcus_v'), entry('marcus_h'), entry('marcus_same'));
    const next = snapshot(
      entry('marcus_v', { version: '2', record: { status: 'busy' } }),
      entry('marcus_h', { health: 'unresponsive' }),
      entry('marcus_same'),
    );
    const events = diffSnapshots(previous, next, unregistered);
    expect(summary(events).sort()).toEqual(['~marcus_h:unresponsive', '~marcus_v:healthy']);
    expect(events.find((e) => e.record.instance_id === 'marcus_v')?.record.status).toBe('busy');
  });

  it('reports a missing entry as removed with the reason given for it, and its last record', () => {
    const previous = snapshot(entry('marcus_x', { record: { status: 'last' } }), entry('marcus_y'));
    const reasons = { marcus_x: 'process-exited', marcus_y: 'lease-expired' } as const;
    const events = diffSnapshots(previous, new Map(), (id) => reasons[id as keyof typeof reasons]);
    expect(summary(events)).toEqual(['-marcus_x:process-exited', '-marcus_y:lease-expired']);
    expect(events[0]?.record.status).toBe('last');
  });

  it('puts removals before additions and updates', () => {
    const previous = snapshot(entry('marcus_b'), entry('marcus_c'));
    const next = snapshot(entry('marcus_a'), entry('marcus_c', { version: '9' }));
    expect(summary(diffSnapshots(previous, next, unregistered))).toEqual(['-marcus_b:unregistered', '+marcus_a:healthy', '~marcus_c:healthy']);
  });

  it('sees only what matches the filters: an entry that stops matching is removed, one that starts matching is added', () => {
    const filters = { project: 'alpha' };
    const previous = snapshot(
      entry('marcus_leaves', { record: { project_name: 'alpha' } }),
      entry('marcus_joins', { record: { project_name: 'beta' } }),
      entry('marcus_other', { record: { project_name: 'beta' } }),
    );
    const next = snapshot(
      entry('marcus_leaves', { version: '2', record: { project_name: 'beta' } }),
      entry('marcus_joins', { version: '2', record: { project_name: 'alpha' } }),
      entry('marcus_other', { version: '2', record: { project_name: 'beta' } }),
    );
    expect(summary(diffSnapshots(previous, next, unregistered, filters))).toEqual(['-marcus_leaves:unregistered', '+marcus_joins:healthy']);
    // An entry outside the filters that vanishes is not reported at all.
    expect(diffSnapshots(snapshot(entry('marcus_other', { record: { project_name: 'beta' } })), new Map(), unregistered, filters)).toEqual([]);
  });
});

describe('reasonForVanished', () => {
  const beatAgo = (ms: number) => formatTimestamp(NOW - ms);
  const input = { now: NOW, localHostname: HOST };

  it('blames a local process that is gone, or whose pid was reused, whoever removed the entry', () => {
    const record = makeRecord({ hostname: HOST, process_start_time: formatTimestamp(NOW - 60_000) });
    expect(reasonForVanished(record, { ...input, process: { alive: false } })).toBe('process-exited');
    expect(reasonForVanished(record, { ...input, process: { alive: true, startTimeMs: NOW - 5_000 } })).toBe('pid-reused');
    expect(reasonForVanished(record, { ...input, process: { alive: false }, leaseBacked: true })).toBe('process-exited');
  });

  it('calls an entry whose local process still runs unregistered', () => {
    const record = makeRecord({ hostname: HOST });
    expect(reasonForVanished(record, { ...input, process: { alive: true } })).toBe('unregistered');
  });

  it('on a lease-backed store, tells a lease that ran out from an unregister by the age of the last beat', () => {
    const remote = (ms: number) => makeRecord({ hostname: 'elsewhere', heartbeat_interval_ms: 1_000, last_heartbeat: beatAgo(ms) });
    expect(reasonForVanished(remote(300), { ...input, leaseBacked: true })).toBe('unregistered');
    expect(reasonForVanished(remote(2_500), { ...input, leaseBacked: true })).toBe('lease-expired');
    // Past the heartbeat TTL (3 beats) it is expired too, never "heartbeat-expired", on a lease-backed store.
    expect(reasonForVanished(remote(10_000), { ...input, leaseBacked: true })).toBe('lease-expired');
    // A local process that stopped beating but still runs (hung, SIGSTOPped) lost its lease.
    const hung = makeRecord({ hostname: HOST, heartbeat_interval_ms: 1_000, last_heartbeat: beatAgo(2_500) });
    expect(reasonForVanished(hung, { ...input, process: { alive: true }, leaseBacked: true })).toBe('lease-expired');
  });

  it('counts a heartbeat the watcher saw itself, whatever the record\u2019s clock says', () => {
    const skewed = makeRecord({ hostname: 'elsewhere', heartbeat_interval_ms: 1_000, last_heartbeat: beatAgo(2_500) });
    expect(reasonForVanished(skewed, { ...input, leaseBacked: true, lastChangeSeenAt: NOW - 200 })).toBe('unregistered');
  });

  it('cannot tell an expiry of an entry that declares no heartbeat interval: unregistered', () => {
    const silent = makeRecord({ hostname: 'elsewhere', last_heartbeat: beatAgo(60_000) });
    delete (silent as { heartbeat_interval_ms?: number }).heartbeat_interval_ms;
    expect(reasonForVanished(silent, { ...input, leaseBacked: true })).toBe('unregistered');
  });

  it('on a store without leases, a remote entry past its heartbeat TTL is heartbeat-expired', () => {
    // (started before NOW: a started_at in the future would be clock-skew, see staleness-trust.test.ts)
    const remote = makeRecord({ hostname: 'elsewhere', heartbeat_interval_ms: 1_000, last_heartbeat: beatAgo(10_000), started_at: beatAgo(60_000) });
    expect(reasonForVanished(remote, input)).toBe('heartbeat-expired');
    expect(reasonForVanished({ ...remote, last_heartbeat: beatAgo(100) }, input)).toBe('unregistered');
  });
});
