import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/domain/record.schema.js';
import { makeRecord } from '../support/records.js';
import { ROOT, runToEnd, tempRegistryDir } from '../support/processes.js';

/**
 * The bin (dist/interfaces/cli/main.cjs) runs cli.bundle.cjs with the V8 code cache
 * the build wrote. A cache V8 refuses (made by another Node, truncated,
 * garbage) or a missing one only costs compile time: the CLI works the same,
 * with nothing on stderr.
 */
describe('marcus-registry bin: its code cache is an optimisation only', () => {
  const cases: Array<[string, ((path: string) => Promise<void>) | undefined]> = [
    ['garbage', (path) => writeFile(path, 'not a V8 code cache')],
    ['missing', undefined],
    // One that opens but cannot be read.
    ['directory for a', (path) => mkdir(path)],
    // Another bundle's (the library's): V8 refuses it.
    ['mismatched', (path) => copyFile(join(ROOT, 'dist/lib.bundle.cache'), path)],
  ];
  for (const [what, makeCache] of cases) {
    it(`lists a registry with a ${what} cache`, async () => {
      const bin = await mkdtemp(join(tmpdir(), 'marcus-bin-'));
      await using tmp = await tempRegistryDir();
      try {
        await copyFile(join(ROOT, 'dist/interfaces/cli/main.cjs'), join(bin, 'main.cjs'));
        await copyFile(join(ROOT, 'dist/interfaces/cli/cli.bundle.cjs'), join(bin, 'cli.bundle.cjs'));
        if (makeCache) await makeCache(join(bin, 'cli.bundle.cache'));
        // A record of a live process (this one), so the list is not empty and records are validated.
        await writeFile(join(tmp.dir, 'marcus_cache_test.json'), encodeRecord(makeRecord({ instance_id: 'marcus_cache_test', pid: process.pid })), { mode: 0o600 });
        const listed = await runToEnd(process.execPath, [join(bin, 'main.cjs'), '--store', `json:${tmp.dir}`, 'list', '--json', '--all']);
        expect(listed.stderr).toBe('');
        expect(listed.code).toBe(0);
        expect((JSON.parse(listed.stdout) as Array<{ record: { instance_id: string } }>).map((e) => e.record.instance_id)).toEqual(['marcus_cache_test']);
      } finally {
        await rm(bin, { recursive: true, force: true });
      }
    });
  }
});
