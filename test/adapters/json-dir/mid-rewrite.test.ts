import { readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

/**
 * The Python writer rewrites its file in place: open(…, "w") empties it, json.dump
 * refills it. A reader that comes in between must not lose the entry.
 */
describe('json-dir store: an entry caught mid-rewrite by a non-atomic writer', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let store: JsonDirStore;
  const path = () => join(dir, 'marcus_7.json');
  const text = (status: string) => JSON.stringify(makeRecord({ instance_id: 'marcus_7', status }), null, 2);

  beforeEach(async () => {
    temp = await makeTempDir();
    dir = join(temp.path, 'services');
    store = await openJsonDirStore({ dir, midWriteRetryMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  it('keeps the last good record (and its version) while the file is young and empty, without a problem', async () => {
    await writeFile(path(), text('running'));
    const first = await store.list();
    expect(first.entries.map((e) => e.record.status)).toEqual(['running']);
    const version = first.entries[0]?.version as string;

    await truncate(path(), 0); // Python's open(…, "w")
    const during = await store.list();
    expect(during.problems).toEqual([]);
    expect(during.entries).toEqual(first.entries);
    expect((await store.get('marcus_7'))?.version).toBe(version);
    // The stand-in names the old version: compare-and-delete never removes the file being rewritten.
    expect(await store.deleteIfUnchanged('marcus_7', version)).toBe('changed');
    expect(await readFile(path(), 'utf8')).toBe('');

    await writeFile(path(), text('draining')); // json.dump done
    expect((await store.list()).entries.map((e) => e.record.status)).toEqual(['draining']);
  });

  it('does not stand in for a file that stays unparsable past the grace period, nor for one that is gone', async () => {
    await writeFile(path(), text('running'));
    expect((await store.list()).entries).toHaveLength(1);
    await writeFile(path(), '{"instance_id": "marcus_7", "pi');
    const old = new Date(Date.now() - 60_000);
    await utimes(path(), old, old);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problems).toMatchObject([{ entry: 'marcus_7.json', code: 'UNPARSABLE', action: 'quarantined' }]);

    await writeFile(path(), text('running'));
    expect((await store.list()).entries).toHaveLength(1);
    await writeFile(path(), '');
    await store.delete('marcus_7');
    expect(await store.list()).toEqual({ entries: [], problems: [] });
  });

  it('a reader that never saw the entry reads it again until the writer has refilled it', async () => {
    const patient = await openJsonDirStore({ dir, midWriteRetryMs: 60_000 });
    try {
      await writeFile(path(), '');
      const listing = patient.list();
      // The writer finishes a little later; the listing is still waiting for it (it yields, it does not block).
      await new Promise((resolve) => setTimeout(resolve, 30));
      await writeFile(path(), text('running'));
      const { entries, problems } = await listing;
      expect(problems).toEqual([]);
      expect(entries.map((e) => e.record.status)).toEqual(['running']);
    } finally {
      await patient.close();
    }
  });

  it('gives up on a young torn file after midWriteRetryMs and leaves it for its writer', async () => {
    const brief = await openJsonDirStore({ dir, midWriteRetryMs: 20 });
    try {
      await writeFile(path(), '{"torn');
      const { entries, problems } = await brief.list();
      expect(entries).toEqual([]);
      expect(problems).toMatchObject([{ entry: 'marcus_7.json', code: 'UNPARSABLE', action: 'left-for-writer' }]);
      expect(await readFile(path(), 'utf8')).toBe('{"torn');
    } finally {
      await brief.close();
    }
  });
});
