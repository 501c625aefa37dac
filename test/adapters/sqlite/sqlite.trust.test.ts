import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { foreignWriters } from '../../../src/adapters/sqlite/sqlite.trust.js';

/** Who could have written a SQLite registry's records: connect starts commands only when no one else could (ADR 0018). */
describe('sqlite store: untrustedWriters()', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-trust-'));
    await chmod(dir, 0o700);
    path = join(dir, 'registry.db');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a database of this user, private to it: no one else could have written it', async () => {
    const store = await openSqliteStore({ path });
    try {
      expect(await store.untrustedWriters?.()).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a database file, -wal file or directory that others can write to: says which and why', async () => {
    const store = await openSqliteStore({ path });
    try {
      await chmod(path, 0o664);
      expect(await store.untrustedWriters?.()).toMatch(new RegExp(`its database file ${path} is writable by other users \\(mode 664\\)`));
      await chmod(path, 0o600);
      await writeFile(`${path}-wal`, '', { mode: 0o666 });
      await chmod(`${path}-wal`, 0o666);
      expect(await store.untrustedWriters?.()).toMatch(/its write-ahead log .*-wal is writable by other users \(mode 666\)/);
      await rm(`${path}-wal`);
      await chmod(dir, 0o1777);
      expect(await store.untrustedWriters?.()).toMatch(/its database directory .* is writable by other users \(mode 777\)/);
    } finally {
      await chmod(dir, 0o700);
      await store.close();
    }
  });

  it('a database file of another user', async () => {
    await writeFile(path, '', { mode: 0o600 });
    const me = process.geteuid?.() ?? 0;
    if (me === 0) {
      // As root (CI): give the file away for real.
      await chown(path, 4321, 4321);
      expect(await foreignWriters(path)).toMatch(/its database file .* belongs to uid 4321, not to this user \(uid 0\)/);
    } else {
      // Not root: the same rule, seen as another user would see our file.
      expect(await foreignWriters(path, process.platform, me + 1)).toMatch(new RegExp(`belongs to uid ${me}, not to this user \\(uid ${me + 1}\\)`));
    }
  });
});
