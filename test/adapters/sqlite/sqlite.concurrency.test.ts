import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { makeRecord } from '../../support/records.js';
import { ensureBuilt, runFixture } from './sqlite.fixtures.js';

interface RegistrantReport {
  readonly id: string;
  readonly beats: number;
  readonly errors: readonly unknown[];
  readonly monotonic: boolean;
}
interface ListerReport {
  readonly lists: number;
  readonly errors: readonly unknown[];
  readonly problems: readonly unknown[];
  readonly regressions: readonly unknown[];
}

const PROCESSES = 16;

describe('sqlite store: many real processes at once', () => {
  let dir: string;
  beforeAll(ensureBuilt, 120_000);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-procs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runAll(path: string) {
    const ids = Array.from({ length: PROCESSES }, (_, i) => `marcus_proc_${i}`);
    const [lister, ...registrants] = await Promise.all([
      runFixture<ListerReport>('sqlite-lister.mjs', [path, '2500']),
      ...ids.map((id) => runFixture<RegistrantReport>('sqlite-registrant.mjs', [path, id, '2000', '20'])),
    ]);
    return { ids, lister: lister as ListerReport, registrants: registrants as RegistrantReport[] };
  }

  async function expectAllPresent(path: string, ids: readonly string[], registrants: readonly RegistrantReport[]) {
    const store = await openSqliteStore({ path });
    try {
      const { entries, problems } = await store.list();
      expect(problems).toEqual([]);
      expect(entries.map((e) => e.record.instance_id).sort()).toEqual([...ids].sort());
      for (const report of registrants) {
        const entry = entries.find((e) => e.record.instance_id === report.id)!;
        // Every heartbeat a child saw succeed is in the row: none was lost.
        expect(entry.record['beats'], report.id).toBe(report.beats);
      }
    } finally {
      await store.close();
    }
  }

  it('16 registrants heartbeating every 20 ms and a lister, on an existing registry: no error, nothing lost', async () => {
    const path = join(dir, 'registry.db');
    const seed = await openSqliteStore({ path });
    await seed.put(makeRecord({ instance_id: 'marcus_seed' }));
    await seed.delete('marcus_seed');
    await seed.close();

    const { ids, lister, registrants } = await runAll(path);
    for (const report of registrants) {
      expect(report.errors, report.id).toEqual([]);
      expect(report.monotonic, report.id).toBe(true);
      expect(report.beats, report.id).toBeGreaterThan(0);
    }
    expect(lister.errors).toEqual([]);
    expect(lister.problems).toEqual([]);
    expect(lister.regressions).toEqual([]);
    expect(lister.lists).toBeGreaterThan(0);
    await expectAllPresent(path, ids, registrants);
  });

  it('16 registrants racing to create the same new database file: one schema, no error', async () => {
    const path = join(dir, 'cold', 'registry.db');
    const { ids, lister, registrants } = await runAll(path);
    expect(lister.errors).toEqual([]);
    expect(lister.regressions).toEqual([]);
    for (const report of registrants) {
      expect(report.errors, report.id).toEqual([]);
      expect(report.monotonic, report.id).toBe(true);
    }
    await expectAllPresent(path, ids, registrants);
  });
});
