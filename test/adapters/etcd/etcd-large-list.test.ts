import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import { encodeRecord } from '../../../src/domain/record.schema.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { makeRecord } from '../../support/records.js';

/** A listing larger than gRPC's default 4 MiB reply (found by npm run bench at 10 000 entries). */
describe('etcd store: a listing of more than 4 MiB', () => {
  let etcd: EtcdContainer;
  let store: RegistryStore;
  beforeAll(async () => {
    etcd = await startEtcd();
    store = await openEtcdStore({ hosts: [etcd.hosts], prefix: '/large/' });
  });
  afterAll(async () => {
    await store?.close();
    await etcd?.stop();
  });

  it('lists 1 200 entries of 5 KB each (6 MB) in one read', async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      const padding = 'x'.repeat(5_000);
      const ids = Array.from({ length: 1_200 }, (_, i) => `marcus_large_${i}`);
      for (let i = 0; i < ids.length; i += 100) {
        await Promise.all(ids.slice(i, i + 100).map((id) => client.put(`/large/${id}`).value(encodeRecord(makeRecord({ instance_id: id, padding }))).exec()));
      }
    } finally {
      client.close();
    }
    const { entries, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(entries).toHaveLength(1_200);
  });
});
