import { mkdir, readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryLocks } from '../../../src/adapters/json-dir/entry-lock.js';
import { openJsonDirStore, type JsonDirStore } from '../../../src/adapters/json-dir/json-dir.store.js';
import type { Logger } from '../../../src/ports/logger.port.js';
import { waitFor } from '../../support/processes.js';
import { makeRecord } from '../../support/records.js';
import { runNode, type Child } from './children.js';
import { compiledModule } from './compiled.js';
import { makeTempDir } from './temp-dir.js';

/** A child holding an entry's lock with proper-lockfile, as another store process would, until told to let go. */
function holdLock(entryFile: string): Child {
  return runNode(
    `
    import lockfile from 'proper-lockfile';
    const file = process.argv[1];
    const release = await lockfile.lock(file, { lockfilePath: file + '.lock', realpath: false, stale: 10000, onCompromised() {} });
    console.log('locked');
    process.stdin.once('data', async () => { await release(); console.log('released'); process.exit(0); });
    `,
    [entryFile],
  );
}

describe('json-dir store: locking across processes', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let store: JsonDirStore;
  const children: Child[] = [];

  beforeEach(async () => {
    temp = await makeTempDir();
    dir = join(temp.path, 'services');
    store = await openJsonDirStore({ dir, lockWaitMs: 300 });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.process.kill('SIGKILL');
    await store.close();
    await temp.remove();
  });

  it('never waits in deleteIfUnchanged: busy while another process holds the lock, deleted once it lets go', { timeout: 30_000 }, async () => {
    const put = await store.put(makeRecord({ instance_id: 'marcus_held' }));
    const holder = holdLock(join(dir, 'marcus_held.json'));
    children.push(holder);
    await holder.waitFor(/^locked$/);

    expect(await store.deleteIfUnchanged('marcus_held', put.version)).toBe('busy');
    // Readers take no lock.
    expect((await store.list()).entries).toHaveLength(1);
    expect((await store.get('marcus_held'))?.version).toBe(put.version);
    // Writers wait (bounded here by lockWaitMs = 300), then say so.
    await expect(store.put(makeRecord({ instance_id: 'marcus_held' }))).rejects.toMatchObject({ code: 'LOCK_BUSY', retryable: true });
    await expect(store.update('marcus_held', (r) => r)).rejects.toMatchObject({ code: 'LOCK_BUSY' });
    await expect(store.delete('marcus_held')).rejects.toMatchObject({ code: 'LOCK_BUSY' });

    holder.process.stdin?.write('go\n');
    await holder.waitFor(/^released$/);
    await holder.exited;
    expect(await store.deleteIfUnchanged('marcus_held', put.version)).toBe('deleted');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a waiting writer gets the lock as soon as the holder lets go', { timeout: 30_000 }, async () => {
    const patient = await openJsonDirStore({ dir, lockWaitMs: 20_000 });
    await patient.put(makeRecord({ instance_id: 'marcus_wait', status: 'a' }));
    const holder = holdLock(join(dir, 'marcus_wait.json'));
    children.push(holder);
    await holder.waitFor(/^locked$/);
    const updating = patient.update('marcus_wait', (r) => ({ ...r, status: 'b' }));
    setTimeout(() => holder.process.stdin?.write('go\n'), 200);
    expect((await updating).record.status).toBe('b');
  });

  it('takes over a lock left behind by a crashed process once it is stale', async () => {
    const staleAfter2s = await openJsonDirStore({ dir, lockStaleMs: 2_000, lockWaitMs: 200 });
    const lock = join(dir, 'marcus_crashed.json.lock');
    await mkdir(lock);
    const then = new Date(Date.now() - 60_000);
    await utimes(lock, then, then);
    await staleAfter2s.put(makeRecord({ instance_id: 'marcus_crashed' }));
    expect(await readdir(dir)).toEqual(['marcus_crashed.json']);
  });

  it('logs a compromised lock instead of crashing the host process', { timeout: 120_000 }, async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, warn: (m) => warnings.push(m), error() {} };
    const locks = new EntryLocks(dir, { staleMs: 2_000, waitMs: 100, logger });
    const release = await locks.acquire('marcus_c', join(dir, 'marcus_c.json'));
    // Someone removes our lock; proper-lockfile notices at its next refresh (stale / 2 = 1 s; later on a loaded machine).
    await rm(join(dir, 'marcus_c.json.lock'), { recursive: true });
    await waitFor(() => warnings.some((w) => w.includes('marcus_c') && w.includes('compromised')), { timeoutMs: 10_000, message: () => JSON.stringify(warnings) });
    await release(); // releasing a compromised lock is quiet, too
    // And the entry can be locked again.
    await (await locks.acquire('marcus_c', join(dir, 'marcus_c.json')))();
  });

  it('loses no update when 8 processes each update the same entry 25 times', { timeout: 120_000 }, async () => {
    const storeModule = compiledModule('adapters/json-dir/json-dir.store.ts');
    const processes = 8;
    const updates = 25;
    await store.put(makeRecord({ instance_id: 'marcus_counter', counter: 0, writers: [] }));
    const script = `
      const { openJsonDirStore } = await import(process.argv[1]);
      const [dir, updates, me] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
      const store = await openJsonDirStore({ dir, lockWaitMs: 60000 });
      for (let i = 0; i < updates; i++) {
        await store.update('marcus_counter', (r) => ({ ...r, counter: r.counter + 1, writers: [...r.writers, me] }));
      }
      await store.close();
    `;
    const running = Array.from({ length: processes }, (_, i) => runNode(script, [storeModule, dir, String(updates), `w${i}`]));
    children.push(...running);
    // This process updates at the same time, through the in-process queue; it waits
    // as patiently as the children (the shared store here gives up after 300 ms).
    const patient = await openJsonDirStore({ dir, lockWaitMs: 60_000 });
    const local = Array.from({ length: updates }, () =>
      patient.update('marcus_counter', (r) => ({ ...r, counter: (r['counter'] as number) + 1, writers: [...(r['writers'] as string[]), 'parent'] })),
    );
    await Promise.all([...running.map((c) => c.exited), ...local]);
    const final = (await store.get('marcus_counter'))?.record;
    expect(final?.['counter']).toBe((processes + 1) * updates);
    const writers = final?.['writers'] as string[];
    for (let i = 0; i < processes; i++) expect(writers.filter((w) => w === `w${i}`)).toHaveLength(updates);
    expect(await readdir(dir)).toEqual(['marcus_counter.json']);
  });

  it('never shows a reader a half-written file while another process rewrites it', { timeout: 120_000 }, async () => {
    const storeModule = compiledModule('adapters/json-dir/json-dir.store.ts');
    const script = `
      const { openJsonDirStore } = await import(process.argv[1]);
      const store = await openJsonDirStore({ dir: process.argv[2] });
      const base = JSON.parse(process.argv[3]);
      for (let i = 0; i < 300; i++) await store.put({ ...base, load_metrics: { n: i }, padding: 'x'.repeat((i * 997) % 20000) });
      console.log('done');
    `;
    await store.put(makeRecord({ instance_id: 'marcus_busy' }));
    const writer = runNode(script, [storeModule, dir, JSON.stringify(makeRecord({ instance_id: 'marcus_busy' }))]);
    children.push(writer);
    let done = false;
    void writer.exited.finally(() => (done = true));
    let lists = 0;
    while (!done) {
      const { entries, problems } = await store.list();
      expect(problems).toEqual([]);
      expect(entries.map((e) => e.record.instance_id)).toEqual(['marcus_busy']);
      lists++;
    }
    await writer.exited;
    expect(lists).toBeGreaterThan(0);
    expect((await store.get('marcus_busy'))?.record.load_metrics).toEqual({ n: 299 });
    expect(await readdir(dir)).toEqual(['marcus_busy.json']);
  });
});
