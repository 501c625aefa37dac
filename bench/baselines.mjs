// What the file system costs by itself, measured in the same run so the store's
// figures can be given as ratios that hold on a noisy machine.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { eachBounded } from './stores.mjs';

/**
 * The least a JSON-directory discovery can do: readdir, then readFile of every
 * entry file (`*.json`), 64 at a time as the store reads them. No parsing, no validation, no liveness.
 */
export async function rawReadAll(dir) {
  // Entry files only, as discovery: unregister leaves its departure note in a .departed/ directory.
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  let bytes = 0;
  await eachBounded(names, 64, async (name) => {
    bytes += (await readFile(join(dir, name))).length;
  });
  return bytes;
}

/** The least a heartbeat can do: one fsync'd atomic write of the record's bytes (no lock, no read, no validation). */
export function rawAtomicWrite(path, text) {
  return writeFileAtomic(path, text, { mode: 0o600, fsync: true, encoding: 'utf8' });
}
