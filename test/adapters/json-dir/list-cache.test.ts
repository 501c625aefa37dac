import { chmod, rename, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

/**
 * list() keeps the records it read; a file whose stamp (inode, mtime, ctime,
 * size) is unchanged and that is older than 2 s is stat'ed, not read again.
 * Its version is its bytes (ADR 0034): read again, the same bytes keep their record.
 */
describe('json-dir store: listing reuses records of unchanged files', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: JsonDirStore;
  let later: number;

  beforeEach(async () => {
    temp = await makeTempDir();
    later = 0;
    // A clock running ahead makes every file "settled" without waiting.
    store = await openJsonDirStore({ dir: temp.path, now: () => Date.now() + later });
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  const file = (id: string) => join(temp.path, `${id}.json`);
  const statusOf = async (id: string) => (await store.list()).entries.find((e) => e.record.instance_id === id)?.record.status;

  it('hands out the same frozen record for a settled, unchanged file', async () => {
    later = 10_000;
    await store.put(makeRecord({ instance_id: 'marcus_a', capabilities: ['x'] }));
    const [first] = (await store.list()).entries;
    const [again] = (await store.list()).entries;
    expect(again?.record).toBe(first?.record);
    expect(again?.version).toBe(first?.version);
    expect(Object.isFrozen(first?.record)).toBe(true);
    expect(Object.isFrozen(first?.record.capabilities)).toBe(true);
  });

  it('reads a file again once it changed, even rewritten in place with the same size and mtime', async () => {
    later = 10_000;
    await writeFile(file('marcus_a'), encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'aaaa' })), { mode: 0o600 });
    expect(await statusOf('marcus_a')).toBe('aaaa');
    const before = new Date(Date.now() - 60_000);
    // As the Python writer does: open('w') + write, same inode; then even the mtime put back.
    await writeFile(file('marcus_a'), encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'bbbb' })));
    await utimes(file('marcus_a'), before, before);
    expect(await statusOf('marcus_a')).toBe('bbbb');
  });

  it('reads a file again once another file of the same size and mtime was renamed over it (a new inode)', async () => {
    later = 10_000;
    await writeFile(file('marcus_a'), encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'aaaa' })), { mode: 0o600 });
    const before = new Date(Date.now() - 60_000);
    await utimes(file('marcus_a'), before, before);
    expect(await statusOf('marcus_a')).toBe('aaaa');
    const staged = join(temp.path, 'marcus_a.json.tmp');
    await writeFile(staged, encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'bbbb' })), { mode: 0o600 });
    await utimes(staged, before, before);
    await rename(staged, file('marcus_a'));
    expect(await statusOf('marcus_a')).toBe('bbbb');
  });

  it('after only its ctime moved (chmod), keeps the record and version of the same bytes, and still sees a later change', async () => {
    later = 10_000;
    await store.put(makeRecord({ instance_id: 'marcus_a', status: 'aaaa' }));
    const [first] = (await store.list()).entries;
    await chmod(file('marcus_a'), 0o400);
    const [again] = (await store.list()).entries;
    // Versions name bytes (ADR 0034): read again, the same bytes keep their record and version.
    expect(again?.record).toBe(first?.record);
    expect(again?.version).toBe(first?.version);
    const [third] = (await store.list()).entries;
    expect(third?.record).toBe(again?.record);
    // Rewritten in place, the same size, its mtime put back: the stamp taken after the chmod sees it.
    const { mtime } = await stat(file('marcus_a'));
    await chmod(file('marcus_a'), 0o600);
    await writeFile(file('marcus_a'), encodeRecord(makeRecord({ instance_id: 'marcus_a', status: 'bbbb' })));
    await utimes(file('marcus_a'), mtime, mtime);
    expect(await statusOf('marcus_a')).toBe('bbbb');
  });

  it('does not trust the stamp of a file changed less than 2 s ago: it is read again each time', async () => {
    // What the listing keeps per file (white-box: the stamp is what lets a later listing skip the read).
    const stampOf = (name: string) => (store as unknown as { known: Map<string, { stamp?: unknown }> }).known.get(name)?.stamp;
    await store.put(makeRecord({ instance_id: 'marcus_a' }));
    await store.put(makeRecord({ instance_id: 'marcus_b' }));
    await utimes(file('marcus_b'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    for (let listing = 1; listing <= 3; listing++) {
      expect((await store.list()).entries).toHaveLength(2);
      expect(stampOf('marcus_a.json')).toBeUndefined();
      // Its ctime is still recent (utimes sets it): no stamp either, until the clock runs ahead.
      expect(stampOf('marcus_b.json')).toBeUndefined();
    }
    later = 10_000;
    await store.list(); // seen before: read with its stat, now settled
    expect(stampOf('marcus_a.json')).toBeDefined();
    expect(stampOf('marcus_b.json')).toBeDefined();
  });

  it('reads an entry seen for the first time without a stat, and takes its stamp at the next listing', async () => {
    const stampOf = (name: string) => (store as unknown as { known: Map<string, { stamp?: unknown }> }).known.get(name)?.stamp;
    later = 10_000;
    await store.put(makeRecord({ instance_id: 'marcus_a' }));
    const [first] = (await store.list()).entries;
    expect(stampOf('marcus_a.json')).toBeUndefined();
    const [second] = (await store.list()).entries;
    expect(stampOf('marcus_a.json')).toBeDefined();
    expect(second?.record).toBe(first?.record);
    expect(second?.version).toBe(first?.version);
  });

  it('still reports what replaced a cached file: a symlink, an unreadable file, nothing', async () => {
    later = 10_000;
    await store.put(makeRecord({ instance_id: 'marcus_a' }));
    await store.put(makeRecord({ instance_id: 'marcus_b' }));
    expect((await store.list()).entries).toHaveLength(2);
    await unlink(file('marcus_a'));
    await symlink(join(temp.path, 'marcus_b.json'), file('marcus_a'));
    await chmod(file('marcus_b'), 0o000);
    const { entries, problems } = await store.list();
    const readable = process.getuid?.() === 0; // root reads a 0000 file
    expect(entries.map((e) => e.record.instance_id)).toEqual(readable ? ['marcus_b'] : []);
    expect(problems.map((p) => [p.entry, p.code]).sort()).toEqual(
      readable ? [['marcus_a.json', 'NOT_REGULAR_FILE']] : [['marcus_a.json', 'NOT_REGULAR_FILE'], ['marcus_b.json', 'UNREADABLE']],
    );
    await unlink(file('marcus_a'));
    await chmod(file('marcus_b'), 0o600);
    await unlink(file('marcus_b'));
    expect(await store.list()).toEqual({ entries: [], problems: [] });
  });
});
