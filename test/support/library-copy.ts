import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/**
 * A copy of the built library's Node entry in a directory of its own
 * (removed afterwards): dist/index.js and the files of dist/ that `pick`
 * chooses from its listing, for a test that removes, breaks or replaces some
 * of them. `entry` is the copy's index.js.
 */
export async function libraryCopy(pick: (distFiles: string[]) => string[]): Promise<{ dir: string; entry: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'marcus-lib-'));
  for (const file of ['index.js', ...pick(await readdir(join(ROOT, 'dist')))]) await copyFile(join(ROOT, 'dist', file), join(dir, file));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { dir, entry: join(dir, 'index.js'), [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}
