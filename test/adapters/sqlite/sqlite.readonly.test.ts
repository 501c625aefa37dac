import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { RegistryError } from '../../../src/domain/errors.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { makeRecord } from '../../support/records.js';
import { ensureBuilt, runFixture, sha256 } from './sqlite.fixtures.js';

interface ReadOnlyReport {
  readonly logs: string[];
  readonly uid: number;
  readonly fileWritable: boolean;
  readonly dirWritable: boolean;
  readonly openError?: { code: string; message: string };
  readonly listed?: string[];
  readonly problems?: unknown[];
  readonly get?: string;
  readonly put?: string;
  readonly update?: string;
  readonly delete?: string;
  readonly deleteIfUnchanged?: string;
  readonly deleteSync?: string;
  readonly listedAfter?: string[];
}

const WRITES = ['put', 'update', 'delete', 'deleteIfUnchanged', 'deleteSync'] as const;

/**
 * A registry this process genuinely cannot write. Tests run as root here, and
 * root ignores file modes, so the fixture drops to nobody before opening the
 * store; the report's fileWritable/dirWritable prove the location really is
 * unwritable for it (as a non-root user, the chmod alone does that).
 */
describe('sqlite store: a registry on a path this process cannot write', () => {
  let dir: string;
  let path: string;
  beforeAll(ensureBuilt, 120_000);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-ro-'));
    path = join(dir, 'registry.db');
    const store = await openSqliteStore({ path });
    await store.put(makeRecord({ instance_id: 'marcus_a', pid: 101 }));
    await store.put(makeRecord({ instance_id: 'marcus_b', pid: 102 }));
    await store.close();
    // Readable by anyone, writable by no one but the owner (root): as an installed, shared registry.
    await chmod(path, 0o644);
    await chmod(dir, 0o755);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function expectListableNotWritable(report: ReadOnlyReport) {
    expect(report.fileWritable, 'the fixture must not be able to write the file').toBe(false);
    expect(report.dirWritable, 'the fixture must not be able to write the directory').toBe(false);
    expect(report.openError).toBeUndefined();
    expect(report.listed).toEqual(['marcus_a', 'marcus_b']);
    expect(report.problems).toEqual([]);
    expect(report.get).toBe('marcus_a');
    for (const write of WRITES) expect(report[write], write).toBe('READ_ONLY_STORE');
    expect(report.listedAfter).toEqual(['marcus_a', 'marcus_b']);
  }

  for (const readonly of [false, true]) {
    it(`a checkpointed WAL registry in an unwritable directory (readonly option ${readonly}): listable, writes throw READ_ONLY_STORE, bytes unchanged`, async () => {
      const before = sha256(path);
      const files = await readdir(dir);
      expect(files, 'no -wal/-shm: the reader has to cope without them').toEqual(['registry.db']);
      const report = await runFixture<ReadOnlyReport>('sqlite-readonly.mjs', [path, String(readonly)]);
      expectListableNotWritable(report);
      // Without -shm, SQLite cannot read a WAL database read-only: the store fell back to snapshots.
      expect(report.logs.join('\n')).toMatch(/reading snapshots/);
      expect(sha256(path)).toBe(before);
      expect(await readdir(dir)).toEqual(files);
    });
  }

  it('while its owner has it open (live -wal/-shm): the reader sees the newest rows and still cannot write', async () => {
    let owner: RegistryStore | undefined;
    try {
      owner = await openSqliteStore({ path });
      // Uncheckpointed changes live only in the -wal: the reader must read through it.
      await owner.delete('marcus_b');
      await owner.put(makeRecord({ instance_id: 'marcus_b', pid: 202 }));
      for (const sidecar of ['-wal', '-shm']) await chmod(`${path}${sidecar}`, 0o644);
      const report = await runFixture<ReadOnlyReport>('sqlite-readonly.mjs', [path, 'false']);
      expectListableNotWritable(report);
      expect(report.logs.join('\n')).not.toMatch(/snapshot/);
      expect((await owner.get('marcus_b'))?.record.pid).toBe(202);
      expect((await owner.list()).entries).toHaveLength(2);
    } finally {
      await owner?.close();
    }
  });

  it('the readonly option on a writable registry: listable, every write throws READ_ONLY_STORE', async () => {
    const before = sha256(path);
    const store = await openSqliteStore({ path, readonly: true });
    try {
      expect((await store.list()).entries.map((e) => e.record.instance_id).sort()).toEqual(['marcus_a', 'marcus_b']);
      const attempts: Array<() => Promise<unknown>> = [
        () => store.put(makeRecord({ instance_id: 'marcus_c' })),
        () => store.update('marcus_a', (r) => r),
        () => store.delete('marcus_a'),
        () => store.deleteIfUnchanged('marcus_a', '1'),
        async () => store.deleteSync!('marcus_a'),
      ];
      for (const attempt of attempts) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RegistryError);
        expect((error as RegistryError).code).toBe('READ_ONLY_STORE');
      }
    } finally {
      await store.close();
    }
    expect(sha256(path)).toBe(before);
  });

  it('the readonly option on a file that does not exist: STORE_UNAVAILABLE, nothing created', async () => {
    const missing = join(dir, 'missing', 'registry.db');
    const error = await openSqliteStore({ path: missing, readonly: true }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('STORE_UNAVAILABLE');
    expect(await readdir(dir)).toEqual(['registry.db']);
  });

  it('the readonly option on an empty file: lists as empty, then sees the registry a writer creates later', async () => {
    const path = join(dir, 'late.db');
    await writeFile(path, '');
    const reader = await openSqliteStore({ path, readonly: true });
    try {
      expect((await reader.list()).entries).toEqual([]);
      const writer = await openSqliteStore({ path });
      await writer.put(makeRecord({ instance_id: 'marcus_late' }));
      await writer.close();
      // The same long-lived reader, not a new one.
      expect((await reader.list()).entries.map((e) => e.record.instance_id)).toEqual(['marcus_late']);
      expect((await reader.get('marcus_late'))?.record.instance_id).toBe('marcus_late');
    } finally {
      await reader.close();
    }
  });
});
