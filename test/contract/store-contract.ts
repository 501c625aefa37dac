import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/domain/errors.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import type { RegistryStore } from '../../src/ports/store.port.js';
import { makeRecord } from '../support/records.js';
import { testWatchContract } from './watch-contract.js';

export interface StoreHarness {
  readonly store: RegistryStore;
  /** Releases what the harness made (closes the store, removes temp dirs). */
  cleanup(): Promise<void>;
  /** The store's URI, when other processes can open it (json, sqlite, etcd): the watch tests spawn registrants on it. */
  readonly uri?: string;
  /** A second store object on the same data (another connection or client), as another process sees it; closed by the caller. */
  openAnother?(): Promise<RegistryStore>;
  /** Watches the store's server holds right now (etcd), to check that a closed watch is cancelled there too. */
  serverWatchers?(): Promise<number>;
}

export interface StoreContractOptions {
  /** Makes a fresh, empty store for one test. */
  create(): Promise<StoreHarness>;
  /** Adapter-only tests, run inside the same describe with a fresh store each. */
  extra?: (current: () => StoreHarness) => void;
}

/**
 * The one contract every RegistryStore satisfies. Each adapter's test file calls
 * it inside its own describe, so the output names the store it ran against.
 */
export function testStoreContract(options: StoreContractOptions): void {
  let harness: StoreHarness;
  let store: RegistryStore;
  beforeEach(async () => {
    harness = await options.create();
    store = harness.store;
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  const expectCode = async (promise: Promise<unknown>, code: string) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, `expected a RegistryError with code ${code}`).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe(code);
  };

  describe('contract: put and get', () => {
    it('returns undefined for an absent instance and an empty list for an empty store', async () => {
      expect(await store.get('marcus_404')).toBeUndefined();
      const listed = await store.list();
      expect(listed.entries).toEqual([]);
      expect(listed.problems).toEqual([]);
    });

    it('round-trips every field, including unknown keys, unchanged', async () => {
      const record = makeRecord({
        instance_id: 'marcus_rt',
        capabilities: ['project_management', 'kanban'],
        supported_providers: ['github', 'jira'],
        load_metrics: { active_agents: 3, cpu_usage: 15.2, memory_mb: 128 },
        api_version: '2.1.0',
        process_start_time: '2026-11-21T05:00:00.000000+00:00',
        python_version: '3.11.7',
        custom_nested: { a: [1, 2, { b: null }], 'key with space': 'ünïcödé ✓' },
      });
      const put = await store.put(record);
      expect(put.record).toEqual(record);
      const got = await store.get('marcus_rt');
      expect(got?.record).toEqual(record);
      expect(got?.version).toBe(put.version);
    });

    it('keeps null project and provider as null', async () => {
      const record = makeRecord({ instance_id: 'marcus_nulls', project_name: null, provider: null });
      await store.put(record);
      const got = await store.get('marcus_nulls');
      expect(got?.record.project_name).toBeNull();
      expect(got?.record.provider).toBeNull();
    });

    it('replaces an entry on a second put and changes its version', async () => {
      const first = await store.put(makeRecord({ instance_id: 'marcus_r', status: 'starting' }));
      const second = await store.put(makeRecord({ instance_id: 'marcus_r', status: 'running' }));
      expect(second.version).not.toBe(first.version);
      expect((await store.get('marcus_r'))?.record.status).toBe('running');
      expect((await store.list()).entries).toHaveLength(1);
    });

    it('rejects an invalid record with INVALID_RECORD and stores nothing', async () => {
      const bad = { ...makeRecord({ instance_id: 'marcus_bad' }), pid: -1 } as ServiceRecord;
      await expectCode(store.put(bad), 'INVALID_RECORD');
      const wrongType = { ...makeRecord({ instance_id: 'marcus_bad' }), started_at: 12 } as unknown as ServiceRecord;
      await expectCode(store.put(wrongType), 'INVALID_RECORD');
      expect(await store.get('marcus_bad')).toBeUndefined();
    });

    it.each(['../escape', 'a/b', '..', '.hidden', 'nul\u0000byte', 'x'.repeat(129), '', 'back\\slash'])(
      'refuses the hostile instance id %j on every operation',
      async (id) => {
        const record = { ...makeRecord(), instance_id: id } as ServiceRecord;
        await expect(store.put(record)).rejects.toBeInstanceOf(RegistryError);
        await expectCode(store.get(id), 'INVALID_INSTANCE_ID');
        await expectCode(store.delete(id), 'INVALID_INSTANCE_ID');
        await expectCode(store.deleteIfUnchanged(id, '1'), 'INVALID_INSTANCE_ID');
        await expectCode(store.update(id, (r) => r), 'INVALID_INSTANCE_ID');
        expect((await store.list()).entries).toEqual([]);
      },
    );
  });

  describe('contract: list', () => {
    it('lists every entry exactly once', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `marcus_${1000 + i}`);
      await Promise.all(ids.map((id, i) => store.put(makeRecord({ instance_id: id, pid: 1000 + i }))));
      const listed = await store.list();
      expect(listed.problems).toEqual([]);
      expect(listed.entries.map((e) => e.record.instance_id).sort()).toEqual([...ids].sort());
      for (const entry of listed.entries) expect(entry.record.pid).toBe(Number(entry.record.instance_id.slice(7)));
    });

    it('gives each listed entry the same version get() reports', async () => {
      await store.put(makeRecord({ instance_id: 'marcus_v1' }));
      await store.put(makeRecord({ instance_id: 'marcus_v2' }));
      for (const entry of (await store.list()).entries) {
        expect((await store.get(entry.record.instance_id))?.version).toBe(entry.version);
      }
    });
  });

  describe('contract: read-modify-write', () => {
    it('applies the mutation to the current record and returns the new entry', async () => {
      const put = await store.put(makeRecord({ instance_id: 'marcus_u', status: 'starting' }));
      const updated = await store.update('marcus_u', (r) => ({ ...r, status: 'running', load_metrics: { active_agents: 2 } }));
      expect(updated.record.status).toBe('running');
      expect(updated.version).not.toBe(put.version);
      const got = await store.get('marcus_u');
      expect(got?.record.load_metrics).toEqual({ active_agents: 2 });
      expect(got?.version).toBe(updated.version);
    });

    it('throws NOT_FOUND for an absent entry', async () => {
      await expectCode(store.update('marcus_none', (r) => r), 'NOT_FOUND');
    });

    it('refuses a mutation that yields an invalid record or another instance id, leaving the entry intact', async () => {
      await store.put(makeRecord({ instance_id: 'marcus_keep', status: 'running' }));
      await expectCode(store.update('marcus_keep', (r) => ({ ...r, pid: 0 })), 'INVALID_RECORD');
      await expectCode(store.update('marcus_keep', (r) => ({ ...r, instance_id: 'marcus_other' })), 'INVALID_RECORD');
      const got = await store.get('marcus_keep');
      expect(got?.record.pid).toBe(process.pid);
      expect(await store.get('marcus_other')).toBeUndefined();
    });

    it('propagates an error the mutation throws (an ownership check) and leaves the entry as it was', async () => {
      const put = await store.put(makeRecord({ instance_id: 'marcus_owned', status: 'running' }));
      class NotYours extends Error {}
      await expect(store.update('marcus_owned', () => { throw new NotYours('taken over'); })).rejects.toBeInstanceOf(NotYours);
      const got = await store.get('marcus_owned');
      expect(got?.record.status).toBe('running');
      expect(got?.version).toBe(put.version);
    });

    it('loses no update when many run at once', async () => {
      await store.put(makeRecord({ instance_id: 'marcus_count', counter: 0 }));
      const n = 12;
      await Promise.all(
        Array.from({ length: n }, () =>
          store.update('marcus_count', (r) => ({ ...r, counter: (r['counter'] as number) + 1 })),
        ),
      );
      expect((await store.get('marcus_count'))?.record['counter']).toBe(n);
    });
  });

  describe('contract: compare-and-delete', () => {
    it('deletes an entry still at the judged version', async () => {
      const put = await store.put(makeRecord({ instance_id: 'marcus_cad' }));
      expect(await store.deleteIfUnchanged('marcus_cad', put.version)).toBe('deleted');
      expect(await store.get('marcus_cad')).toBeUndefined();
    });

    it('keeps an entry that changed since it was judged', async () => {
      const judged = await store.put(makeRecord({ instance_id: 'marcus_cad2' }));
      await store.update('marcus_cad2', (r) => ({ ...r, status: 'busy' }));
      expect(await store.deleteIfUnchanged('marcus_cad2', judged.version)).toBe('changed');
      expect((await store.get('marcus_cad2'))?.record.status).toBe('busy');
    });

    it('keeps an entry re-registered since it was judged', async () => {
      const judged = await store.put(makeRecord({ instance_id: 'marcus_cad3', pid: 4242 }));
      await store.put(makeRecord({ instance_id: 'marcus_cad3', pid: 4343 }));
      expect(await store.deleteIfUnchanged('marcus_cad3', judged.version)).toBe('changed');
      expect((await store.get('marcus_cad3'))?.record.pid).toBe(4343);
    });

    it('reports missing for an absent entry', async () => {
      expect(await store.deleteIfUnchanged('marcus_gone', '1')).toBe('missing');
    });
  });

  describe('contract: delete', () => {
    it('removes an entry whatever its version and says whether there was one', async () => {
      await store.put(makeRecord({ instance_id: 'marcus_del' }));
      await store.update('marcus_del', (r) => ({ ...r, status: 'stopping' }));
      expect(await store.delete('marcus_del')).toBe(true);
      expect(await store.get('marcus_del')).toBeUndefined();
      expect(await store.delete('marcus_del')).toBe(false);
    });

    it('removes synchronously where the store offers deleteSync', async () => {
      const deleteSync = store.deleteSync?.bind(store);
      if (!deleteSync) {
        expect(store.capabilities.expiresEntries, 'a store without deleteSync must expire entries itself').toBe(true);
        return;
      }
      await store.put(makeRecord({ instance_id: 'marcus_sync' }));
      expect(deleteSync('marcus_sync')).toBe(true);
      expect(await store.get('marcus_sync')).toBeUndefined();
      expect(deleteSync('marcus_sync')).toBe(false);
    });
  });

  describe('contract: delete by its owner (compare-and-delete on pid and started_at)', () => {
    const A = { pid: 4242, started_at: '2026-11-21T12:00:00.000000+00:00' };
    const putOwned = (id: string, owner: { pid: number; started_at: string }) => store.put(makeRecord({ instance_id: id, ...owner }));

    it('deletes the entry its owner wrote, also after heartbeats and updates', async () => {
      await putOwned('marcus_own1', A);
      await store.update('marcus_own1', (r) => ({ ...r, status: 'busy', last_heartbeat: '2026-11-21T12:00:05.000000+00:00' }));
      expect(await store.delete('marcus_own1', A)).toBe(true);
      expect(await store.get('marcus_own1')).toBeUndefined();
      expect(await store.delete('marcus_own1', A)).toBe(false);
    });

    it('keeps an entry re-registered by another process (another pid) and says false', async () => {
      await putOwned('marcus_own2', A);
      const newer = await putOwned('marcus_own2', { pid: 4343, started_at: A.started_at });
      expect(await store.delete('marcus_own2', A)).toBe(false);
      const left = await store.get('marcus_own2');
      expect(left?.record).toEqual(newer.record);
      expect(left?.version).toBe(newer.version);
    });

    it('keeps an entry re-registered by the same pid later (another started_at) and says false', async () => {
      await putOwned('marcus_own3', A);
      const newer = await putOwned('marcus_own3', { pid: A.pid, started_at: '2026-11-21T12:00:09.000001+00:00' });
      expect(await store.delete('marcus_own3', A)).toBe(false);
      expect((await store.get('marcus_own3'))?.version).toBe(newer.version);
      // Its own owner still removes it.
      expect(await store.delete('marcus_own3', { pid: A.pid, started_at: '2026-11-21T12:00:09.000001+00:00' })).toBe(true);
    });

    it('says false for an absent entry', async () => {
      expect(await store.delete('marcus_own404', A)).toBe(false);
    });

    it('deleteSync, where offered, deletes only its owner\'s entry', async () => {
      const deleteSync = store.deleteSync?.bind(store);
      if (!deleteSync) {
        expect(store.capabilities.expiresEntries, 'a store without deleteSync must expire entries itself').toBe(true);
        return;
      }
      await putOwned('marcus_own5', A);
      const newer = await putOwned('marcus_own5', { pid: 4343, started_at: '2026-11-21T12:00:09.000001+00:00' });
      expect(deleteSync('marcus_own5', A)).toBe(false);
      expect((await store.get('marcus_own5'))?.version).toBe(newer.version);
      expect(deleteSync('marcus_own5', { pid: A.pid, started_at: newer.record.started_at })).toBe(false);
      expect((await store.get('marcus_own5'))?.version).toBe(newer.version);
      expect(deleteSync('marcus_own5', { pid: 4343, started_at: newer.record.started_at })).toBe(true);
      expect(await store.get('marcus_own5')).toBeUndefined();
      expect(deleteSync('marcus_own5', A)).toBe(false);
    });

    it('another store object on the same data honours the owner too (another process unregistering)', async () => {
      if (!harness.openAnother) return;
      const other = await harness.openAnother();
      try {
        await putOwned('marcus_own6', A);
        const newer = await store.put(makeRecord({ instance_id: 'marcus_own6', pid: 4343 }));
        expect(await other.delete('marcus_own6', A)).toBe(false);
        expect((await store.get('marcus_own6'))?.version).toBe(newer.version);
        expect(await other.delete('marcus_own6', { pid: 4343, started_at: newer.record.started_at })).toBe(true);
        expect(await store.get('marcus_own6')).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  describe('contract: watch', () => {
    testWatchContract(() => harness);
  });

  const extra = options.extra;
  if (extra) {
    describe('adapter-specific', () => {
      extra(() => harness);
    });
  }
}
