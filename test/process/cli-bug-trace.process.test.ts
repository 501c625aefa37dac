import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runToEnd, tempRegistryDir } from '../support/processes.js';

/**
 * The CLI bundle's local names are minified. An error that is not a
 * RegistryError (a bug) is printed with its trace mapped through the bundle's
 * source map: the frames name our TypeScript sources, not cli.bundle.cjs.
 */
describe('marcus-registry bin: a bug prints a trace of source positions', () => {
  it('maps the frames of an unexpected TypeError to src/… positions', async () => {
    // A directory with a space: a trace's paths are mapped whole.
    const bin = await mkdtemp(join(tmpdir(), 'marcus bin-'));
    await using tmp = await tempRegistryDir();
    try {
      const cli = join(ROOT, 'dist/interfaces/cli');
      await copyFile(join(cli, 'main.cjs'), join(bin, 'main.cjs'));
      await copyFile(join(cli, 'cli.bundle.cjs.map'), join(bin, 'cli.bundle.cjs.map'));
      // A bug planted where `list` opens the registry (read-only): null.x throws a TypeError there.
      const bundle = await readFile(join(cli, 'cli.bundle.cjs'), 'latin1');
      const at = bundle.indexOf('{readOnly:!0}');
      expect(at).toBeGreaterThan(0);
      await writeFile(join(bin, 'cli.bundle.cjs'), `${bundle.slice(0, at)}{readOnly:null.x}${bundle.slice(at + '{readOnly:!0}'.length)}`, 'latin1');
      const run = await runToEnd(process.execPath, [join(bin, 'main.cjs'), '--store', `json:${tmp.dir}`, 'list']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^marcus-registry: TypeError: Cannot read properties of null/);
      expect(run.stderr).toMatch(/src\/interfaces\/cli\/commands\/list\.command\.ts:\d+:\d+\)/);
      expect(run.stderr).not.toContain('cli.bundle.cjs:');
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
