import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSqliteDriver, openConnection } from '../../../src/adapters/sqlite/sqlite.driver.js';
import { DriverMissingError, RegistryError } from '../../../src/domain/errors.js';
import { ROOT, runToEnd } from '../../support/processes.js';
import { ensureBuilt } from './sqlite.fixtures.js';

/** better-sqlite3's JavaScript without its compiled addon, as after an install whose native build failed. */
async function unbuiltDriver(nodeModules: string): Promise<string> {
  const target = join(nodeModules, 'better-sqlite3');
  await mkdir(target, { recursive: true });
  await cp(join(ROOT, 'node_modules/better-sqlite3/package.json'), join(target, 'package.json'));
  await cp(join(ROOT, 'node_modules/better-sqlite3/lib'), join(target, 'lib'), { recursive: true });
  for (const dep of ['bindings', 'file-uri-to-path']) {
    await cp(join(ROOT, 'node_modules', dep), join(nodeModules, dep), { recursive: true });
  }
  return join(target, 'lib/index.js');
}

describe('sqlite store: the better-sqlite3 driver is optional and loaded lazily', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-driver-'));
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a module that cannot be found → DRIVER_MISSING saying npm install better-sqlite3', async () => {
    const error = await loadSqliteDriver('marcus-registry-no-such-sqlite-driver').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverMissingError);
    expect((error as DriverMissingError).code).toBe('DRIVER_MISSING');
    expect((error as DriverMissingError).message).toContain('npm install better-sqlite3');
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('an installed package whose addon was never built → DRIVER_MISSING saying npm rebuild better-sqlite3', async () => {
    const entry = await unbuiltDriver(join(dir, 'unbuilt', 'node_modules'));
    const Driver = await loadSqliteDriver(pathToFileURL(entry).href); // the JavaScript loads fine…
    const error = (() => {
      try {
        openConnection(Driver, ':memory:', {}); // …the binding is looked up on first open
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DriverMissingError);
    expect((error as Error).message).toContain('npm rebuild better-sqlite3');
    expect(((error as Error).cause as Error).message).toMatch(/Could not locate the bindings file/);
  });

  it('an addon that is not loadable (not a shared object for this platform) → DRIVER_MISSING saying npm rebuild', async () => {
    const bogus = join(dir, 'bogus.node');
    await writeFile(bogus, 'not an ELF shared object, just text');
    const Driver = await loadSqliteDriver();
    const error = (() => {
      try {
        openConnection(Driver, ':memory:', { nativeBinding: bogus });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DriverMissingError);
    expect((error as Error).message).toContain('npm rebuild better-sqlite3');
  });

  /**
   * The compiled adapter in a directory from which better-sqlite3 cannot be
   * resolved: importing it must succeed (nothing loads at module evaluation),
   * and only openSqliteStore fails, with a typed error.
   */
  async function runIsolated(withUnbuiltDriver: boolean): Promise<{ imported: boolean; code?: string; message?: string; cause?: string }> {
    const root = join(dir, withUnbuiltDriver ? 'isolated-unbuilt' : 'isolated-missing');
    for (const part of ['domain', 'ports', 'adapters/shared', 'adapters/sqlite']) {
      await cp(join(ROOT, 'dist', part), join(root, 'dist', part), { recursive: true });
    }
    await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
    await mkdir(join(root, 'node_modules'), { recursive: true });
    await symlink(join(ROOT, 'node_modules/zod'), join(root, 'node_modules/zod'), 'dir');
    if (withUnbuiltDriver) await unbuiltDriver(join(root, 'node_modules'));
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/adapters/sqlite/sqlite.store.js')).href)});
      const out = { imported: true };
      try { await openSqliteStore({ path: ${JSON.stringify(join(root, 'registry.db'))} }); }
      catch (e) { Object.assign(out, { code: e.code, message: e.message, cause: e.cause?.code ?? e.cause?.message }); }
      console.log(JSON.stringify(out));`;
    const result = await runToEnd(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, NODE_PATH: '' } });
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout.trim()) as { imported: boolean; code?: string; message?: string; cause?: string };
  }

  it('end to end, better-sqlite3 not installed: the adapter imports, openSqliteStore throws DRIVER_MISSING', async () => {
    const out = await runIsolated(false);
    expect(out.imported).toBe(true);
    expect(out.code).toBe('DRIVER_MISSING');
    expect(out.message).toContain('npm install better-sqlite3');
    expect(out.cause).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('end to end, better-sqlite3 installed without its native build: DRIVER_MISSING with the rebuild command', async () => {
    const out = await runIsolated(true);
    expect(out.code).toBe('DRIVER_MISSING');
    expect(out.message).toContain('npm rebuild better-sqlite3');
  });

  it('the error is a RegistryError with a stable code that survives JSON', async () => {
    const error = (await loadSqliteDriver('marcus-registry-no-such-sqlite-driver').catch((e: unknown) => e)) as RegistryError;
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: 'DRIVER_MISSING', details: { driver: 'better-sqlite3', store: 'sqlite' } });
  });
});
