import { join } from 'node:path';
import { NotARegistryError } from '../../domain/errors.js';
import { errnoOf } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

export const QUARANTINE_DIR = '.quarantine';

/**
 * Moves an unparsable entry aside into `<dir>/.quarantine/<name>.<epochms>`
 * (a name no reader takes for an entry). Its bytes are kept for a human to
 * look at; nothing is ever unlinked. Returns the new path.
 */
export async function quarantineFile(dir: string, name: string, nowMs: number): Promise<string> {
  const target = join(dir, QUARANTINE_DIR);
  await fsPromises().mkdir(target, { mode: 0o700 }).then(
    () => fsPromises().chmod(target, 0o700),
    (error: unknown) => {
      if (errnoOf(error) !== 'EEXIST') throw error;
    },
  );
  // A planted symlink would move the file somewhere else.
  const info = await fsPromises().lstat(target);
  if (!info.isDirectory()) throw new NotARegistryError(target, 'the quarantine is not a directory');
  const destination = join(target, `${name}.${Math.trunc(nowMs)}`);
  await fsPromises().rename(join(dir, name), destination);
  return destination;
}
