import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retryWhileBusy } from '../../../src/adapters/json-dir/atomic-write.js';
import { translateFsError } from '../../../src/adapters/json-dir/fs-errors.js';
import { openJsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { LockBusyError, RegistryError } from '../../../src/domain/errors.js';
import { makeRecord } from '../../support/records.js';
import { runNode } from './children.js';
import { compiledModule } from './compiled.js';
import { makeTempDir, withTmpfs } from './temp-dir.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

describe('json-dir store: errno translation (one lookup table)', () => {
  it.each([
    ['write', 'EACCES', 'READ_ONLY_STORE'],
    ['write', 'EPERM', 'READ_ONLY_STORE'],
    ['write', 'EROFS', 'READ_ONLY_STORE'],
    ['write', 'ENOTDIR', 'NOT_A_REGISTRY'],
    ['write', 'ELOCKED', 'LOCK_BUSY'],
    ['write', 'ENOSPC', 'STORE_UNAVAILABLE'],
    ['write', 'EIO', 'STORE_UNAVAILABLE'],
    ['read', 'EACCES', 'ACCESS_DENIED'],
    ['read', 'EPERM', 'ACCESS_DENIED'],
    ['read', 'ENOTDIR', 'NOT_A_REGISTRY'],
    ['read', 'EMFILE', 'STORE_UNAVAILABLE'],
  ] as const)('%s %s → %s', (op, code, expected) => {
    const cause = errno(code);
    const translated = translateFsError(cause, { op, location: '/reg', instanceId: 'marcus_1' });
    expect(translated).toBeInstanceOf(RegistryError);
    expect(translated.code).toBe(expected);
    expect(translated.cause).toBe(cause);
    expect(translated.message).toMatch(/\/reg|marcus_1/);
  });

  it('passes RegistryErrors through and wraps non-errors', () => {
    const busy = new LockBusyError('marcus_1');
    expect(translateFsError(busy, { op: 'write', location: '/reg' })).toBe(busy);
    expect(translateFsError('boom', { op: 'read', location: '/reg' }).code).toBe('STORE_UNAVAILABLE');
  });
});

describe('json-dir store: Windows rename retry', () => {
  const flaky = (failures: number, code: string) => {
    let calls = 0;
    return {
      calls: () => calls,
      action: async () => {
        calls++;
        if (calls <= failures) throw errno(code);
        return 'written';
      },
    };
  };

  it.each(['EPERM', 'EBUSY', 'EACCES'])('retries %s on win32 until the reader lets go', async (code) => {
    const f = flaky(3, code);
    expect(await retryWhileBusy(f.action, 'win32')).toBe('written');
    expect(f.calls()).toBe(4);
  });

  it('gives up on win32 after a few attempts', async () => {
    const f = flaky(100, 'EBUSY');
    await expect(retryWhileBusy(f.action, 'win32')).rejects.toMatchObject({ code: 'EBUSY' });
    expect(f.calls()).toBe(6);
  });

  it('does not retry elsewhere: EPERM there means read-only', async () => {
    const f = flaky(1, 'EPERM');
    await expect(retryWhileBusy(f.action, 'linux')).rejects.toMatchObject({ code: 'EPERM' });
    expect(f.calls()).toBe(1);
  });
});

/** What every read-only scenario checks, run by whoever cannot write (this process or a child). */
const SCENARIO = `
  const { openJsonDirStore } = await import(process.argv[1]);
  const store = await openJsonDirStore({ dir: process.argv[2] });
  const code = (p) => p.then(() => 'ok', (e) => e.code ?? String(e));
  const listed = await store.list();
  const got = await store.get('marcus_mine');
  const out = {
    entries: listed.entries.map((e) => e.record.instance_id),
    problems: listed.problems.map((p) => [p.entry, p.code, p.action]).sort(),
    got: got?.record.instance_id,
    put: await code(store.put({ ...got.record, instance_id: 'marcus_new' })),
    update: await code(store.update('marcus_mine', (r) => ({ ...r, status: 'x' }))),
    delete: await code(store.delete('marcus_mine')),
    deleteIfUnchanged: await code(store.deleteIfUnchanged('marcus_mine', got.version)),
  };
  console.log('RESULT ' + JSON.stringify(out));
`;

const EXPECTED = {
  entries: ['marcus_mine'],
  got: 'marcus_mine',
  put: 'READ_ONLY_STORE',
  update: 'READ_ONLY_STORE',
  delete: 'READ_ONLY_STORE',
  deleteIfUnchanged: 'READ_ONLY_STORE',
};

describe('json-dir store: a directory this process cannot write', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;

  beforeEach(async () => {
    temp = await makeTempDir();
    dir = join(temp.path, 'services');
    const store = await openJsonDirStore({ dir });
    await store.put(makeRecord({ instance_id: 'marcus_mine' }));
    await store.put(makeRecord({ instance_id: 'marcus_theirs' }));
    await writeFile(join(dir, 'marcus_torn.json'), '{"instance_id": "marcus_torn"', { mode: 0o600 });
    const then = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'marcus_torn.json'), then, then);
  });
  afterEach(async () => {
    await chmod(dir, 0o700).catch(() => undefined);
    await temp.remove();
  });

  const checkUntouched = async () => {
    expect((await readdir(dir)).sort()).toEqual(['marcus_mine.json', 'marcus_theirs.json', 'marcus_torn.json']);
    expect(await readFile(join(dir, 'marcus_torn.json'), 'utf8')).toBe('{"instance_id": "marcus_torn"');
  };

  it(
    isRoot
      ? 'EACCES: lists and gets, refuses writes with READ_ONLY_STORE, reports another user\'s file as UNREADABLE (child process as nobody, since root ignores modes)'
      : 'EACCES: lists and gets, refuses writes with READ_ONLY_STORE, reports a 0000 file as UNREADABLE (chmod 0500)',
    { timeout: 30_000 },
    async () => {
      let result: Record<string, unknown>;
      if (isRoot) {
        // nobody owns the directory and its files but marcus_theirs.json (root's, 0600), and may not write the directory.
        await chmod(temp.path, 0o711);
        for (const name of ['marcus_mine.json', 'marcus_torn.json']) await chown(join(dir, name), NOBODY, NOBODY);
        await chown(dir, NOBODY, NOBODY);
        await chmod(dir, 0o500);
        const child = runNode(SCENARIO, [compiledModule('adapters/json-dir/json-dir.store.ts'), dir], { uid: NOBODY, gid: NOBODY });
        const line = await child.waitFor(/^RESULT /);
        await child.exited;
        result = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
      } else {
        await chmod(join(dir, 'marcus_theirs.json'), 0o000);
        await chmod(dir, 0o500);
        result = await runScenarioHere(dir);
      }
      expect(result).toMatchObject(EXPECTED);
      expect(result['problems']).toEqual([
        ['marcus_theirs.json', 'UNREADABLE', 'skipped'],
        // Old and torn, but the quarantine cannot be written: reported and left.
        ['marcus_torn.json', 'UNPARSABLE', 'skipped'],
      ]);
      await checkUntouched();
    },
  );

  it(
    isRoot
      ? 'EROFS: the same on a read-only mount (a tmpfs remounted ro)'
      : 'EROFS: translation only — not root, so no read-only mount can be made here',
    { timeout: 30_000 },
    async () => {
      if (!isRoot) {
        expect(translateFsError(errno('EROFS'), { op: 'write', location: dir }).code).toBe('READ_ONLY_STORE');
        return;
      }
      await withTmpfs(temp.path, '1m', 'to get a real EROFS', async (mnt) => {
        const ro = join(mnt, 'services');
        await mkdir(ro, { mode: 0o700 });
        const writer = await openJsonDirStore({ dir: ro });
        await writer.put(makeRecord({ instance_id: 'marcus_mine' }));
        await writeFile(join(ro, 'marcus_torn.json'), '{', { mode: 0o600 });
        const then = new Date(Date.now() - 60_000);
        await utimes(join(ro, 'marcus_torn.json'), then, then);
        execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
        const result = await runScenarioHere(ro);
        expect(result).toMatchObject(EXPECTED);
        expect(result['problems']).toEqual([['marcus_torn.json', 'UNPARSABLE', 'skipped']]);
        expect((await readdir(ro)).sort()).toEqual(['marcus_mine.json', 'marcus_torn.json']);
      });
    },
  );

  it(
    isRoot
      ? 'a directory it may not read gives a non-retryable ACCESS_DENIED, not a raw EACCES (child process as nobody)'
      : 'a directory it may not read gives a non-retryable ACCESS_DENIED, not a raw EACCES (chmod 0300)',
    { timeout: 30_000 },
    async () => {
      const script = `
        const { openJsonDirStore } = await import(process.argv[1]);
        const store = await openJsonDirStore({ dir: process.argv[2] });
        const error = await store.list().then(() => undefined, (e) => e);
        console.log('RESULT ' + JSON.stringify({ name: error?.name, code: error?.code, message: error?.message }));
      `;
      let result: Record<string, unknown>;
      if (isRoot) {
        await chmod(temp.path, 0o711);
        await chown(dir, NOBODY, NOBODY);
        await chmod(dir, 0o300); // write + search, no read
        const child = runNode(script, [compiledModule('adapters/json-dir/json-dir.store.ts'), dir], { uid: NOBODY, gid: NOBODY });
        const line = await child.waitFor(/^RESULT /);
        await child.exited;
        result = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
      } else {
        await chmod(dir, 0o300);
        const store = await openJsonDirStore({ dir });
        const error = (await store.list().then(() => undefined, (e: unknown) => e)) as RegistryError | undefined;
        result = { name: error?.name, code: error?.code, message: error?.message };
      }
      expect(result).toMatchObject({ name: 'AccessDeniedError', code: 'ACCESS_DENIED' });
      expect(result['message']).toContain(dir);
      expect(result['message']).toContain('EACCES');
    },
  );
});

async function runScenarioHere(dir: string): Promise<Record<string, unknown>> {
  const store = await openJsonDirStore({ dir });
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e as RegistryError).code ?? String(e),
    );
  const listed = await store.list();
  const got = await store.get('marcus_mine');
  if (!got) throw new Error('marcus_mine not readable');
  return {
    entries: listed.entries.map((e) => e.record.instance_id),
    problems: listed.problems.map((p) => [p.entry, p.code, p.action]).sort(),
    got: got.record.instance_id,
    put: await code(store.put({ ...got.record, instance_id: 'marcus_new' })),
    update: await code(store.update('marcus_mine', (r) => ({ ...r, status: 'x' }))),
    delete: await code(store.delete('marcus_mine')),
    deleteIfUnchanged: await code(store.deleteIfUnchanged('marcus_mine', got.version)),
  };
}
