import { chmod, chown, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertPrivateMode, assertTrustedOwner } from '../../../src/adapters/json-dir/json-dir.guard.js';
import { openJsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { RegistryError } from '../../../src/domain/errors.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a RegistryError').toBeInstanceOf(RegistryError);
  return (error as RegistryError).code;
}

describe('json-dir store: permissions', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let savedUmask: number;

  beforeEach(async () => {
    temp = await makeTempDir();
    savedUmask = process.umask(0o022);
  });
  afterEach(async () => {
    process.umask(savedUmask);
    await temp.remove();
  });

  it.each([0, 0o022, 0o077])('creates the directory (and missing parents) 0700 and files 0600 under umask %o', async (mask) => {
    process.umask(mask);
    const dir = join(temp.path, 'home', '.marcus', 'services');
    const store = await openJsonDirStore({ dir });
    await store.put(makeRecord({ instance_id: 'marcus_1' }));
    await store.update('marcus_1', (r) => ({ ...r, status: 'busy' }));
    await store.put(makeRecord({ instance_id: 'marcus_2' }));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'marcus_1.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'marcus_2.json'))).mode & 0o777).toBe(0o600);
    // No parent ends up writable by others either.
    expect((await stat(join(temp.path, 'home', '.marcus'))).mode & 0o022).toBe(0);
  });

  it('writes 0600 even over a file another writer left 0644', async () => {
    process.umask(0);
    const dir = join(temp.path, 'services');
    const store = await openJsonDirStore({ dir });
    await writeFile(join(dir, 'marcus_3.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_3' })), { mode: 0o644 });
    await store.put(makeRecord({ instance_id: 'marcus_3' }));
    expect((await stat(join(dir, 'marcus_3.json'))).mode & 0o777).toBe(0o600);
  });

  it.each([0o777, 0o707, 0o702, 0o1777, 0o1757])('refuses a directory other users may write (mode %o) for reading and writing', async (mode) => {
    const dir = join(temp.path, 'services');
    const store = await openJsonDirStore({ dir });
    await store.put(makeRecord({ instance_id: 'marcus_4' }));
    await chmod(dir, mode);
    expect(await codeOf(store.list())).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(store.get('marcus_4'))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(store.put(makeRecord({ instance_id: 'marcus_5' })))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(store.update('marcus_4', (r) => r))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(store.delete('marcus_4'))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(store.deleteIfUnchanged('marcus_4', 'x'))).toBe('INSECURE_DIRECTORY');
    expect(await codeOf(openJsonDirStore({ dir }))).toBe('INSECURE_DIRECTORY');
    // Refused, not "fixed": the mode and the entries stay as they were.
    expect((await stat(dir)).mode & 0o7777).toBe(mode);
    expect(await readdir(dir)).toEqual(['marcus_4.json']);
  });

  it.each([
    ['775', '700'],
    ['770', '700'],
    ['720', '700'],
    ['2775', '2700'],
  ])('tightens a group-writable directory of this user (mode %s, Python under umask 002) to %s with a warning; reads and writes work', async (modeOctal, tightenedOctal) => {
    const mode = parseInt(modeOctal, 8), tightened = parseInt(tightenedOctal, 8);
    const dir = join(temp.path, 'services');
    await mkdir(dir);
    await writeFile(join(dir, 'marcus_6.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_6' })), { mode: 0o664 });
    await chmod(dir, mode);
    const warnings: string[] = [];
    const logger = { debug() {}, warn: (m: string) => void warnings.push(m), error() {} };
    const store = await openJsonDirStore({ dir, logger });
    expect((await stat(dir)).mode & 0o7777).toBe(tightened);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`registry directory ${dir} was writable by its group (mode ${mode.toString(8)}); made it owner-only (now ${tightened.toString(8)})`);
    expect((await store.list()).entries.map((e) => e.record.instance_id)).toEqual(['marcus_6']);
    await store.put(makeRecord({ instance_id: 'marcus_7' }));
    expect((await store.get('marcus_7'))?.record.instance_id).toBe('marcus_7');
    // Tightened once: no warning on later operations.
    expect(warnings).toHaveLength(1);
    // If it becomes group-writable again (a Python process never chmods, but a user might), any operation tightens it again, reads included.
    await chmod(dir, mode);
    expect((await store.list()).entries).toHaveLength(2);
    expect((await stat(dir)).mode & 0o7777).toBe(tightened);
    expect(warnings).toHaveLength(2);
  });

  it('refuses, and leaves alone, a group-writable directory of another user', async () => {
    const theirs = join(temp.path, 'theirs-shared');
    await mkdir(theirs);
    const euid = process.geteuid?.() ?? 0;
    const other = euid === 65534 ? 65533 : 65534;
    await chown(theirs, other, other);
    await chmod(theirs, 0o775);
    const error = await openJsonDirStore({ dir: theirs }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'a non-root run cannot chown; this test needs root (CI runs as root)').toMatchObject({ code: 'INSECURE_DIRECTORY' });
    expect((await stat(theirs)).mode & 0o7777).toBe(0o775);
  });

  it('explains how to fix an insecure directory', async () => {
    const dir = join(temp.path, 'shared');
    await mkdir(dir);
    await chmod(dir, 0o777);
    const error = await openJsonDirStore({ dir }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSECURE_DIRECTORY', name: 'InsecureDirectoryError' });
    expect((error as Error).message).toContain(`chmod 700 ${dir}`);
  });

  it('trusts a directory of this user or of root, and refuses another user’s', () => {
    expect(() => assertTrustedOwner('/x', { mode: 0o700, uid: 1000 }, 'linux', 1000)).not.toThrow();
    expect(() => assertTrustedOwner('/x', { mode: 0o755, uid: 0 }, 'linux', 1000)).not.toThrow();
    expect(() => assertTrustedOwner('/x', { mode: 0o700, uid: 1001 }, 'linux', 1000)).toThrow(/belongs to uid 1001/);
    expect(() => assertTrustedOwner('/x', { mode: 0o700, uid: 1001 }, 'linux', 0)).toThrow(RegistryError);
    expect(() => assertTrustedOwner('C:\\x', { mode: 0o700, uid: 1001 }, 'win32', 1000)).not.toThrow();
  });

  it('refuses a private (0700) directory that belongs to another user: its owner could plant records', async () => {
    const theirs = join(temp.path, 'theirs');
    await mkdir(theirs, { mode: 0o700 });
    const euid = process.geteuid?.() ?? 0;
    const other = euid === 65534 ? 65533 : 65534; // nobody, or anyone who is not us
    await chown(theirs, other, other);
    const error = await openJsonDirStore({ dir: theirs })
      .then((store) => store.list())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error, 'a non-root run cannot chown; this test needs root (CI runs as root)').toMatchObject({ code: 'INSECURE_DIRECTORY' });
    expect((error as Error).message).toContain(`belongs to uid ${other}`);
  });

  it('does not check mode bits on Windows, where ACLs decide', () => {
    expect(() => assertPrivateMode('C:\\x', 0o777, 'win32')).not.toThrow();
    expect(() => assertPrivateMode('/x', 0o777, 'linux')).toThrow(RegistryError);
    expect(() => assertPrivateMode('/x', 0o755, 'darwin')).not.toThrow();
  });

  it('accepts a registry directory that is a symlink to a private directory', async () => {
    const real = join(temp.path, 'real');
    await mkdir(real, { mode: 0o700 });
    const link = join(temp.path, 'link');
    await symlink(real, link);
    const store = await openJsonDirStore({ dir: link });
    await store.put(makeRecord({ instance_id: 'marcus_6' }));
    expect(await readdir(real)).toEqual(['marcus_6.json']);
    expect((await store.list()).entries.map((e) => e.record.instance_id)).toEqual(['marcus_6']);
    expect(store.location).toBe(link);
  });

  it('refuses a path that is a file, not a directory', async () => {
    const file = join(temp.path, 'services');
    await writeFile(file, 'x');
    expect(await codeOf(openJsonDirStore({ dir: file }))).toBe('NOT_A_REGISTRY');
  });

  it('refuses a relative directory', async () => {
    expect(await codeOf(openJsonDirStore({ dir: 'relative/services' }))).toBe('INVALID_STORE_URI');
  });

  it('lists a directory removed after opening as empty and recreates it, 0700, on the next write', async () => {
    process.umask(0);
    const dir = join(temp.path, 'services');
    const store = await openJsonDirStore({ dir });
    await temp.remove();
    expect(await store.list()).toEqual({ entries: [], problems: [] });
    expect(await store.get('marcus_7')).toBeUndefined();
    expect(await store.delete('marcus_7')).toBe(false);
    expect(await store.deleteIfUnchanged('marcus_7', 'v')).toBe('missing');
    await store.put(makeRecord({ instance_id: 'marcus_7' }));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });
});
