import { NotARegistryError } from '../../domain/errors.js';
import type { SqliteDatabase } from './sqlite.driver.js';
import { UnsupportedSchemaVersionError } from '../../domain/errors.js';

/**
 * `PRAGMA application_id` marking a marcus registry ('MREG'). It lives in the
 * file header, so it is written in the same transaction as the schema and a
 * foreign database can be recognised without touching it. `PRAGMA user_version`
 * holds the schema version (see docs/adr/0007-sqlite-store.md).
 */
export const REGISTRY_APPLICATION_ID = 0x4d524547;

export interface Migration {
  /** The schema version the database is at once this migration ran. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Forward migrations, applied in order inside one transaction. Never edit a released one: append. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'services table with indexed discovery columns, full record JSON, and a write clock',
    sql: `
      CREATE TABLE services (
        instance_id       TEXT PRIMARY KEY NOT NULL,
        pid               INTEGER NOT NULL,
        hostname          TEXT,
        project_name      TEXT,
        provider          TEXT,
        status            TEXT NOT NULL,
        started_at_ms     INTEGER,
        last_heartbeat_ms INTEGER,
        version           INTEGER NOT NULL,
        record            TEXT NOT NULL
      );
      CREATE INDEX services_pid ON services (pid);
      CREATE INDEX services_hostname ON services (hostname);
      CREATE INDEX services_project_name ON services (project_name);
      CREATE INDEX services_provider ON services (provider);
      CREATE INDEX services_status ON services (status);
      CREATE INDEX services_started_at ON services (started_at_ms);
      CREATE INDEX services_last_heartbeat ON services (last_heartbeat_ms);
      -- One clock for the whole database: a deleted and re-registered entry never
      -- gets back a version an earlier judgement saw (no ABA in compare-and-delete).
      CREATE TABLE write_clock (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
      );
      INSERT INTO write_clock (id, version) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    description: 'departures: a note of each owner delete (a clean stop), for watchers',
    sql: `
      CREATE TABLE departures (
        instance_id    TEXT PRIMARY KEY NOT NULL,
        pid            INTEGER NOT NULL,
        started_at     TEXT NOT NULL,
        departed_at_ms INTEGER NOT NULL
      );
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export type SchemaState = { readonly kind: 'fresh' } | { readonly kind: 'registry'; readonly version: number };

const INSPECT_SQL = `SELECT (SELECT application_id FROM pragma_application_id) AS applicationId,
  (SELECT user_version FROM pragma_user_version) AS version,
  (SELECT count(*) FROM sqlite_schema) AS objects`;

/**
 * Reads only: what this database is. A database with no schema objects is fresh;
 * one carrying our application id is a registry; anything else is refused.
 */
export function inspectSchema(db: SqliteDatabase, location: string, known = LATEST_SCHEMA_VERSION): SchemaState {
  // One statement, so one snapshot: read one by one, the marker could be read before another
  // process's migration committed and the schema after it (a registry refused as a foreign database).
  const { applicationId, version, objects } = db.prepare(INSPECT_SQL).get() as { applicationId: number; version: number; objects: number };
  if (applicationId === REGISTRY_APPLICATION_ID) {
    if (version > known) throw new UnsupportedSchemaVersionError(location, version, known);
    return { kind: 'registry', version };
  }
  if (applicationId !== 0) {
    throw new NotARegistryError(location, `an SQLite database of another application (application_id 0x${(applicationId >>> 0).toString(16)})`);
  }
  if (objects > 0 || version !== 0) {
    throw new NotARegistryError(location, `an SQLite database with ${objects} schema object(s) but no marcus-registry marker`);
  }
  return { kind: 'fresh' };
}

/** A truncated or damaged registry is refused before anything writes to it. */
export function checkIntegrity(db: SqliteDatabase, location: string): void {
  const result = db.pragma('quick_check(1)', { simple: true });
  if (result !== 'ok') throw new NotARegistryError(location, `the SQLite database is corrupt: ${String(result)}`);
}

/**
 * Brings the schema to the newest version in one IMMEDIATE transaction. The state
 * is re-read inside it, because another process may have migrated meanwhile.
 */
export function migrate(
  db: SqliteDatabase,
  location: string,
  migrations: readonly Migration[] = MIGRATIONS,
): { readonly from: number; readonly to: number } {
  const target = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  return db
    .transaction(() => {
      const state = inspectSchema(db, location, target);
      const from = state.kind === 'fresh' ? 0 : state.version;
      for (const migration of migrations) {
        if (migration.version <= from) continue;
        db.exec(migration.sql);
        db.pragma(`user_version = ${Math.trunc(migration.version)}`);
      }
      if (state.kind === 'fresh') db.pragma(`application_id = ${REGISTRY_APPLICATION_ID}`);
      return { from, to: Math.max(from, target) };
    })
    .immediate();
}
