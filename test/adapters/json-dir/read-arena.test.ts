import { execFileSync } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interpretEntryBytes, ReadArena, readEntryBytesSync } from '../../../src/adapters/json-dir/entry-file.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

// A listing reads a batch of entries into one shared buffer, then interprets them (ADR 0032).
describe('ReadArena', () => {
  it('hands out regions that do not overlap, until reset', () => {
    const arena = new ReadArena(64);
    const a = arena.take(20).fill(1);
    const b = arena.take(30).fill(2);
    expect(a.every((byte) => byte === 1)).toBe(true);
    expect(b.every((byte) => byte === 2)).toBe(true);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 20);
    expect(arena.overflowed).toBe(false);
    arena.reset();
    expect(arena.take(10).byteOffset).toBe(a.byteOffset);
  });

  it('gives a read that does not fit a buffer of its own, and says so until reset', () => {
    const arena = new ReadArena(64);
    const a = arena.take(40).fill(1);
    const own = arena.take(40).fill(2);
    expect(own.buffer).not.toBe(a.buffer);
    expect(own).toHaveLength(40);
    expect(a.every((byte) => byte === 1)).toBe(true);
    expect(arena.overflowed).toBe(true);
    // What still fits goes on in the shared buffer.
    expect(arena.take(24).buffer).toBe(a.buffer);
    arena.reset();
    expect(arena.overflowed).toBe(false);
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
      const entry = interpretEntryBytes(read, id(i));
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
    expect(arena.take(4096).byteOffset).toBe(0);
  });
});
