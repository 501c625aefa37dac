import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { inspectSchema, LATEST_SCHEMA_VERSION, migrate } from '../../../src/adapters/sqlite/sqlite.migrations.js';
import type { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite.driver.js';
import { tempRegistryDir } from '../../support/processes.js';

/**
 * Found by the 16-process race test (CI, 2026-12-07): a process identifying a
 * new database read its marker (PRAGMA application_id: none yet) and its
 * schema (SELECT count(*) FROM sqlite_schema: all twelve objects) in separate
 * statements, and another process's migration committed in between: a
 * registry being created was refused as NOT_A_REGISTRY. What inspectSchema
 * reads must come from one snapshot of the database.
 */
describe('sqlite store: identifying a database another process is migrating', () => {
  it('sees the database before or after a migration that commits while it reads, never half of each', async () => {
    await using tmp = await tempRegistryDir();
    const path = join(tmp.dir, 'registry.db');
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    const reader = new Database(path, { readonly: true });
    try {
      // The other process's migration commits right after the reader's first statement.
      let migrated = false;
      const migrateOnce = () => {
        if (!migrated) {
          migrated = true;
          migrate(writer as unknown as SqliteDatabase, path);
        }
      };
      const racing = new Proxy(reader, {
        get(target, key, receiver) {
          const value: unknown = Reflect.get(target, key, receiver);
          if (key === 'pragma') {
            return (...args: Parameters<typeof target.pragma>) => {
              const result = target.pragma(...args);
              migrateOnce();
              return result;
            };
          }
          if (key === 'prepare') {
            return (sql: string) => {
              const statement = target.prepare(sql);
              return new Proxy(statement, {
                get(s, k, r) {
                  const member: unknown = Reflect.get(s, k, r);
                  if (typeof member !== 'function') return member;
                  return (...args: unknown[]) => {
                    const result: unknown = (member as (...a: unknown[]) => unknown).apply(s, args);
                    if (k === 'get' || k === 'all') migrateOnce();
                    return result === s ? r : result;
                  };
                },
              });
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const state = inspectSchema(racing as unknown as SqliteDatabase, path);
      expect(migrated).toBe(true);
      expect(state).toEqual({ kind: 'fresh' });
      // And once it committed, the same reader sees a registry.
      expect(inspectSchema(reader as unknown as SqliteDatabase, path)).toEqual({ kind: 'registry', version: LATEST_SCHEMA_VERSION });
    } finally {
      reader.close();
      writer.close();
    }
  });
});
