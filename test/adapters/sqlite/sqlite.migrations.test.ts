import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  REGISTRY_APPLICATION_ID,
  migrate,
  type Migration,
} from '../../../src/adapters/sqlite/sqlite.migrations.js';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { RegistryError } from '../../../src/domain/errors.js';
import { makeRecord } from '../../support/records.js';
import { sha256 } from './sqlite.fixtures.js';

describe('sqlite store: schema marker and forward migrations', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-migrate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function inspect(path: string) {
    const db = new Database(path, { readonly: true });
    try {
      return {
        applicationId: db.pragma('application_id', { simple: true }),
        userVersion: db.pragma('user_version', { simple: true }),
        journalMode: db.pragma('journal_mode', { simple: true }),
        tables: db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all(),
      };
    } finally {
      db.close();
    }
  }

  it('a new registry records its marker and schema version, in WAL mode', async () => {
    const path = join(dir, 'registry.db');
    await (await openSqliteStore({ path })).close();
    expect(inspect(path)).toEqual({
      applicationId: REGISTRY_APPLICATION_ID,
      userVersion: LATEST_SCHEMA_VERSION,
      journalMode: 'wal',
      tables: ['departures', 'services', 'write_clock'],
    });
  });

  it('re-opening an up-to-date registry changes nothing', async () => {
    const path = join(dir, 'registry.db');
    const store = await openSqliteStore({ path });
    await store.put(makeRecord({ instance_id: 'marcus_1' }));
    await store.close();
    const before = sha256(path);
    for (let i = 0; i < 3; i++) await (await openSqliteStore({ path })).close();
    expect(sha256(path)).toBe(before);
    expect(inspect(path).userVersion).toBe(LATEST_SCHEMA_VERSION);
  });

  it('an empty (0-byte) file is initialised as a new registry', async () => {
    const path = join(dir, 'empty.db');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, ''));
    const store = await openSqliteStore({ path });
    await store.put(makeRecord({ instance_id: 'marcus_1' }));
    await store.close();
    expect(inspect(path).applicationId).toBe(REGISTRY_APPLICATION_ID);
  });

  describe('the migration runner, on a real database', () => {
    // Migrations after the real ones (LATEST + 1, + 2): what a later release would append.
    const v2: Migration = {
      version: LATEST_SCHEMA_VERSION + 1,
      description: 'a later column',
      sql: "ALTER TABLE services ADD COLUMN region TEXT; CREATE INDEX services_region ON services (region);",
    };
    const broken: Migration = {
      version: LATEST_SCHEMA_VERSION + 2,
      description: 'fails half way',
      sql: 'CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);',
    };

    it('brings an older registry forward, applying only the newer migrations, keeping its rows', async () => {
      const path = join(dir, 'old.db');
      const store = await openSqliteStore({ path }); // at version 1
      await store.put(makeRecord({ instance_id: 'marcus_old' }));
      await store.close();

      const db = new Database(path);
      try {
        expect(migrate(db, path, [...MIGRATIONS, v2])).toEqual({ from: LATEST_SCHEMA_VERSION, to: v2.version });
        expect(db.pragma('user_version', { simple: true })).toBe(v2.version);
        expect(db.prepare("SELECT count(*) FROM pragma_table_info('services') WHERE name = 'region'").pluck().get()).toBe(1);
        expect(db.prepare('SELECT instance_id FROM services').pluck().all()).toEqual(['marcus_old']);
        expect(migrate(db, path, [...MIGRATIONS, v2])).toEqual({ from: v2.version, to: v2.version });
      } finally {
        db.close();
      }
    });

    it('a migration that fails rolls back entirely: version and schema as before', async () => {
      const path = join(dir, 'rollback.db');
      await (await openSqliteStore({ path })).close();
      const db = new Database(path);
      try {
        expect(() => migrate(db, path, [...MIGRATIONS, v2, broken])).toThrow(/no such table/);
        expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
        const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
        expect(tables).not.toContain('half_done');
        expect(db.prepare("SELECT count(*) FROM pragma_table_info('services') WHERE name = 'region'").pluck().get()).toBe(0);
      } finally {
        db.close();
      }
    });

    it('the store refuses a registry newer than its migrations (UNSUPPORTED_SCHEMA_VERSION), leaving it at its version', async () => {
      const path = join(dir, 'newer.db');
      await (await openSqliteStore({ path })).close();
      const db = new Database(path);
      migrate(db, path, [...MIGRATIONS, v2]);
      db.close();
      const before = sha256(path);
      const error = await openSqliteStore({ path }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe('UNSUPPORTED_SCHEMA_VERSION');
      expect(sha256(path)).toBe(before);
      expect(inspect(path).userVersion).toBe(v2.version);
    });
  });
});
