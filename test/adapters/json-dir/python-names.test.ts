import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { instanceIdOfName } from '../../../src/adapters/json-dir/entry-file.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

/** Entries named as the Python registry names them (any id; its glob is marcus_*.json). */
describe('json-dir store: ids the Python registry allows', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let outside: string;
  let store: JsonDirStore;

  beforeEach(async () => {
    temp = await makeTempDir();
    dir = join(temp.path, 'services');
    outside = join(temp.path, 'outside');
    await mkdir(outside);
    store = await openJsonDirStore({ dir });
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  const pythonFile = (id: string, overrides: Record<string, unknown> = {}) =>
    writeFile(join(dir, `${id}.json`), JSON.stringify({ ...makeRecord({ instance_id: id }), ...overrides }, null, 2));

  it('lists, gets and compare-and-deletes them under the file name minus .json', async () => {
    await pythonFile('marcus_my project');
    await pythonFile('marcus_a:b');
    const { entries, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.record.instance_id).sort()).toEqual(['marcus_a:b', 'marcus_my project']);
    const entry = await store.get('marcus_my project');
    expect(entry?.record.instance_id).toBe('marcus_my project');
    expect(await store.deleteIfUnchanged('marcus_my project', 'another version')).toBe('changed');
    expect(await store.deleteIfUnchanged('marcus_my project', entry?.version as string)).toBe('deleted');
    expect(await store.delete('marcus_a:b')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps its own writes strict', async () => {
    await pythonFile('marcus_a:b');
    await expect(store.put(makeRecord({ instance_id: 'marcus_c:d' }))).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
    await expect(store.update('marcus_a:b', (r) => r)).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
    expect(await readdir(dir)).toEqual(['marcus_a:b.json']);
  });

  it('still reports a record whose instance_id is not its file name, and a symlink, and leaves both', async () => {
    await writeFile(join(dir, 'marcus_x y.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_other' })));
    await writeFile(join(outside, 'victim.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_l k' })));
    await symlink(join(outside, 'victim.json'), join(dir, 'marcus_l k.json'));
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problems.map((p) => [p.entry, p.code]).sort()).toEqual([
      ['marcus_l k.json', 'NOT_REGULAR_FILE'],
      ['marcus_x y.json', 'ID_MISMATCH'],
    ]);
    expect(await store.get('marcus_l k')).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['marcus_l k.json', 'marcus_x y.json']);
  });

  it('never builds a path outside the directory from a hostile id', async () => {
    await writeFile(join(outside, 'x.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_../../outside/x' })));
    for (const id of ['marcus_../../outside/x', 'marcus_/x', '../outside/x', 'marcus_\u0000x', 'marcus_\ud800', '..', '.', '', `marcus_${'x'.repeat(300)}`]) {
      await expect(store.get(id), JSON.stringify(id)).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
      await expect(store.deleteIfUnchanged(id, 'v')).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
      await expect(store.delete(id)).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
    }
    expect(await readdir(outside)).toEqual(['x.json']);
  });

  it('takes as entries exactly the names Python globs (marcus_*.json) besides our own ids', () => {
    expect(instanceIdOfName('marcus_my project.json')).toBe('marcus_my project');
    expect(instanceIdOfName('marcus_a:b.json')).toBe('marcus_a:b');
    expect(instanceIdOfName('marcus_.json')).toBe('marcus_');
    expect(instanceIdOfName('marcus_\n.json')).toBe('marcus_\n');
    expect(instanceIdOfName('alpha-1.json')).toBe('alpha-1');
    for (const name of ['my project.json', 'Marcus_x y.json', 'marcus_x.json~', 'marcus_x y.json.lock', 'marcus_x.json.12345', '.marcus_x.json', 'marcus_x.JSON']) {
      expect(instanceIdOfName(name), name).toBeUndefined();
    }
  });
});

describe('parseRecordAs', () => {
  it('validates a record under a Python id as any other and gives back the same object it parsed, with the id as written', async () => {
    const { parseRecordAs } = await import('../../../src/domain/python-instance-id.js');
    const outcome = parseRecordAs({ ...makeRecord({ instance_id: 'marcus_a:b' }), extra: { kept: true } }, 'marcus_a:b');
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(Object.keys(outcome.record)[0]).toBe('instance_id');
      expect(outcome.record).toMatchObject({ instance_id: 'marcus_a:b', extra: { kept: true } });
    }
    expect(parseRecordAs(makeRecord({ instance_id: 'marcus_a:b', pid: 0 }), 'marcus_a:b').ok).toBe(false);
    expect(parseRecordAs(makeRecord({ instance_id: 'marcus_a:b' }), 'marcus_c:d').ok).toBe(false);
  });
});
