import { chmodSync, lstatSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { isOwnedBy, type EntryOwner } from '../../domain/entry-owner.js';
import { NotARegistryError } from '../../domain/errors.js';
import { assertInstanceId } from '../../domain/instance-id.js';
import { DEPARTURE_NOTE_MS } from '../../ports/store.port.js';
import { changedMsOf, ENTRY_SUFFIX, readEntryFile } from './entry-file.js';
import { errnoOf } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

/**
 * `<dir>/.departed/<id>.json`: where an owner's delete moves its entry file. One
 * rename takes the entry out of the registry and leaves the note that its owner
 * removed it (a clean stop, not a crash) in the same step, so a watcher that
 * sees the entry gone finds the note. Readers (ours, Python's `marcus_*.json`
 * glob) never look into a directory. Notes older than DEPARTURE_NOTE_MS are
 * removed by later departures.
 */
export const DEPARTED_DIR = '.departed';

function departedDir(dir: string): string {
  const target = join(dir, DEPARTED_DIR);
  try {
    mkdirSync(target, { mode: 0o700 });
    chmodSync(target, 0o700);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
  }
  // A planted symlink would move entries somewhere else.
  if (!lstatSync(target).isDirectory()) throw new NotARegistryError(target, `${DEPARTED_DIR} is not a directory`);
  return target;
}

/** Moves `path` (the owner's entry, already checked) into the departures; synchronous, so it also serves exit handlers. */
export function departSync(dir: string, instanceId: string, path: string): void {
  renameSync(path, join(departedDir(dir), `${assertInstanceId(instanceId)}${ENTRY_SUFFIX}`));
}

/** Whether `owner`'s entry of `instanceId` left by its owner's delete within DEPARTURE_NOTE_MS. */
export async function departedCleanly(dir: string, instanceId: string, owner: EntryOwner, maxBytes: number, now: number): Promise<boolean> {
  const note = await readEntryFile(join(dir, DEPARTED_DIR, `${assertInstanceId(instanceId)}${ENTRY_SUFFIX}`), instanceId, maxBytes);
  return note.kind === 'entry' && isOwnedBy(note.record, owner) && note.stamp !== undefined && now - changedMsOf(note.stamp) <= DEPARTURE_NOTE_MS;
}

/** Best effort: removes notes older than DEPARTURE_NOTE_MS (by ctime: the rename's time). Never throws. */
export async function sweepDepartures(dir: string, now: number): Promise<void> {
  const target = join(dir, DEPARTED_DIR);
  try {
    for (const name of await fsPromises().readdir(target)) {
      if (!name.endsWith(ENTRY_SUFFIX)) continue;
      const path = join(target, name);
      const info = await fsPromises().lstat(path);
      if (info.isFile() && now - Math.max(info.ctimeMs, info.mtimeMs) > DEPARTURE_NOTE_MS) await fsPromises().unlink(path).catch(() => undefined);
    }
  } catch {
    // Only notes: a failed sweep is tried again at the next departure.
  }
}
