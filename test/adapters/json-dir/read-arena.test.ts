import { execFileSync } from 'node:child_process';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interpretEntryBytes, isUnchangedSync, ReadArena, readEntryBytesSync, readEntryStateSync } from '../../../src/adapters/json-dir/entry-file.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

// A listing reads a batch of entries into one shared buffer, then interprets them (ADR 0032).
describe('ReadArena', () => {
  it('hands out regions that do not overlap, until reset', () => {
    const arena = new ReadArena(64);
    const a = arena.take(20);
    const b = arena.take(30);
    arena.buffer.fill(1, a, a + 20);
    arena.buffer.fill(2, b, b + 30);
    expect(a).toBe(0);
    expect(b).toBe(20);
    expect(arena.buffer.subarray(0, 20).every((byte) => byte === 1)).toBe(true);
    expect(arena.buffer.subarray(20, 50).every((byte) => byte === 2)).toBe(true);
    expect(arena.overflowed).toBe(false);
    arena.reset();
    expect(arena.take(10)).toBe(0);
  });

  it('says a read that does not fit needs a buffer of its own, and says so until reset', () => {
    const arena = new ReadArena(64);
    expect(arena.take(40)).toBe(0);
    expect(arena.take(40)).toBe(-1);
    expect(arena.overflowed).toBe(true);
    // What still fits goes on in the shared buffer, after what was taken.
    expect(arena.take(24)).toBe(40);
    arena.reset();
    expect(arena.overflowed).toBe(false);
  });

  it('tells whether all it holds since the last reset is ASCII', () => {
    const arena = new ReadArena(64);
    expect(arena.isAscii()).toBe(true);
    const a = arena.take(4);
    arena.buffer.write('abcd', a, 'latin1');
    expect(arena.isAscii()).toBe(true);
    const b = arena.take(2);
    arena.buffer.write('é', b, 'utf8');
    expect(arena.isAscii()).toBe(false);
    arena.reset();
    arena.buffer.write('xy', arena.take(2), 'latin1');
    expect(arena.isAscii()).toBe(true); // the non-ASCII bytes beyond what is held now do not count
  });
});

describe('readEntryBytesSync, then interpretEntryBytes', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir();
  });
  afterEach(async () => {
    await temp.remove();
  });

  const id = (i: number) => `marcus_arena_${i}`;

  it('reads several entries into one arena, then gives each its own record', async () => {
    // Sizes differ (commands of different lengths), and the third does not fit what is left.
    const names = ['a', 'b'.repeat(300), 'c'.repeat(3000), 'd'];
    for (const [i, project] of names.entries()) {
      const record = makeRecord({ instance_id: id(i), project_name: project.slice(0, 1000), mcp_command: `node ${project}` });
      await writeFile(join(temp.path, `${id(i)}.json`), encodeRecord(record));
    }
    const arena = new ReadArena(2500);
    const reads = names.map((_, i) => readEntryBytesSync(join(temp.path, `${id(i)}.json`), 256 * 1024, arena));
    expect(arena.overflowed).toBe(true);
    const records = reads.map((read, i) => {
      if (read.kind !== 'bytes') throw new Error(`entry ${i} was not read: ${JSON.stringify(read)}`);
      expect(read.buffer === arena.buffer).toBe(i !== 2); // the third has a buffer of its own
      const entry = interpretEntryBytes(read, id(i), false);
      if (entry.kind !== 'entry') throw new Error(`entry ${i} did not interpret: ${JSON.stringify(entry)}`);
      return entry.record;
    });
    expect(records.map((record) => [record.instance_id, record.mcp_command])).toEqual(names.map((project, i) => [id(i), `node ${project}`]));
  });

  it('makes the same checks as a single read: no link followed, no FIFO waited on, nothing oversize read', async () => {
    const arena = new ReadArena(4096);
    await writeFile(join(temp.path, 'target.json'), encodeRecord(makeRecord({ instance_id: id(1) })));
    await symlink(join(temp.path, 'target.json'), join(temp.path, `${id(1)}.json`));
    execFileSync('mkfifo', [join(temp.path, `${id(2)}.json`)]);
    await writeFile(join(temp.path, `${id(3)}.json`), encodeRecord(makeRecord({ instance_id: id(3), project_name: 'x'.repeat(2000) })));
    expect(readEntryBytesSync(join(temp.path, `${id(1)}.json`), 4096, arena)).toMatchObject({ kind: 'problem', code: 'NOT_REGULAR_FILE' });
    expect(readEntryBytesSync(join(temp.path, `${id(2)}.json`), 4096, arena)).toMatchObject({ kind: 'problem', code: 'NOT_REGULAR_FILE' });
    expect(readEntryBytesSync(join(temp.path, `${id(3)}.json`), 1000, arena)).toMatchObject({ kind: 'problem', code: 'TOO_LARGE' });
    expect(readEntryBytesSync(join(temp.path, `${id(4)}.json`), 4096, arena)).toEqual({ kind: 'missing' });
    // Nothing was taken from the arena by the refused reads.
    expect(arena.take(4096)).toBe(0);
  });

  it('decodes each entry of a batch that is not all ASCII by itself: UTF-8 read, broken UTF-8 refused', async () => {
    const arena = new ReadArena(64 * 1024);
    await writeFile(join(temp.path, `${id(1)}.json`), encodeRecord(makeRecord({ instance_id: id(1), project_name: 'plain' })));
    // Hand-written: the project name in raw UTF-8, not escaped as both registries write it.
    await writeFile(join(temp.path, `${id(2)}.json`), encodeRecord(makeRecord({ instance_id: id(2), project_name: 'PROJECT' })).replace('PROJECT', 'café ☕'));
    await writeFile(join(temp.path, `${id(3)}.json`), Buffer.concat([Buffer.from(encodeRecord(makeRecord({ instance_id: id(3) })).slice(0, -2)), Buffer.from([0xc3, 0x28]), Buffer.from('}')]));
    const reads = [1, 2, 3].map((i) => readEntryBytesSync(join(temp.path, `${id(i)}.json`), 4096, arena));
    expect(arena.isAscii()).toBe(false);
    const [plain, utf8, broken] = reads.map((read, i) => {
      if (read.kind !== 'bytes') throw new Error(`entry ${i} was not read: ${JSON.stringify(read)}`);
      return interpretEntryBytes(read, id(i + 1), false);
    });
    expect(plain).toMatchObject({ kind: 'entry', record: { project_name: 'plain' } });
    expect(utf8).toMatchObject({ kind: 'entry', record: { project_name: 'café ☕' } });
    expect(broken).toMatchObject({ kind: 'problem', code: 'UNPARSABLE', message: 'entry is not valid UTF-8' });
  });

  it('gives the version of the bytes read, as a later read gives it, and a new one once the bytes change', async () => {
    const arena = new ReadArena(4096);
    const path = join(temp.path, `${id(1)}.json`);
    const text = encodeRecord(makeRecord({ instance_id: id(1), status: 'aaaa' }));
    await writeFile(path, text);
    const read = readEntryBytesSync(path, 4096, arena);
    if (read.kind !== 'bytes') throw new Error(`not read: ${JSON.stringify(read)}`);
    const entry = interpretEntryBytes(read, id(1), arena.isAscii());
    if (entry.kind !== 'entry' || entry.stamp === undefined) throw new Error(`not interpreted with a stamp: ${JSON.stringify(entry)}`);
    expect(entry.version).toBe(text);
    expect(readEntryStateSync(path, 4096)).toEqual({ kind: 'bytes', version: entry.version, stamp: entry.stamp });
    expect(isUnchangedSync(path, entry.stamp)).toBe(true);
    // As the Python writer does: the same inode, the same size, rewritten in place.
    await writeFile(path, encodeRecord(makeRecord({ instance_id: id(1), status: 'bbbb' })));
    expect(readEntryStateSync(path, 4096)).toMatchObject({ kind: 'bytes', version: expect.not.stringMatching(/aaaa/) });
    // The same bytes written again: the same version (equal tokens mean equal contents), though the stamp moved.
    const before = new Date(Date.now() - 60_000);
    await writeFile(path, text);
    await utimes(path, before, before);
    expect(readEntryStateSync(path, 4096)).toMatchObject({ kind: 'bytes', version: entry.version });
    expect(isUnchangedSync(path, entry.stamp)).toBe(false);
    expect(readEntryStateSync(join(temp.path, 'absent.json'), 4096)).toEqual({ kind: 'missing' });
    expect(readEntryStateSync(path, 10)).toEqual({ kind: 'other' }); // larger than allowed
  });

  // Without a stat: an entry seen for the first time (ADR 0034).
  it('reads the file in one read, gives its record the same version, and no stamp', async () => {
    const arena = new ReadArena(64 * 1024);
    const text = encodeRecord(makeRecord({ instance_id: id(1) }));
    await writeFile(join(temp.path, `${id(1)}.json`), text);
    const read = readEntryBytesSync(join(temp.path, `${id(1)}.json`), 256 * 1024, arena, false);
    if (read.kind !== 'bytes') throw new Error(`not read: ${JSON.stringify(read)}`);
    expect(read.stats).toBeUndefined();
    expect(read.end - read.start).toBe(Buffer.byteLength(text));
    // What the read did not fill went back to the arena: the next region starts right after the file.
    expect(arena.take(10)).toBe(read.end);
    const entry = interpretEntryBytes(read, id(1), false);
    expect(entry).toMatchObject({ kind: 'entry', version: text, record: { instance_id: id(1) } });
    expect(entry.kind === 'entry' && entry.stamp).toBeUndefined();
  });

  it('gives a file too large for its first read to the full read, which refuses it, and one that just fits its record', async () => {
    const arena = new ReadArena(64 * 1024);
    const small = encodeRecord(makeRecord({ instance_id: id(1) }));
    const max = Buffer.byteLength(small);
    await writeFile(join(temp.path, `${id(1)}.json`), small);
    await writeFile(join(temp.path, `${id(2)}.json`), `${small} `); // one byte over
    const fits = readEntryBytesSync(join(temp.path, `${id(1)}.json`), max, arena, false);
    expect(fits).toMatchObject({ kind: 'bytes', stats: undefined });
    expect(readEntryBytesSync(join(temp.path, `${id(2)}.json`), max, arena, false)).toMatchObject({ kind: 'problem', code: 'TOO_LARGE' });
  });

  it('refuses a directory, never follows a link, and does not wait on a FIFO', async () => {
    const arena = new ReadArena(64 * 1024);
    await mkdir(join(temp.path, `${id(1)}.json`));
    await writeFile(join(temp.path, 'target.json'), encodeRecord(makeRecord({ instance_id: id(2) })));
    await symlink(join(temp.path, 'target.json'), join(temp.path, `${id(2)}.json`));
    execFileSync('mkfifo', [join(temp.path, `${id(3)}.json`)]);
    expect(readEntryBytesSync(join(temp.path, `${id(1)}.json`), 4096, arena, false)).toMatchObject({ kind: 'problem', code: 'NOT_REGULAR_FILE' });
    expect(readEntryBytesSync(join(temp.path, `${id(2)}.json`), 4096, arena, false)).toMatchObject({ kind: 'problem', code: 'NOT_REGULAR_FILE' });
    // Opened at once (O_NONBLOCK); a read at an offset fails on it (ESPIPE).
    expect(readEntryBytesSync(join(temp.path, `${id(3)}.json`), 4096, arena, false)).toMatchObject({ kind: 'problem', code: 'NOT_REGULAR_FILE' });
    // Nothing refused kept any of the arena.
    expect(arena.take(10)).toBe(0);
  });
});
