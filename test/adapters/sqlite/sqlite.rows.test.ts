import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { RegistryError } from '../../../src/domain/errors.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { parseTimestamp } from '../../../src/domain/timestamp.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { makeRecord } from '../../support/records.js';

describe('sqlite store: rows, bad rows, and locks held by other connections', () => {
  let dir: string;
  let path: string;
  let store: RegistryStore;
  let raw: Database.Database;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-rows-'));
    path = join(dir, 'registry.db');
    store = await openSqliteStore({ path, busyTimeoutMs: 50 });
    raw = new Database(path); // another connection, as another process would have
  });
  afterEach(async () => {
    raw.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the exact record JSON (unknown keys included) and fills the indexed columns', async () => {
    const record = makeRecord({
      instance_id: 'marcus_cols',
      project_name: null,
      python_version: '3.11.7',
      extra: { nested: [1, 'two', null] },
    });
    const put = await store.put(record);
    const row = raw.prepare('SELECT * FROM services WHERE instance_id = ?').get('marcus_cols') as Record<string, unknown>;
    expect(row).toMatchObject({
      pid: record.pid,
      hostname: record.hostname,
      project_name: null,
      provider: record.provider,
      status: record.status,
      started_at_ms: parseTimestamp(record.started_at),
      last_heartbeat_ms: parseTimestamp(record.last_heartbeat),
      version: Number(put.version),
      record: encodeRecord(record),
    });
    expect(JSON.parse(row['record'] as string)).toEqual(record);
  });

  it('lists rows in started_at order', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_late', started_at: '2026-11-21T06:00:00.000000+00:00' }));
    await store.put(makeRecord({ instance_id: 'marcus_early', started_at: '2026-11-21T05:00:00.000000+00:00' }));
    await store.put(makeRecord({ instance_id: 'marcus_mid', started_at: '2026-11-21T06:00:00+01:00' }));
    expect((await store.list()).entries.map((e) => e.record.instance_id)).toEqual(['marcus_early', 'marcus_mid', 'marcus_late']);
  });

  it('skips a row whose JSON is corrupt, invalid, or names another instance, reports it, and leaves it alone', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_good' }));
    for (const id of ['marcus_torn', 'marcus_invalid', 'marcus_swapped']) await store.put(makeRecord({ instance_id: id }));
    const corrupt = raw.prepare('UPDATE services SET record = ? WHERE instance_id = ?');
    corrupt.run('{"instance_id": "marcus_torn", "pid": 12', 'marcus_torn');
    corrupt.run(JSON.stringify({ ...makeRecord({ instance_id: 'marcus_invalid' }), pid: -4 }), 'marcus_invalid');
    corrupt.run(encodeRecord(makeRecord({ instance_id: 'marcus_good' })), 'marcus_swapped');
    const before = raw.prepare('SELECT instance_id, version, record FROM services ORDER BY instance_id').all();

    const { entries, problems } = await store.list();
    expect(entries.map((e) => e.record.instance_id)).toEqual(['marcus_good']);
    expect(problems.map((p) => [p.entry, p.code, p.action]).sort()).toEqual([
      ['marcus_invalid', 'INVALID_RECORD', 'skipped'],
      ['marcus_swapped', 'INVALID_RECORD', 'skipped'],
      ['marcus_torn', 'INVALID_RECORD', 'skipped'],
    ]);
    expect(raw.prepare('SELECT instance_id, version, record FROM services ORDER BY instance_id').all()).toEqual(before);

    // Unusable rows read as absent (list() reports them) and cannot be updated.
    expect(await store.get('marcus_torn')).toBeUndefined();
    const error = await store.update('marcus_torn', (r) => r).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('INVALID_RECORD');
    // A bad row can still be removed by its id.
    expect(await store.delete('marcus_torn')).toBe(true);
  });

  it('a write lock held past busy_timeout → retryable STORE_UNAVAILABLE, never a raw SqliteError; compare-and-delete says busy', async () => {
    const put = await store.put(makeRecord({ instance_id: 'marcus_locked' }));
    raw.exec('BEGIN IMMEDIATE');
    try {
      for (const attempt of [
        () => store.put(makeRecord({ instance_id: 'marcus_other' })),
        () => store.update('marcus_locked', (r) => ({ ...r, status: 'busy' })),
        () => store.delete('marcus_locked'),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RegistryError);
        expect((error as RegistryError).code).toBe('STORE_UNAVAILABLE');
        expect((error as RegistryError).retryable).toBe(true);
        expect(((error as Error).cause as { code: string }).code).toMatch(/^SQLITE_BUSY/);
      }
      expect(await store.deleteIfUnchanged('marcus_locked', put.version)).toBe('busy');
      // WAL: readers are not blocked by the writer.
      expect((await store.list()).entries).toHaveLength(1);
    } finally {
      raw.exec('ROLLBACK');
    }
    expect(await store.deleteIfUnchanged('marcus_locked', put.version)).toBe('deleted');
  });

  it('an update whose mutate function throws rolls back and rethrows that very error', async () => {
    const put = await store.put(makeRecord({ instance_id: 'marcus_throw' }));
    const boom = new Error('boom');
    await expect(
      store.update('marcus_throw', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await store.get('marcus_throw'))?.version).toBe(put.version);
  });
});
