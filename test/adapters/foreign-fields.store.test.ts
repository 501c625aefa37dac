import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore } from '../../src/adapters/json-dir/json-dir.store.js';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite.store.js';
import type { RegistryStore } from '../../src/ports/store.port.js';
import { makeRecord } from '../support/records.js';

/** Keys Python writes in types we do not use (issue 12, point 3), on a record otherwise ours. */
const ODD = { transport: 'http', capabilities: { board: true }, api_version: 1.5, status: null, schema_version: '1' };
const oddRecord = (id: string) => ({ ...makeRecord({ instance_id: id }), ...ODD });

describe('stores: a record with keys in shapes we do not use is listed, noted, and written back untouched', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-foreign-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectListedAndNoted(store: RegistryStore, id: string, entry: string): Promise<void> {
    const { entries, problems } = await store.list();
    expect(entries.map((e) => e.record.instance_id)).toEqual([id]);
    const record = entries[0]?.record;
    expect(record?.transport).toBeUndefined();
    expect(record?.capabilities).toBeUndefined();
    expect(record?.status).toBeUndefined();
    expect(record?.schema_version).toBe(1);
    expect(problems.map((p) => [p.entry, p.code, p.action, p.message.split(' ')[0]]).sort()).toEqual(
      ['api_version', 'capabilities', 'status', 'transport'].map((key) => [entry, 'IGNORED_FIELD', 'noted', key]),
    );
    // Noted again on the next listing (from the listing cache).
    expect((await store.list()).problems).toHaveLength(4);
  }

  it('json-dir: a Python-written file; update() writes the odd keys back', async () => {
    const store = await openJsonDirStore({ dir });
    const path = join(dir, 'marcus_odd.json');
    const odd = oddRecord('marcus_odd');
    await writeFile(path, JSON.stringify(odd, null, 2), { mode: 0o600 });
    await expectListedAndNoted(store, 'marcus_odd', 'marcus_odd.json');
    await store.update('marcus_odd', (r) => ({ ...r, project_name: 'renamed' }));
    const written = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(written).toEqual({ ...odd, project_name: 'renamed' });
    expect(Object.keys(written)).toEqual(Object.keys(odd));
  });

  it('sqlite: a row written by another writer; update() writes the odd keys back', async () => {
    const path = join(dir, 'registry.db');
    const store = await openSqliteStore({ path });
    await store.put(makeRecord({ instance_id: 'marcus_odd' }));
    const raw = new Database(path);
    const odd = oddRecord('marcus_odd');
    try {
      raw.prepare('UPDATE services SET record = ? WHERE instance_id = ?').run(JSON.stringify(odd), 'marcus_odd');
      await expectListedAndNoted(store, 'marcus_odd', 'marcus_odd');
      await store.update('marcus_odd', (r) => ({ ...r, project_name: 'renamed' }));
      const read = () => JSON.parse((raw.prepare('SELECT record FROM services WHERE instance_id = ?').get('marcus_odd') as { record: string }).record) as unknown;
      expect(read()).toEqual({ ...odd, project_name: 'renamed' });
      // status set by an update is the update's; the others stay as the writer left them.
      await store.update('marcus_odd', (r) => ({ ...r, status: 'busy' }));
      expect(read()).toEqual({ ...odd, project_name: 'renamed', status: 'busy' });
    } finally {
      raw.close();
      await store.close();
    }
  });
});
