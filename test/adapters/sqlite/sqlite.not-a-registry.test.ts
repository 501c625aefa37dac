import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from '../../../src/adapters/sqlite/sqlite.migrations.js';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { RegistryError } from '../../../src/domain/errors.js';
import { makeRecord } from '../../support/records.js';
import { sha256 } from './sqlite.fixtures.js';

describe('sqlite store: a file that is not a registry is refused and never touched', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-foreign-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Opens `path` as a registry, expects `code`, and checks the bytes and the directory are as they were. */
  async function expectRefused(path: string, code: string, reason?: RegExp): Promise<RegistryError> {
    const before = sha256(path);
    const siblings = readdirSync(dir).sort();
    for (const readonly of [false, true]) {
      const error = await openSqliteStore({ path, readonly }).then(
        async (store) => {
          await store.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, `readonly=${readonly}`).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe(code);
      if (reason) expect((error as RegistryError).message).toMatch(reason);
      expect(sha256(path)).toBe(before);
      expect(readdirSync(dir).sort(), 'no -wal/-shm/-journal left beside it').toEqual(siblings);
    }
    return (await openSqliteStore({ path }).catch((e: unknown) => e)) as RegistryError;
  }

  function foreignDatabase(path: string, setup: (db: Database.Database) => void): void {
    const db = new Database(path);
    setup(db);
    db.close();
  }

  async function registryWith(path: string, count: number): Promise<void> {
    const store = await openSqliteStore({ path });
    for (let i = 0; i < count; i++) {
      await store.put(makeRecord({ instance_id: `marcus_${i}`, pid: 1000 + i, padding: 'x'.repeat(2000) }));
    }
    await store.close();
  }

  it('a text file', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'These are my notes. Please do not overwrite them.\n'.repeat(20));
    await expectRefused(path, 'NOT_A_REGISTRY', /header is not "SQLite format 3"/);
  });

  it('a short text file', async () => {
    const path = join(dir, 'short.txt');
    writeFileSync(path, 'hello\n');
    await expectRefused(path, 'NOT_A_REGISTRY', /too short/);
  });

  it('random bytes', async () => {
    const path = join(dir, 'random.bin');
    writeFileSync(path, randomBytes(8192));
    await expectRefused(path, 'NOT_A_REGISTRY');
  });

  it('random bytes behind a valid SQLite magic string', async () => {
    const path = join(dir, 'fake.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), randomBytes(8176)]));
    await expectRefused(path, 'NOT_A_REGISTRY');
  });

  it("another application's SQLite database with tables", async () => {
    const path = join(dir, 'app.db');
    foreignDatabase(path, (db) => {
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (\'keep me\')');
    });
    const error = await expectRefused(path, 'NOT_A_REGISTRY', /no marcus-registry marker/);
    expect(error.details['reason']).toMatch(/schema object/);
  });

  it("another application's SQLite database in WAL mode", async () => {
    const path = join(dir, 'wal-app.db');
    foreignDatabase(path, (db) => {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    });
    await expectRefused(path, 'NOT_A_REGISTRY', /no marcus-registry marker/);
  });

  it('an SQLite database carrying another application_id, even with no tables', async () => {
    const path = join(dir, 'other-id.db');
    foreignDatabase(path, (db) => db.pragma('application_id = 305419896'));
    await expectRefused(path, 'NOT_A_REGISTRY', /another application \(application_id 0x12345678\)/);
  });

  it('a registry truncated to part of its pages', async () => {
    const path = join(dir, 'truncated.db');
    await registryWith(path, 30);
    truncateSync(path, 4096 * 3);
    await expectRefused(path, 'NOT_A_REGISTRY', /corrupt/);
  });

  it('a registry truncated inside its header', async () => {
    const path = join(dir, 'torn.db');
    await registryWith(path, 1);
    truncateSync(path, 64);
    await expectRefused(path, 'NOT_A_REGISTRY', /too short/);
  });

  it('a registry written by a newer schema version', async () => {
    const path = join(dir, 'newer.db');
    await registryWith(path, 2);
    foreignDatabase(path, (db) => db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`));
    const error = await expectRefused(path, 'UNSUPPORTED_SCHEMA_VERSION', /newer than this marcus-registry/);
    expect(error.details).toMatchObject({ found: LATEST_SCHEMA_VERSION + 1, known: LATEST_SCHEMA_VERSION });
  });

  it('a directory where the database file should be', async () => {
    const path = join(dir, 'a-directory.db');
    mkdirSync(path);
    const error = await openSqliteStore({ path }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('NOT_A_REGISTRY');
    expect(existsSync(join(path, 'registry.db'))).toBe(false);
  });
});
