import { execFileSync } from 'node:child_process';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { makeRecord } from '../../support/records.js';
import { compiledModule, repoRoot } from './compiled.js';
import { makeTempDir } from './temp-dir.js';

// A JSON entry's version is its bytes (ADR 0034): compare-and-delete, the exit handler and the
// quarantine read the entry again and compare.
describe('json-dir store: versions that name bytes', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir();
  });
  afterEach(async () => {
    await temp.remove();
  });

  /** An empty entry file last changed an hour ago: what a Python writer killed between open('w') and its write leaves. */
  const anOldEmptyEntry = async (name: string): Promise<string> => {
    const path = join(temp.path, name);
    await writeFile(path, '');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(path, anHourAgo, anHourAgo);
    return path;
  };

  it('never quarantines an empty file that a writer opened again since it was judged (the same bytes, a new stamp)', async () => {
    const path = await anOldEmptyEntry('marcus_77.json');
    // Another writer of that id opens it again (open('w') empties it: still no bytes) while the
    // store decides: every reading of the clock does so, with a time of its own, half an hour ago.
    let opened = 0;
    const store = await openJsonDirStore({
      dir: temp.path,
      graceMs: 1_000,
      midWriteRetryMs: 0,
      now: () => {
        writeFileSync(path, '');
        const halfAnHourAgo = new Date(Date.now() - 1_800_000 + opened++);
        utimesSync(path, halfAnHourAgo, halfAnHourAgo);
        return Date.now();
      },
    });
    try {
      const { problems } = await store.list();
      expect(problems.find((p) => p.entry === 'marcus_77.json')).toMatchObject({ code: 'UNPARSABLE', action: 'left-for-writer' });
      expect(readdirSync(temp.path)).toContain('marcus_77.json');
    } finally {
      await store.close();
    }
  });

  it('quarantines an old unparsable file that nobody touched since it was read', async () => {
    await anOldEmptyEntry('marcus_78.json');
    const store = await openJsonDirStore({ dir: temp.path, graceMs: 1_000, midWriteRetryMs: 0 });
    try {
      const { problems } = await store.list();
      expect(problems.find((p) => p.entry === 'marcus_78.json')).toMatchObject({ code: 'UNPARSABLE', action: 'quarantined' });
      expect(await readdir(join(temp.path, '.quarantine'))).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('deletes what it judged, keeps other bytes, and counts the same bytes written again as unchanged', async () => {
    const store = await openJsonDirStore({ dir: temp.path });
    try {
      const judged = await store.put(makeRecord({ instance_id: 'marcus_a', status: 'aaaa' }));
      expect(judged.version).toBe(await readFile(join(temp.path, 'marcus_a.json'), 'latin1'));
      await store.put(makeRecord({ instance_id: 'marcus_a', status: 'bbbb' }));
      expect(await store.deleteIfUnchanged('marcus_a', judged.version)).toBe('changed');
      await writeFile(join(temp.path, 'marcus_a.json'), judged.version, 'latin1');
      expect(await store.deleteIfUnchanged('marcus_a', judged.version)).toBe('deleted');
      expect(await store.deleteIfUnchanged('marcus_a', judged.version)).toBe('missing');
    } finally {
      await store.close();
    }
  });

  it('compares thousands of entries at once without holding a file descriptor each (a prune under a low limit)', async () => {
    // 1 000 entries compared and deleted at once, in a process allowed 256 descriptors.
    const count = 1000;
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => writeFile(join(temp.path, `marcus_fd_${i + j}.json`), encodeRecord(makeRecord({ instance_id: `marcus_fd_${i + j}` })), { mode: 0o600 })),
      );
    }
    const script = `
      const { openJsonDirStore } = await import(process.argv[1]);
      const store = await openJsonDirStore({ dir: process.argv[2] });
      const { entries } = await store.list();
      const outcomes = await Promise.all(entries.map((e) => store.deleteIfUnchanged(e.record.instance_id, e.version).catch((error) => String(error.code))));
      const counts = {};
      for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
      console.log(JSON.stringify(counts));
    `;
    const out = execFileSync('sh', ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1" "$2" "$3"', process.execPath, script, compiledModule('adapters/json-dir/json-dir.store.ts'), temp.path], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim().split('\n').pop() ?? '{}')).toEqual({ deleted: count });
  });

  it('refuses a maxFileBytes that is not a whole number of bytes above 0', async () => {
    for (const maxFileBytes of [Number.NaN, 0, -1, 1000.5, Infinity]) {
      await expect(openJsonDirStore({ dir: temp.path, maxFileBytes })).rejects.toMatchObject({ code: 'INVALID_STORE_URI' });
    }
  });
});
