import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/sqlite/sqlite.store.js';
import { makeRecord } from '../../support/records.js';
import { tempRegistryDir } from '../../support/processes.js';

/**
 * POSIX record locks belong to the process: closing any descriptor of a file
 * drops all of them. Opening a second store on a database this process already
 * has open used to read the file's header through an fd of its own, which
 * silently released the first store's SQLite locks; another process closing
 * its connection then believed itself the last one, checkpointed and removed
 * the -wal and -shm files the first store was still writing to.
 */
function pythonIds(db: string): string[] {
  const script = 'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nprint(",".join(sorted(r[0] for r in c.execute("SELECT instance_id FROM services"))))\nc.close()';
  const result = spawnSync('python3', ['-c', script, db], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim().split(',').filter(Boolean);
}

describe('sqlite store: two stores of one process on one database', () => {
  it('opening and closing a second store keeps the first one’s writes visible to other processes', async () => {
    await using tmp = await tempRegistryDir();
    const db = join(tmp.dir, 'registry.db');
    const first = await openSqliteStore({ path: db });
    try {
      await first.put(makeRecord({ instance_id: 'before' }));
      const second = await openSqliteStore({ path: db });
      await second.list();
      await second.close();
      // Another process opens, reads and closes: it must not find itself the last connection.
      expect(pythonIds(db)).toEqual(['before']);
      await first.put(makeRecord({ instance_id: 'after' }));
      expect(pythonIds(db)).toEqual(['after', 'before']);
    } finally {
      await first.close();
    }
  });
});
