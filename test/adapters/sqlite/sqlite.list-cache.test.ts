import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { makeRecord } from '../../support/records.js';

/** list() reads only rows whose version is new to it; the rest come from its cache (docs/benchmarks.md). */
describe('sqlite store: listing reuses records of unchanged rows', () => {
  let dir: string;
  let path: string;
  let store: RegistryStore;
  let other: RegistryStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-cache-'));
    path = join(dir, 'registry.db');
    store = await openSqliteStore({ path });
    other = await openSqliteStore({ path }); // another process's connection
  });
  afterEach(async () => {
    await other.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const statusOf = async (id: string) => (await store.list()).entries.find((e) => e.record.instance_id === id)?.record.status;

  it('sees rows added, changed and removed by another connection', async () => {
    await other.put(makeRecord({ instance_id: 'marcus_a' }));
    await other.put(makeRecord({ instance_id: 'marcus_b' }));
    expect((await store.list()).entries.map((e) => e.record.instance_id).sort()).toEqual(['marcus_a', 'marcus_b']);
    await other.update('marcus_a', (r) => ({ ...r, status: 'draining' }));
    await other.delete('marcus_b');
    await other.put(makeRecord({ instance_id: 'marcus_c' }));
    const { entries } = await store.list();
    expect(entries.map((e) => [e.record.instance_id, e.record.status]).sort()).toEqual([
      ['marcus_a', 'draining'],
      ['marcus_c', 'running'],
    ]);
  });

  it('hands out the same frozen record for an unchanged row, and a new one once it changes', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_a', capabilities: ['x'] }));
    const [first] = (await store.list()).entries;
    const [again] = (await store.list()).entries;
    expect(again?.record).toBe(first?.record);
    expect(Object.isFrozen(first?.record)).toBe(true);
    expect(Object.isFrozen(first?.record.capabilities)).toBe(true);
    expect(() => {
      (first?.record as { status: string }).status = 'changed';
    }).toThrow(TypeError);
    await other.update('marcus_a', (r) => ({ ...r, status: 'busy' }));
    expect(await statusOf('marcus_a')).toBe('busy');
  });

  it('reads everything again when a row carries an older version than it has listed (a file restored from a copy)', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_a' }));
    await store.put(makeRecord({ instance_id: 'marcus_b' }));
    expect(await statusOf('marcus_a')).toBe('running');
    const raw = new Database(path);
    try {
      raw.prepare('UPDATE services SET version = 0, record = ? WHERE instance_id = ?').run(encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'restored' })), 'marcus_a');
    } finally {
      raw.close();
    }
    expect(await statusOf('marcus_a')).toBe('restored');
  });

  it('keeps reporting a bad row while it is unchanged', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_a' }));
    await store.put(makeRecord({ instance_id: 'marcus_bad' }));
    const raw = new Database(path);
    try {
      const clock = raw.prepare('UPDATE write_clock SET version = version + 1 WHERE id = 1 RETURNING version').pluck().get() as number;
      raw.prepare('UPDATE services SET version = ?, record = ? WHERE instance_id = ?').run(clock, '{"torn', 'marcus_bad');
    } finally {
      raw.close();
    }
    for (let i = 0; i < 2; i++) {
      const { entries, problems } = await store.list();
      expect(entries.map((e) => e.record.instance_id)).toEqual(['marcus_a']);
      expect(problems.map((p) => [p.entry, p.code])).toEqual([['marcus_bad', 'INVALID_RECORD']]);
    }
  });
});
