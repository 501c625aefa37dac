import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { openEtcdStore } from '../../src/adapters/etcd/etcd.store.js';
import type { RegistryStore } from '../../src/ports/store.port.js';
import { freePort, startEtcd, type EtcdContainer } from '../support/etcd-container.js';
import { makeRecord } from '../support/records.js';
import { testStoreContract, type StoreHarness } from './store-contract.js';

let etcd: EtcdContainer;
/** A raw client, to plant what a store would never write and to look at leases. */
let raw: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: [etcd.endpoint] });
});

afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

/** Watchers the etcd server holds (its Prometheus metric), to see that a closed watch was cancelled there. */
async function serverWatchers(endpoint: string): Promise<number> {
  const metrics = await (await fetch(`${endpoint}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('etcd_debugging_mvcc_watcher_total '));
  if (!line) throw new Error('etcd reports no etcd_debugging_mvcc_watcher_total metric');
  return Number(line.split(' ')[1]);
}

/** Each test gets its own prefix, so tests never see each other's keys. */
function freshPrefix(): string {
  return `/marcus-test/${randomUUID()}/`;
}

interface EtcdHarness extends StoreHarness {
  readonly prefix: string;
}

describe('store contract: etcd', () => {
  testStoreContract({
    async create(): Promise<EtcdHarness> {
      const prefix = freshPrefix();
      const store = await openEtcdStore({ hosts: [etcd.hosts], prefix, defaultTtlMs: 30_000 });
      return {
        store,
        prefix,
        uri: `etcd://${etcd.hosts}${prefix}`,
        openAnother: () => openEtcdStore({ hosts: [etcd.hosts], prefix, defaultTtlMs: 30_000 }),
        serverWatchers: () => serverWatchers(etcd.endpoint),
        async cleanup() {
          await store.close();
          await raw.delete().prefix(prefix);
        },
      };
    },
    extra(current) {
      const h = () => current() as EtcdHarness;
      const store = (): RegistryStore => h().store;

      it('declares that it expires entries itself and spans hosts', () => {
        expect(store().kind).toBe('etcd');
        expect(store().capabilities).toEqual({ expiresEntries: true, distributed: true });
        expect(store().deleteSync).toBeUndefined();
        expect(store().location).toBe(`etcd://${etcd.hosts}${h().prefix}`);
      });

      it('stores one key per instance under the prefix, attached to a lease of the requested TTL', async () => {
        const put = await store().put(makeRecord({ instance_id: 'marcus_key' }), { ttlMs: 7_500 });
        const kv = (await raw.get(`${h().prefix}marcus_key`).exec()).kvs[0];
        expect(kv?.mod_revision).toBe(put.version);
        expect(kv?.lease).not.toBe('0');
        const granted = await leaseTtl(kv!.lease);
        expect(granted.grantedTtl).toBe(8);
        expect(granted.remaining).toBeGreaterThan(0);
      });

      it('keeps the lease of an entry across update()', async () => {
        await store().put(makeRecord({ instance_id: 'marcus_lease' }));
        const before = (await raw.get(`${h().prefix}marcus_lease`).exec()).kvs[0]!.lease;
        await store().update('marcus_lease', (r) => ({ ...r, status: 'busy' }));
        const after = (await raw.get(`${h().prefix}marcus_lease`).exec()).kvs[0]!.lease;
        expect(after).toBe(before);
      });

      it('keeps the lease of another process\u2019s entry on update()', async () => {
        const foreign = raw.lease(30);
        const leaseId = await foreign.grant();
        try {
          await raw.put(`${h().prefix}marcus_foreign`).value(JSON.stringify(makeRecord({ instance_id: 'marcus_foreign' }))).lease(leaseId);
          await store().update('marcus_foreign', (r) => ({ ...r, status: 'draining' }));
          const kv = (await raw.get(`${h().prefix}marcus_foreign`).exec()).kvs[0]!;
          expect(kv.lease).toBe(leaseId);
          expect(JSON.parse(kv.value.toString()).status).toBe('draining');
        } finally {
          await foreign.revoke();
        }
      });

      it('revokes the lease of its own entry on delete()', async () => {
        await store().put(makeRecord({ instance_id: 'marcus_revoke' }));
        const lease = (await raw.get(`${h().prefix}marcus_revoke`).exec()).kvs[0]!.lease;
        expect(await store().delete('marcus_revoke')).toBe(true);
        await expect.poll(async () => (await leaseTtl(lease)).remaining, { timeout: 5_000 }).toBe(-1);
      });

      it('delete(id, owner) of an entry another process took over: leaves it and its lease, revokes only its own', async () => {
        const A = { pid: 4242, started_at: '2026-11-21T12:00:00.000000+00:00' };
        const id = 'marcus_takeover';
        const key = `${h().prefix}${id}`;
        await store().put(makeRecord({ instance_id: id, ...A }));
        const ownLease = (await raw.get(key).exec()).kvs[0]!.lease;
        const other = await openEtcdStore({ hosts: [etcd.hosts], prefix: h().prefix, defaultTtlMs: 30_000 });
        try {
          const newer = await other.put(makeRecord({ instance_id: id, pid: 4343 }));
          const newerLease = (await raw.get(key).exec()).kvs[0]!.lease;
          expect(newerLease).not.toBe(ownLease);
          expect(await store().delete(id, A)).toBe(false);
          const kv = (await raw.get(key).exec()).kvs[0];
          expect(kv?.mod_revision).toBe(newer.version);
          expect(kv?.lease).toBe(newerLease);
          expect((await leaseTtl(newerLease)).remaining).toBeGreaterThan(0);
          // Its own lease, which holds no key any more, is revoked: nothing keeps it alive or re-registers it.
          await expect.poll(async () => (await leaseTtl(ownLease)).remaining, { timeout: 5_000 }).toBe(-1);
        } finally {
          await other.close();
        }
      });

      it('delete(id, old owner) after a newer registration through the same store keeps the newer one\'s lease alive', async () => {
        const A = { pid: 4242, started_at: '2026-11-21T12:00:00.000000+00:00' };
        const id = 'marcus_samestore';
        const key = `${h().prefix}${id}`;
        await store().put(makeRecord({ instance_id: id, ...A }), { ttlMs: 2_000 });
        const newer = await store().put(makeRecord({ instance_id: id, pid: 4343 }), { ttlMs: 2_000 });
        const lease = (await raw.get(key).exec()).kvs[0]!.lease;
        expect(await store().delete(id, A)).toBe(false);
        // Past the 2 s TTL: still there, so its keepalive was not stopped nor its lease revoked.
        await new Promise((r) => setTimeout(r, 4_500));
        const kv = (await raw.get(key).exec()).kvs[0];
        expect(kv?.mod_revision).toBe(newer.version);
        expect(kv?.lease).toBe(lease);
      });

      it('reports bad values and foreign keys under the prefix as problems, never as entries, and never throws', async () => {
        await store().put(makeRecord({ instance_id: 'marcus_good' }));
        const p = h().prefix;
        await raw.put(`${p}marcus_torn`).value('{"instance_id": "marcus_to');
        await raw.put(`${p}marcus_invalid`).value(JSON.stringify({ ...makeRecord({ instance_id: 'marcus_invalid' }), pid: 'x' }));
        await raw.put(`${p}marcus_other`).value(JSON.stringify(makeRecord({ instance_id: 'marcus_elsewhere' })));
        await raw.put(`${p}nested/key`).value('{}');
        const listed = await store().list();
        expect(listed.entries.map((e) => e.record.instance_id)).toEqual(['marcus_good']);
        expect(listed.problems.map((p) => [p.entry, p.code, p.action]).sort()).toEqual(
          [
            ['marcus_invalid', 'INVALID_RECORD', 'skipped'],
            ['marcus_other', 'INVALID_RECORD', 'skipped'],
            ['marcus_torn', 'INVALID_RECORD', 'skipped'],
            ['nested/key', 'INVALID_INSTANCE_ID', 'skipped'],
          ].sort(),
        );
        // get() treats them as absent, update() refuses them; nothing was deleted.
        expect(await store().get('marcus_torn')).toBeUndefined();
        await expect(store().update('marcus_invalid', (r) => r)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
        expect(await raw.getAll().prefix(p).count()).toBe(5);
      });

      it('never reads outside its prefix', async () => {
        const sibling = h().prefix.replace(/\/$/, '-sibling/');
        await raw.put(`${sibling}marcus_x`).value(JSON.stringify(makeRecord({ instance_id: 'marcus_x' })));
        try {
          expect((await store().list()).entries).toEqual([]);
          expect(await store().get('marcus_x')).toBeUndefined();
        } finally {
          await raw.delete().prefix(sibling);
        }
      });

      it('lets a put() entry expire with its lease once the store is closed without unregistering', async () => {
        const prefix = freshPrefix();
        const other = await openEtcdStore({ hosts: [etcd.hosts], prefix });
        await other.put(makeRecord({ instance_id: 'marcus_orphan' }), { ttlMs: 2_000 });
        await other.close();
        await other.close(); // idempotent
        await expect(other.get('marcus_orphan')).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
        expect(await raw.get(`${prefix}marcus_orphan`).exists()).toBe(true);
        await expect.poll(() => raw.get(`${prefix}marcus_orphan`).exists(), { timeout: 15_000, interval: 250 }).toBe(false);
      });

      it('fails a call with a retryable STORE_UNAVAILABLE when no etcd answers', async () => {
        const nowhere = await openEtcdStore({ hosts: [`127.0.0.1:${await freePort()}`], prefix: freshPrefix(), dialTimeoutMs: 500, callTimeoutMs: 1_000 });
        try {
          await expect(nowhere.list()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
          await expect(nowhere.put(makeRecord())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
        } finally {
          await nowhere.close();
        }
      });
    },
  });
});

/** What etcd says of a lease; remaining is -1 once it is gone. */
async function leaseTtl(leaseId: string): Promise<{ remaining: number; grantedTtl: number }> {
  const res = await raw.leaseClient.leaseTimeToLive({ ID: leaseId });
  return { remaining: Number(res.TTL), grantedTtl: Number(res.grantedTTL) };
}
