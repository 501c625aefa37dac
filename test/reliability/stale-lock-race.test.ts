import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode } from '../adapters/json-dir/children.js';
import { compiledModule } from '../adapters/json-dir/compiled.js';
import { makeTempDir } from '../adapters/json-dir/temp-dir.js';
import { makeRecord } from '../support/records.js';
import { openJsonDirStore } from '../../src/adapters/json-dir/json-dir.store.js';

/**
 * Found by the torture run (docs/reliability.md): a registrant SIGKILLed while
 * holding its entry lock leaves a lock directory; once it is stale, several
 * discoverers take it over at once, and proper-lockfile can fail one of them
 * with ENOENT (another's rmdir removed the lock it had just made). That is lock
 * contention, not an unavailable store: cleanup must answer 'busy', not throw.
 */
const RACER = `
  const { openJsonDirStore } = await import(process.argv[1]);
  const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
  const store = await openJsonDirStore({ dir, lockStaleMs: 2000 });
  const outcomes = {};
  for (let round = 0; round < rounds; round++) {
    while (!(await import('node:fs')).existsSync(dir + '/go.' + round)) await new Promise((r) => setTimeout(r, 2));
    const version = (await store.get('marcus_race' + round))?.version ?? 'gone';
    const outcome = await store.deleteIfUnchanged('marcus_race' + round, version).catch((e) => 'threw ' + (e.code ?? e) + ' ' + (e.cause?.code ?? ''));
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  console.log('RESULT ' + JSON.stringify(outcomes));
`;

describe('stale lock takeover race between processes', () => {
  it('processes racing to clean up an entry whose dead owner left a stale lock get deleted/busy/missing, never an error', { timeout: 120_000 }, async () => {
    const temp = await makeTempDir('marcus-race-');
    try {
      const dir = join(temp.path, 'services');
      await mkdir(dir, { mode: 0o700 });
      const rounds = 40;
      const old = new Date(Date.now() - 60_000);
      for (let round = 0; round < rounds; round++) {
        const file = join(dir, `marcus_race${round}.json`);
        await writeFile(file, JSON.stringify(makeRecord({ instance_id: `marcus_race${round}`, pid: 999_999 })), { mode: 0o600 });
        await mkdir(`${file}.lock`);
        await utimes(`${file}.lock`, old, old); // the dead owner's lock, long stale
      }
      const module = compiledModule('adapters/json-dir/json-dir.store.ts');
      const racers = Array.from({ length: 6 }, () => runNode(RACER, [module, dir, String(rounds)]));
      for (let round = 0; round < rounds; round++) {
        await writeFile(join(dir, `go.${round}`), '');
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const totals: Record<string, number> = {};
      for (const racer of racers) {
        const line = await racer.waitFor(/^RESULT /);
        await racer.exited;
        for (const [outcome, n] of Object.entries(JSON.parse(line.slice('RESULT '.length)) as Record<string, number>)) totals[outcome] = (totals[outcome] ?? 0) + n;
      }
      process.stdout.write(`stale lock race outcomes: ${JSON.stringify(totals)}\n`);
      expect(Object.keys(totals).filter((o) => !['deleted', 'busy', 'missing', 'changed'].includes(o))).toEqual([]);
      // Each entry is deleted at most once, and only a 'deleted' answer removes one. A round in which
      // every racer lost the takeover (all 'busy') leaves its entry for the next discovery, by design
      // (cleanup never waits): one more cleanup, alone, removes it.
      const left = (await readdir(dir)).filter((name) => /^marcus_race\d+\.json$/.test(name));
      expect((totals['deleted'] ?? 0) + left.length).toBe(rounds);
      expect(totals['deleted'] ?? 0).toBeGreaterThan(rounds / 2);
      const store = await openJsonDirStore({ dir, lockStaleMs: 2000 });
      for (const name of left) {
        const id = name.slice(0, -'.json'.length);
        const entry = await store.get(id);
        expect(await store.deleteIfUnchanged(id, entry?.version ?? 'gone'), id).toBe('deleted');
      }
    } finally {
      await temp.remove();
    }
  });
});
