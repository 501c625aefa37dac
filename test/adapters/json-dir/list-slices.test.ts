import { stat } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import { yieldToEventLoop } from '../../../src/adapters/shared/yield-to-event-loop.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import { makeRecord } from '../../support/records.js';
import { makeTempDir } from './temp-dir.js';

/**
 * list() reads most entries with synchronous system calls in short slices and
 * yields to the event loop between them; unparsable entries go through the
 * asynchronous path (mid-rewrite retries, quarantine). The outcome is the same
 * as one entry at a time: every good entry, every problem, in readdir order.
 */
describe('json-dir store: a listing read in slices', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: JsonDirStore;

  beforeEach(async () => {
    temp = await makeTempDir();
    store = await openJsonDirStore({ dir: temp.path, graceMs: 0, midWriteRetryMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  const id = (i: number) => `marcus_slice_${String(i).padStart(5, '0')}`;

  it('lets the event loop run while it reads thousands of entries, and finds every one', async () => {
    const count = 3000;
    for (let i = 0; i < count; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => writeFile(join(temp.path, `${id(i + j)}.json`), encodeRecord(makeRecord({ instance_id: id(i + j) })), { mode: 0o600 })));
    }
    let ticks = 0;
    let listing = true;
    const tick = (): void => {
      ticks++;
      if (listing) setImmediate(tick);
    };
    setImmediate(tick);
    const { entries, problems } = await store.list();
    listing = false;
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.record.instance_id).sort()).toEqual(Array.from({ length: count }, (_, i) => id(i)));
    // 3000 opens, reads and validations take far longer than one slice: the loop ran in between.
    expect(ticks).toBeGreaterThan(1);
  });

  it('between two slices lets due timers run, even when the listing resumed from an I/O callback', async () => {
    // From an I/O callback (the poll phase), as a listing's first slice runs once readdir answers.
    const timerRanFirst = await new Promise<boolean>((resolve, reject) => {
      stat(temp.path, (error) => {
        if (error) return reject(error);
        let fired = false;
        setTimeout(() => (fired = true), 0);
        // Make the timer due (at least 1 ms) before yielding, as a slice of work would.
        for (const start = performance.now(); performance.now() - start < 3; );
        yieldToEventLoop().then(() => resolve(fired), reject);
      });
    });
    expect(timerRanFirst).toBe(true);
  });

  it('gives the same entries and problems as before for good, unparsable, invalid and foreign files mixed', async () => {
    await writeFile(join(temp.path, `${id(1)}.json`), encodeRecord(makeRecord({ instance_id: id(1) })), { mode: 0o600 });
    await writeFile(join(temp.path, `${id(2)}.json`), '{"instance_id": "marcus_slice_0', { mode: 0o600 });
    await writeFile(join(temp.path, `${id(3)}.json`), encodeRecord(makeRecord({ instance_id: id(4) })), { mode: 0o600 });
    await writeFile(join(temp.path, `${id(5)}.json`), '{"instance_id": 5}\n', { mode: 0o600 });
    await writeFile(join(temp.path, `${id(6)}.json`), encodeRecord(makeRecord({ instance_id: id(6) })), { mode: 0o600 });
    const { entries, problems } = await store.list();
    expect(entries.map((e) => e.record.instance_id).sort()).toEqual([id(1), id(6)]);
    const byEntry = Object.fromEntries(problems.map((p) => [p.entry, p]));
    expect(byEntry[`${id(2)}.json`]).toMatchObject({ code: 'UNPARSABLE', action: 'quarantined' });
    expect(byEntry[`${id(3)}.json`]).toMatchObject({ code: 'ID_MISMATCH', action: 'skipped' });
    expect(byEntry[`${id(5)}.json`]).toMatchObject({ code: 'INVALID_RECORD', action: 'skipped' });
    expect(problems).toHaveLength(3);
  });

  it('reads batches of entries, large ones among them, each into its own record', async () => {
    // Entries are read a batch at a time into one shared buffer, then parsed: a region handed out
    // twice, or reused before its entry was parsed, would give one entry another's bytes.
    // Three entries of ~150 KB (unknown fields kept as read) do not fit the buffer together.
    const count = 100;
    const large = new Set([5, 40, 41]);
    const padding = Object.fromEntries(Array.from({ length: 1500 }, (_, k) => [`x_pad_${k}`, 'p'.repeat(90)]));
    for (let i = 0; i < count; i++) {
      const record = makeRecord({ instance_id: id(i), project_name: `project ${i}`, ...(large.has(i) ? padding : {}) });
      await writeFile(join(temp.path, `${id(i)}.json`), encodeRecord(record), { mode: 0o600 });
    }
    await writeFile(join(temp.path, `${id(70)}.json`), '{"instance_id": "torn', { mode: 0o600 });
    const { entries, problems } = await store.list();
    expect(problems.filter((p) => p.code !== 'FOREIGN_FIELD').map((p) => [p.entry, p.code])).toEqual([[`${id(70)}.json`, 'UNPARSABLE']]);
    const byId = new Map(entries.map((e) => [e.record.instance_id, e.record]));
    expect(byId.size).toBe(count - 1);
    for (let i = 0; i < count; i++) {
      if (i === 70) continue;
      expect(byId.get(id(i))?.project_name).toBe(`project ${i}`);
      expect(Object.keys(byId.get(id(i)) ?? {}).filter((key) => key.startsWith('x_pad_'))).toHaveLength(large.has(i) ? 1500 : 0);
    }
  });

  it('decodes an entry too large for the shared buffer by itself, even in a batch that is all ASCII', async () => {
    // Larger than the 256 KiB shared buffer whatever order readdir gives: it always gets a buffer of its
    // own, next to small ASCII entries; its project name is raw UTF-8 (a hand-written file).
    const wide = await openJsonDirStore({ dir: temp.path, graceMs: 0, midWriteRetryMs: 0, maxFileBytes: 1024 * 1024 });
    try {
      const bulk = Array.from({ length: 80 }, (_, i) => `${i}`.padEnd(4000, 'x'));
      const large = encodeRecord(makeRecord({ instance_id: id(0), project_name: 'PROJECT', mcp_args: bulk })).replace('PROJECT', 'café ☕');
      expect(Buffer.byteLength(large)).toBeGreaterThan(256 * 1024);
      await writeFile(join(temp.path, `${id(0)}.json`), large, { mode: 0o600 });
      for (let i = 1; i <= 3; i++) await writeFile(join(temp.path, `${id(i)}.json`), encodeRecord(makeRecord({ instance_id: id(i), project_name: `ascii ${i}` })), { mode: 0o600 });
      const { entries, problems } = await wide.list();
      expect(problems).toEqual([]);
      const byId = new Map(entries.map((e) => [e.record.instance_id, e.record]));
      expect(byId.get(id(0))?.project_name).toBe('café ☕');
      expect(byId.get(id(0))?.mcp_args).toEqual(bulk);
      expect([1, 2, 3].map((i) => byId.get(id(i))?.project_name)).toEqual(['ascii 1', 'ascii 2', 'ascii 3']);
    } finally {
      await wide.close();
    }
  });

  it('gives two listings of two stores at once each its own entries', async () => {
    // Both share one read buffer: a batch is read and parsed without a yield, so neither sees the other's bytes.
    const other = await makeTempDir();
    try {
      const second = await openJsonDirStore({ dir: other.path, graceMs: 0, midWriteRetryMs: 0 });
      for (let i = 0; i < 150; i++) {
        await writeFile(join(temp.path, `${id(i)}.json`), encodeRecord(makeRecord({ instance_id: id(i), mcp_command: `first ${i}` })), { mode: 0o600 });
        await writeFile(join(other.path, `${id(i)}.json`), encodeRecord(makeRecord({ instance_id: id(i), mcp_command: `second ${i} ${'y'.repeat(i)}` })), { mode: 0o600 });
      }
      const [a, b] = await Promise.all([store.list(), second.list()]);
      expect(a.problems).toEqual([]);
      expect(b.problems).toEqual([]);
      expect(new Set(a.entries.map((e) => e.record.mcp_command))).toEqual(new Set(Array.from({ length: 150 }, (_, i) => `first ${i}`)));
      expect(new Set(b.entries.map((e) => e.record.mcp_command))).toEqual(new Set(Array.from({ length: 150 }, (_, i) => `second ${i} ${'y'.repeat(i)}`)));
    } finally {
      await other.remove();
    }
  });
});
