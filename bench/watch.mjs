// The watch-latency benchmark belongs to the watch feature (bench/watch-latency.mjs):
// `npm run bench` runs it after the store figures, on the same stores, and keeps
// its rows in the results file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The rows of bench/watch-latency.mjs, or undefined when that module is absent. */
export async function runWatchLatency(repo, { quick, stores }, log) {
  const script = join(repo, 'bench', 'watch-latency.mjs');
  if (!existsSync(script)) {
    log('\nwatch latency: bench/watch-latency.mjs is not there; skipped');
    return undefined;
  }
  const { watchLatency, latencyTable } = await import(pathToFileURL(script).href);
  log('\nwatch latency: update() resolved → its event in a watch on another store object (ms)');
  const rows = await watchLatency({ quick, stores });
  log(latencyTable(rows));
  return rows;
}
