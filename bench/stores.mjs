// One fixture per store kind: where its registry lives, how to seed it with live
// or stale entries quickly (outside any timed part), and how to clean up.
// Everything else goes through the compiled facade (dist/), as a user's code would.
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRegistry } from '../dist/index.js';
import { benchRecord } from './records.mjs';
import { startEtcd } from './etcd.mjs';

export const STORE_KINDS = ['json', 'sqlite', 'etcd'];

const encode = (record) => `${JSON.stringify(record, null, 2)}\n`;

/** Runs `fn` over `items`, `limit` at a time. */
export async function eachBounded(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A registry facade on `uri`, with no exit hooks (the bench unregisters itself). */
export function openRegistry(uri) {
  return createRegistry({ store: uri, settings: { exitHooks: false } });
}

/**
 * @param {'json'|'sqlite'|'etcd'} kind
 * @param {string} root a scratch directory for this run
 * @param {number} startTimeMs this process's start time, for live records
 */
export async function openFixture(kind, root, startTimeMs) {
  switch (kind) {
    case 'json':
      return jsonFixture(root, startTimeMs);
    case 'sqlite':
      return sqliteFixture(root, startTimeMs);
    case 'etcd':
      return etcdFixture(startTimeMs);
    default:
      throw new Error(`unknown store ${kind}`);
  }
}

/** Files written directly (0600 in a 0700 dir), as fast as the file system allows. */
async function jsonFixture(root, startTimeMs) {
  const dir = join(root, 'json-live');
  const pruneDir = join(root, 'json-prune');
  for (const d of [dir, pruneDir]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700);
  }
  const writeAll = (where, ids, stale) =>
    eachBounded(ids, 64, (id) => writeFile(join(where, `${id}.json`), encode(benchRecord(id, { startTimeMs, stale })), { mode: 0o600 }));
  return {
    kind: 'json',
    dir,
    uri: `json:${dir}`,
    pruneUri: `json:${pruneDir}`,
    // The store trusts a file's version (and reuses the record it read) once the
    // file is 2 s old: wait that long, so the figures are those of a settled registry.
    seedLive: async (ids) => {
      await writeAll(dir, ids, false);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
    },
    seedStale: (ids) => writeAll(pruneDir, ids, true),
    close: async () => {},
  };
}

/** Rows written through a store of its own (better-sqlite3 in WAL, synchronous=NORMAL: quick). */
async function sqliteFixture(root, startTimeMs) {
  const file = join(root, 'live.db');
  const pruneFile = join(root, 'prune.db');
  const { openSqliteStore } = await import('../dist/adapters/sqlite/sqlite.store.js');
  const live = await openSqliteStore({ path: file });
  const prune = await openSqliteStore({ path: pruneFile });
  const putAll = async (store, ids, stale) => {
    for (const id of ids) await store.put(benchRecord(id, { startTimeMs, stale }));
  };
  return {
    kind: 'sqlite',
    uri: `sqlite:${file}`,
    pruneUri: `sqlite:${pruneFile}`,
    seedLive: (ids) => putAll(live, ids, false),
    seedStale: (ids) => putAll(prune, ids, true),
    close: async () => {
      await live.close();
      await prune.close();
    },
  };
}

/** Keys put with a plain etcd3 client (no leases: local records are judged by pid). */
async function etcdFixture(startTimeMs) {
  const etcd = await startEtcd();
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: `http://${etcd.hosts}` });
  const prefix = '/marcus-bench/live/';
  const prunePrefix = '/marcus-bench/prune/';
  const putAll = (where, ids, stale) =>
    eachBounded(ids, 64, (id) => client.put(`${where}${id}`).value(encode(benchRecord(id, { startTimeMs, stale }))).exec());
  return {
    kind: 'etcd',
    uri: `etcd://${etcd.hosts}${prefix}`,
    pruneUri: `etcd://${etcd.hosts}${prunePrefix}`,
    seedLive: (ids) => putAll(prefix, ids, false),
    seedStale: (ids) => putAll(prunePrefix, ids, true),
    close: async () => {
      client.close();
      await etcd.stop();
    },
  };
}

export async function removeScratch(root) {
  await rm(root, { recursive: true, force: true });
}
