import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compiledModule } from '../adapters/json-dir/compiled.js';
import { ROOT, runToEnd } from '../support/processes.js';

/**
 * The short CI version of `npm run torture` (docs/reliability.md): 12 real
 * registrants heartbeating every 50 ms, 2 discoverer processes, 3 registrants
 * SIGKILLed at random moments, 7 s per store, JSON directory then SQLite.
 */
describe('torture (short): real registrants, discoverers and SIGKILLs on both local stores', () => {
  it('misses no live instance, deletes no live entry, lists no confirmed-dead one, reads nothing corrupt', { timeout: 180_000 }, async () => {
    compiledModule('index.ts'); // fails loudly on a missing or stale build
    const out = await mkdtemp(join(tmpdir(), 'marcus-torture-test-'));
    try {
      const resultsFile = join(out, 'results.json');
      const run = await runToEnd(
        process.execPath,
        [join(ROOT, 'scripts/torture/torture.mjs'), '--seconds', '7', '--store', 'both', '--registrants', '12', '--discoverers', '2', '--json', resultsFile],
        { cwd: ROOT },
      );
      process.stdout.write(`${run.stdout}\n`);
      expect(run.stderr).not.toMatch(/torture failed to run/);
      const { ok, results } = JSON.parse(await readFile(resultsFile, 'utf8')) as {
        ok: boolean;
        results: Array<{ store: string; killed: number; figures: Record<string, number> }>;
      };
      expect(results.map((r) => r.store)).toEqual(['json', 'sqlite']);
      for (const result of results) {
        const { discoveries, ...mustBeZero } = result.figures;
        expect({ store: result.store, ...mustBeZero }).toEqual({
          store: result.store,
          missedLive: 0,
          liveDeleted: 0,
          killedStillListed: 0,
          corruptReads: 0,
          discoveryErrors: 0,
          registrantErrors: 0,
        });
        expect(result.killed).toBe(3);
        // Enough discoveries for the zeros to mean something (a few hundred on 2 busy cores).
        expect(discoveries, `${result.store} discoveries`).toBeGreaterThan(100);
      }
      expect(ok).toBe(true);
      expect(run.code).toBe(0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
