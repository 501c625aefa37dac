import { copyFile, mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryCopy } from '../support/library-copy.js';
import { ROOT, runToEnd, tempRegistryDir } from '../support/processes.js';

/**
 * The library's entry (dist/index.js) runs lib.bundle.cjs, and a chunk
 * (lib.registry.cjs: the wiring, the JSON store) when first used, each with the
 * V8 code cache the build wrote (ADR 0026, ADR 0035). A cache V8 refuses
 * (garbage, another Node's, other V8 flags) or a missing one only costs
 * compile time: a registrant and a discovery work the same, with nothing on
 * stderr. Each case puts the same kind of cache in place of both the build writes.
 */
describe('marcus-registry library: its code cache is an optimisation only', () => {
  const cases: Array<[string, ((path: string) => Promise<void>) | undefined, string[]]> = [
    ['a garbage cache', (path) => writeFile(path, 'not a V8 code cache'), []],
    ['no cache', undefined, []],
    // A cache that opens but cannot be read.
    ['a directory where the cache should be', (path) => mkdir(path), []],
    // A giant (here sparse) file is not read: no cache of this bundle is that large.
    ['a 5 GB sparse cache', (path) => writeFile(path, '').then(() => truncate(path, 5 * 2 ** 30)), []],
    // The build's own cache, under flags it was not made with (V8 may refuse it then).
    ['the build\'s cache and other V8 flags', (path) => copyFile(path.replace(/^.*[\\/]/, join(ROOT, 'dist/')), path), ['--max-lazy']],
  ];
  for (const [what, makeCache, flags] of cases) {
    it(`registers and discovers with ${what}`, async () => {
      const bundles = (files: string[]) => files.filter((file) => /^lib\.\w+\.cjs$/.test(file));
      await using lib = await libraryCopy(bundles);
      await using tmp = await tempRegistryDir();
      expect(bundles(await readdir(lib.dir))).toEqual(expect.arrayContaining(['lib.bundle.cjs', 'lib.registry.cjs']));
      // The caches the build writes (a registrant's and a discovery's bundles).
      if (makeCache) for (const cache of ['lib.bundle.cache', 'lib.registry.cache']) await makeCache(join(lib.dir, cache));
      const script = [
        `const { createRegistry } = await import(${JSON.stringify(lib.entry)});`,
        `const registry = await createRegistry({ store: ${JSON.stringify(`json:${tmp.dir}`)} });`,
        "await registry.register({ instanceId: 'marcus_cache_lib', mcpCommand: 'node server.js' });",
        'console.log((await registry.discover()).map((r) => r.instance_id).join(","));',
        'await registry.close();',
      ].join('\n');
      const run = await runToEnd(process.execPath, [...flags, '--input-type=module', '-e', script]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('marcus_cache_lib\n');
    });
  }
});
