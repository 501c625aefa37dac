import type Database from 'better-sqlite3';
import { DriverMissingError } from '../../domain/errors.js';

/** The better-sqlite3 constructor and a connection; types only, so nothing loads at module evaluation. */
export type SqliteDriver = typeof Database;
export type SqliteDatabase = Database.Database;
export type SqliteStatement = Database.Statement<unknown[], unknown>;

const DRIVER = 'better-sqlite3';

/** What a failed native addon says: no compiled binding, a binding built for another Node, or not loadable. */
const BROKEN_BUILD =
  /Could not locate the bindings file|NODE_MODULE_VERSION|compiled against a different Node\.js version|invalid ELF header|wrong ELF class|cannot open shared object file|ERR_DLOPEN_FAILED/i;

/**
 * Loads better-sqlite3 on first use, so a JSON-store user never pays for a
 * native module. `specifier` is a parameter so tests can make a real import fail.
 */
export async function loadSqliteDriver(specifier: string = DRIVER): Promise<SqliteDriver> {
  try {
    const mod = (await import(specifier)) as { default?: SqliteDriver };
    if (typeof mod.default !== 'function') throw new TypeError(`${specifier} has no default export`);
    return mod.default;
  } catch (cause) {
    throw driverMissing(cause);
  }
}

/**
 * Opens a connection. The native binding loads on the first `new Database`, not
 * at import, so a broken build surfaces here and is translated the same way.
 */
export function openConnection(
  Driver: SqliteDriver,
  filename: string | Buffer,
  options: Database.Options,
): SqliteDatabase {
  try {
    return new Driver(filename, options);
  } catch (cause) {
    if (isBrokenBuild(cause)) throw driverMissing(cause);
    throw cause;
  }
}

export function isBrokenBuild(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error as NodeJS.ErrnoException).code === 'ERR_DLOPEN_FAILED' || BROKEN_BUILD.test(error.message);
}

/** DriverMissingError, whose message also says to rebuild when the package is there but its addon is not usable. */
export function driverMissing(cause: unknown): DriverMissingError {
  if (!isBrokenBuild(cause)) return new DriverMissingError(DRIVER, 'sqlite', cause);
  const fix =
    `it is installed but its native addon failed to load (${firstLine(cause)}); ` +
    `rebuild it for this Node (${process.version}) with: npm rebuild ${DRIVER}`;
  return new DriverMissingError(DRIVER, 'sqlite', cause, fix);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 200);
}
