import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openJsonDirStore, type JsonDirStore } from '../../src/adapters/json-dir/json-dir.store.js';
import { makeRecord } from '../support/records.js';
import { makeTempDir } from '../adapters/json-dir/temp-dir.js';
import { testStoreContract, type StoreHarness } from './store-contract.js';

describe('store contract: json-dir', () => {
  testStoreContract({
    async create() {
      const temp = await makeTempDir();
      const dir = join(temp.path, 'services');
      const store = await openJsonDirStore({ dir });
      return {
        store,
        uri: `json:${dir}`,
        openAnother: () => openJsonDirStore({ dir }),
        async cleanup() {
          await store.close();
          await temp.remove();
        },
      };
    },
    extra(current: () => StoreHarness) {
      const store = () => current().store as JsonDirStore;

      it('reports kind json, the absolute directory as location, and no expiry or distribution', () => {
        expect(store().kind).toBe('json');
        expect(store().location.endsWith('/services')).toBe(true);
        expect(store().capabilities).toEqual({ expiresEntries: false, distributed: false });
      });

      it('writes <dir>/marcus_<pid>.json as 2-space-indented JSON any JSON reader parses', async () => {
        const record = makeRecord({ pid: 4321, instance_id: 'marcus_4321' });
        await store().put(record);
        const path = join(store().location, 'marcus_4321.json');
        const text = await readFile(path, 'utf8');
        expect(JSON.parse(text)).toEqual(record);
        expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
        expect(text.split('\n')[1]).toMatch(/^ {2}"[a-z_]+": /);
        expect(await readdir(store().location)).toEqual(['marcus_4321.json']);
      });

      it('leaves no temp file or lock behind after writes, updates and deletes', async () => {
        await store().put(makeRecord({ instance_id: 'marcus_a' }));
        await store().update('marcus_a', (r) => ({ ...r, status: 'busy' }));
        await store().put(makeRecord({ instance_id: 'marcus_b' }));
        await store().delete('marcus_b');
        expect(await readdir(store().location)).toEqual(['marcus_a.json']);
      });

      it('makes the directory 0700 and entry files 0600', async () => {
        await store().put(makeRecord({ instance_id: 'marcus_mode' }));
        expect((await stat(store().location)).mode & 0o777).toBe(0o700);
        expect((await stat(join(store().location, 'marcus_mode.json'))).mode & 0o777).toBe(0o600);
      });

      it('close() is idempotent', async () => {
        await store().close();
        await store().close();
        expect(await store().get('marcus_none')).toBeUndefined();
      });
    },
  });
});
