import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import type { StoreProblem } from '../../../src/ports/store.port.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

/** What a reader meets in a shared, hand-edited, half-written directory. */
describe('json-dir store: entries it must not trust', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let store: JsonDirStore;
  let outside: string;

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

  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const problemOf = (problems: readonly StoreProblem[], entry: string) => {
    const found = problems.filter((p) => p.entry === entry);
    expect(found, `exactly one problem for ${entry}: ${JSON.stringify(problems)}`).toHaveLength(1);
    return found[0] as StoreProblem;
  };
  const aMinuteAgo = async (path: string) => {
    const then = new Date(Date.now() - 60_000);
    await utimes(path, then, then);
  };

  it('does not follow a symlink named like an entry, reports it, and refuses to write through it', async () => {
    const target = join(outside, 'victim.json');
    const victim = json(makeRecord({ instance_id: 'marcus_1', pid: 1 }));
    await writeFile(target, victim);
    await symlink(target, join(dir, 'marcus_1.json'));

    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_1.json')).toMatchObject({ code: 'NOT_REGULAR_FILE', action: 'skipped' });
    expect(await store.get('marcus_1')).toBeUndefined();

    await expect(store.put(makeRecord({ instance_id: 'marcus_1', pid: 2 }))).rejects.toMatchObject({ code: 'NOT_A_REGISTRY' });
    expect(await readFile(target, 'utf8')).toBe(victim);
    expect(await readdir(dir)).toEqual(['marcus_1.json']);
  });

  it('does not hang on a FIFO named like an entry and reports it', { timeout: 15_000 }, async () => {
    execFileSync('mkfifo', [join(dir, 'marcus_2.json')]);
    await store.put(makeRecord({ instance_id: 'marcus_ok' }));
    const { entries, problems } = await store.list();
    expect(entries.map((e) => e.record.instance_id)).toEqual(['marcus_ok']);
    expect(problemOf(problems, 'marcus_2.json')).toMatchObject({ code: 'NOT_REGULAR_FILE', action: 'skipped' });
    expect(await store.get('marcus_2')).toBeUndefined(); // get opens it: O_NONBLOCK keeps that from hanging too
  });

  it('reports a directory and a socket named like entries and leaves them', async () => {
    await mkdir(join(dir, 'marcus_3.json'));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'marcus_4.json'), resolve));
    try {
      const { entries, problems } = await store.list();
      expect(entries).toEqual([]);
      expect(problemOf(problems, 'marcus_3.json')).toMatchObject({ code: 'NOT_REGULAR_FILE', action: 'skipped' });
      expect(problemOf(problems, 'marcus_4.json')).toMatchObject({ code: 'NOT_REGULAR_FILE', action: 'skipped' });
      expect(await store.get('marcus_3')).toBeUndefined();
      await expect(store.delete('marcus_3')).rejects.toMatchObject({ code: 'NOT_A_REGISTRY' });
      expect((await readdir(dir)).sort()).toEqual(['marcus_3.json', 'marcus_4.json']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports an oversize file without reading it', async () => {
    // A valid record padded past the limit: were it read, it would be listed.
    const padded = json(makeRecord({ instance_id: 'marcus_5', padding: 'x'.repeat(300 * 1024) }));
    await writeFile(join(dir, 'marcus_5.json'), padded);
    // 100 MB (sparse): reading it would allocate all of it.
    await writeFile(join(dir, 'marcus_6.json'), '{');
    await truncate(join(dir, 'marcus_6.json'), 100 * 1024 * 1024);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_5.json')).toMatchObject({ code: 'TOO_LARGE', action: 'skipped' });
    expect(problemOf(problems, 'marcus_6.json')).toMatchObject({ code: 'TOO_LARGE', action: 'skipped' });
    expect(await store.get('marcus_5')).toBeUndefined();
  });

  it('honours maxFileBytes', async () => {
    const small = await openJsonDirStore({ dir, maxFileBytes: 100 });
    await store.put(makeRecord({ instance_id: 'marcus_7' }));
    expect((await store.list()).entries).toHaveLength(1);
    const { entries, problems } = await small.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_7.json')).toMatchObject({ code: 'TOO_LARGE' });
  });

  it('leaves a young torn file (the Python writer is not atomic) in place for its writer', async () => {
    const torn = '{"instance_id": "marcus_9", "pi';
    await writeFile(join(dir, 'marcus_9.json'), torn);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_9.json')).toMatchObject({ code: 'UNPARSABLE', action: 'left-for-writer' });
    expect(await readFile(join(dir, 'marcus_9.json'), 'utf8')).toBe(torn);
  });

  it('moves an old torn file into .quarantine with its bytes intact, never deleting it', async () => {
    const torn = '{"instance_id": "marcus_10", "pi';
    const path = join(dir, 'marcus_10.json');
    await writeFile(path, torn);
    await aMinuteAgo(path);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_10.json')).toMatchObject({ code: 'UNPARSABLE', action: 'quarantined' });
    expect(await readdir(dir)).toEqual(['.quarantine']);
    const moved = await readdir(join(dir, '.quarantine'));
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatch(/^marcus_10\.json\.\d{13}$/);
    expect(await readFile(join(dir, '.quarantine', moved[0] as string), 'utf8')).toBe(torn);
    // The quarantine is not an entry and is not reported on the next list.
    expect(await store.list()).toEqual({ entries: [], problems: [] });
  });

  it('decides young versus old by the injected clock against the file mtime', async () => {
    const path = join(dir, 'marcus_11.json');
    await writeFile(path, '{');
    const later = await openJsonDirStore({ dir, graceMs: 5_000, now: () => Date.now() + 6_000 });
    expect(problemOf((await later.list()).problems, 'marcus_11.json').action).toBe('quarantined');
  });

  it('does not quarantine an old torn file while its lock is held', async () => {
    const path = join(dir, 'marcus_12.json');
    await writeFile(path, '{');
    await aMinuteAgo(path);
    await mkdir(`${path}.lock`); // what proper-lockfile makes; fresh mtime = held
    const { problems } = await store.list();
    expect(problemOf(problems, 'marcus_12.json')).toMatchObject({ code: 'UNPARSABLE', action: 'left-for-writer' });
    expect(await readFile(path, 'utf8')).toBe('{');
  });

  it('treats invalid UTF-8 as unparsable', async () => {
    const path = join(dir, 'marcus_13.json');
    const bytes = Buffer.concat([Buffer.from('{"instance_id": "marcus_13", "status": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    await writeFile(path, bytes);
    expect(problemOf((await store.list()).problems, 'marcus_13.json')).toMatchObject({ code: 'UNPARSABLE', action: 'left-for-writer' });
    await aMinuteAgo(path);
    expect(problemOf((await store.list()).problems, 'marcus_13.json')).toMatchObject({ code: 'UNPARSABLE', action: 'quarantined' });
  });

  it.each([
    ['an array', []],
    ['a string', 'marcus'],
    ['a record with pid 0', { ...makeRecord({ instance_id: 'marcus_14' }), pid: 0 }],
    ['a record with a negative pid', { ...makeRecord({ instance_id: 'marcus_14' }), pid: -5 }],
    ['a record with a huge pid', { ...makeRecord({ instance_id: 'marcus_14' }), pid: 2 ** 40 }],
    ['a record with started_at a number', { ...makeRecord({ instance_id: 'marcus_14' }), started_at: 17 }],
    ['a record without mcp_command', { ...makeRecord({ instance_id: 'marcus_14' }), mcp_command: undefined }],
  ])('leaves valid JSON of the wrong shape (%s) in place, old or young', async (_what, value) => {
    const path = join(dir, 'marcus_14.json');
    await writeFile(path, json(value));
    await aMinuteAgo(path);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_14.json')).toMatchObject({ code: 'INVALID_RECORD', action: 'skipped' });
    expect(await readFile(path, 'utf8')).toBe(json(value));
  });

  it('leaves a record of a newer schema_version in place', async () => {
    const path = join(dir, 'marcus_15.json');
    const newer = json({ ...makeRecord({ instance_id: 'marcus_15' }), schema_version: 2, new_field: { x: 1 } });
    await writeFile(path, newer);
    await aMinuteAgo(path);
    expect(problemOf((await store.list()).problems, 'marcus_15.json')).toMatchObject({ code: 'UNSUPPORTED_SCHEMA_VERSION', action: 'skipped' });
    expect(await readFile(path, 'utf8')).toBe(newer);
  });

  it('leaves a record whose instance_id differs from its file name in place', async () => {
    const path = join(dir, 'marcus_16.json');
    const other = json(makeRecord({ instance_id: 'marcus_17' }));
    await writeFile(path, other);
    const { entries, problems } = await store.list();
    expect(entries).toEqual([]);
    expect(problemOf(problems, 'marcus_16.json')).toMatchObject({ code: 'ID_MISMATCH', action: 'skipped' });
    expect(await store.get('marcus_16')).toBeUndefined();
    expect(await store.get('marcus_17')).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe(other);
  });

  it('leaves unrelated files alone and does not report them', async () => {
    const unrelated = ['README', 'foo.txt', 'marcus_1.json~', 'marcus_1.json.3735928559', '.hidden.json', '..json', 'a b.json', '.json'];
    for (const name of unrelated) await writeFile(join(dir, name), 'not json {');
    await mkdir(join(dir, 'marcus_2.json.lock'));
    await mkdir(join(dir, '.quarantine'));
    for (const name of unrelated) await aMinuteAgo(join(dir, name));
    await store.put(makeRecord({ instance_id: 'marcus_real' }));
    const { entries, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.record.instance_id)).toEqual(['marcus_real']);
    expect((await readdir(dir)).sort()).toEqual([...unrelated, 'marcus_2.json.lock', '.quarantine', 'marcus_real.json'].sort());
  });

  it('reads a record the Python registry wrote (naive timestamps, python_version, no hostname or schema_version)', async () => {
    const python = {
      instance_id: 'marcus_12345',
      pid: 12345,
      mcp_command: 'python -m marcus_mcp.server --stdio',
      log_dir: '/home/dev/.marcus/logs',
      project_name: null,
      provider: 'planka',
      status: 'running',
      started_at: '2025-01-15T10:30:00.123456',
      last_heartbeat: '2025-01-15T10:30:00.123456',
      platform: 'Linux',
      python_version: '3.11.7',
      working_directory: '/home/dev/project',
      capabilities: ['project_management'],
    };
    // Python's json.dump(indent=2) has no trailing newline.
    await writeFile(join(dir, 'marcus_12345.json'), JSON.stringify(python, null, 2));
    const { entries, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.record)).toEqual([python]);
    expect((await store.get('marcus_12345'))?.record).toEqual(python);
    // And a rewrite in place (as Python does) is a new version.
    const before = (await store.get('marcus_12345'))?.version;
    await writeFile(join(dir, 'marcus_12345.json'), JSON.stringify({ ...python, status: 'stopping' }, null, 2));
    expect((await store.get('marcus_12345'))?.version).not.toBe(before);
  });

  it('writes files a glob of marcus_*.json and json.load can read back', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_777', pid: 777 }));
    const names = (await readdir(dir)).filter((n) => /^marcus_.*\.json$/.test(n));
    expect(names).toEqual(['marcus_777.json']);
    const loaded = JSON.parse(await readFile(join(dir, 'marcus_777.json'), 'utf8'));
    expect(loaded).toMatchObject({ instance_id: 'marcus_777', pid: 777, schema_version: 1, status: 'running' });
  });

  it('refuses to update an entry it cannot parse, and leaves it', async () => {
    await writeFile(join(dir, 'marcus_18.json'), '{"torn');
    await expect(store.update('marcus_18', (r) => r)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(await readFile(join(dir, 'marcus_18.json'), 'utf8')).toBe('{"torn');
  });

  it('lets an error thrown by the mutation through unchanged, and leaves the entry and no lock behind', async () => {
    await store.put(makeRecord({ instance_id: 'marcus_19', status: 'running' }));
    const thrown = new TypeError('caller bug');
    await expect(
      store.update('marcus_19', () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect((await store.get('marcus_19'))?.record.status).toBe('running');
    expect(await readdir(dir)).toEqual(['marcus_19.json']);
  });

  it('still lists every good entry next to many bad ones', async () => {
    for (let i = 0; i < 30; i++) await store.put(makeRecord({ instance_id: `marcus_good${i}` }));
    for (let i = 0; i < 30; i++) await writeFile(join(dir, `marcus_bad${i}.json`), i % 2 ? '[]' : '{');
    const { entries, problems } = await store.list();
    expect(entries).toHaveLength(30);
    expect(problems).toHaveLength(30);
  });
});
