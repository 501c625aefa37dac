import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite.store.js';
import { RegistryError } from '../../src/domain/errors.js';
import { makeRecord } from '../support/records.js';
import { testStoreContract } from './store-contract.js';

describe('store contract: sqlite', () => {
  const paths = new WeakMap<object, string>();
  testStoreContract({
    async create() {
      const dir = await mkdtemp(join(tmpdir(), 'marcus-sqlite-contract-'));
      const path = join(dir, 'nested', 'registry.db');
      const store = await openSqliteStore({ path });
      paths.set(store, path);
      return {
        store,
        uri: `sqlite:${path}`,
        openAnother: () => openSqliteStore({ path }),
        async cleanup() {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    extra(current) {
      it('creates the parent directory 0700 and the database files 0600', async () => {
        const { store } = current();
        const path = paths.get(store)!;
        await store.put(makeRecord({ instance_id: 'marcus_modes' }));
        expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          expect((await stat(file)).mode & 0o777, file).toBe(0o600);
        }
      });

      it('uses the database-wide write clock: a re-registered entry never reuses a judged version', async () => {
        const { store } = current();
        const judged = await store.put(makeRecord({ instance_id: 'marcus_aba' }));
        expect(await store.delete('marcus_aba')).toBe(true);
        await store.put(makeRecord({ instance_id: 'marcus_aba' }));
        expect(await store.deleteIfUnchanged('marcus_aba', judged.version)).toBe('changed');
        expect(await store.get('marcus_aba')).toBeDefined();
      });

      it('treats a version token it never issued as changed, not as a match', async () => {
        const { store } = current();
        await store.put(makeRecord({ instance_id: 'marcus_tok' }));
        for (const token of ['', 'abc', '1; DROP TABLE services', '-1', '01', '1e3']) {
          expect(await store.deleteIfUnchanged('marcus_tok', token)).toBe('changed');
        }
        expect(await store.get('marcus_tok')).toBeDefined();
      });

      it('refuses every call after close() with REGISTRY_CLOSED, and close() is idempotent', async () => {
        const { store } = current();
        await store.close();
        await store.close();
        const error = await store.list().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RegistryError);
        expect((error as RegistryError).code).toBe('REGISTRY_CLOSED');
        expect(() => store.deleteSync!('marcus_x')).toThrow(RegistryError);
      });
    },
  });
});
