import { stat } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { connectionFor, type Connection } from '../domain/connection.js';
import type { ServiceRecord } from '../domain/record.schema.js';
import type { RegistryStore } from '../ports/store.port.js';

/** Rounds of file-existence questions before the answer is taken as it stands (each round asks only new paths). */
const MAX_ROUNDS = 8;

/**
 * How `connect` reaches `record` (ADR 0018): the pure connectionFor, told this
 * host's name, who could have written the store's records, and which files
 * exist here. The domain asks its existence questions synchronously; they are
 * answered here asynchronously (never blocking the event loop) by replaying the
 * pure function until it asks nothing new.
 */
export async function resolveConnection(record: ServiceRecord, store: RegistryStore, localHostname: string): Promise<Connection> {
  const untrustedWriters = store.untrustedWriters
    ? await store.untrustedWriters()
    : `the ${store.kind} store (${store.location}) cannot tell who wrote its records`;
  const base = typeof record.working_directory === 'string' && isAbsolute(record.working_directory) ? record.working_directory : process.cwd();
  const known = new Map<string, boolean>();
  for (let round = 0; ; round++) {
    const asked = new Set<string>();
    const isFile = (path: string): boolean => {
      const answer = known.get(path);
      if (answer === undefined) asked.add(path);
      return answer ?? false;
    };
    const connection = connectionFor(record, { localHostname, untrustedWriters, isFile });
    if (asked.size === 0 || round === MAX_ROUNDS) return connection;
    // Through the thread pool (paths come from the record: a hung mount must not hold the host's
    // event loop), with the callback API: connect's way to its server loads no fs/promises.
    await Promise.all([...asked].map(async (path) => known.set(path, await isRegularFile(resolve(base, path)))));
  }
}

/** Whether `path` is a regular file (through links); false when it is not there or cannot be stat'ed. */
function isRegularFile(path: string): Promise<boolean> {
  return new Promise((answer) => stat(path, (error, stats) => answer(error === null && stats.isFile())));
}
