import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import type { Logger } from '../../../src/ports/logger.port.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { makeRecord } from '../../support/records.js';
import { assertDistFresh, eventually, spawnRegistrant, type Registrant } from './registrant-child.js';

const TTL_MS = 5_000;

/** A logger that keeps its lines, to see what the store handled by itself. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: keep('debug'), warn: keep('warn'), error: keep('error') };
}

describe('etcd store: etcd goes away and comes back', () => {
  let etcd: EtcdContainer;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => void crashes.push(error);
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    assertDistFresh();
    etcd = await startEtcd();
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Looks with a client made now, independent of the registrants' connections. */
  async function idsInEtcd(prefix: string): Promise<string[]> {
    const client = new Etcd3({ hosts: [etcd.endpoint], dialTimeout: 1_000 });
    try {
      const keys = await client.getAll().prefix(prefix).keys();
      return keys.map((k) => k.slice(prefix.length)).sort();
    } finally {
      client.close();
    }
  }

  async function registerBoth(prefix: string): Promise<{ store: RegistryStore; logger: ReturnType<typeof recordingLogger>; child: Registrant }> {
    const logger = recordingLogger();
    const store = await openEtcdStore({ hosts: [etcd.hosts], prefix, logger, maxRecoveryDelayMs: 1_000 });
    cleanups.push(() => store.close());
    await store.put(makeRecord({ instance_id: 'marcus_inproc' }), { ttlMs: TTL_MS });
    const child = spawnRegistrant(etcd.hosts, prefix, 'marcus_child', TTL_MS);
    cleanups.push(() => void (child.alive() && child.child.kill('SIGKILL')));
    await child.waitFor((e) => e.event === 'registered', 20_000);
    expect(await idsInEtcd(prefix)).toEqual(['marcus_child', 'marcus_inproc']);
    return { store, logger, child };
  }

  it('re-registers both registrants when etcd comes back empty (data lost), and neither crashes', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const { store, logger, child } = await registerBoth(prefix);
    // What comes back must be the newest record written, not the first put.
    await store.update('marcus_inproc', (r) => ({ ...r, status: 'updated-before-restart' }));
    // A key nobody writes again: its absence after the restart shows the data was lost
    // (the registrants may already be back by the time we look, so their keys cannot show it).
    const sentinel = `${prefix}.sentinel`;
    const raw = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      await raw.put(sentinel).value('before the restart');
    } finally {
      raw.close();
    }

    await etcd.stop(); // container removed: every key and lease is gone
    await new Promise((r) => setTimeout(r, 1_500)); // an outage of a while, not a wait for anything
    await etcd.start(); // a new, empty etcd on the same port
    const after = new Etcd3({ hosts: [etcd.endpoint], dialTimeout: 1_000 });
    try {
      expect(await after.get(sentinel).string()).toBeNull();
    } finally {
      after.close();
    }

    // Requirement: back within 2 × TTL of etcd serving again.
    await eventually(async () => (await idsInEtcd(prefix)).length === 2, 2 * TTL_MS, 'both registrations coming back');
    expect(await idsInEtcd(prefix)).toEqual(['marcus_child', 'marcus_inproc']);

    // The store said what it did, the child too, and nobody crashed.
    expect(logger.lines.some((l) => /warn: .*lease of marcus_inproc lost/.test(l))).toBe(true);
    await eventually(async () => logger.lines.some((l) => /re-registered marcus_inproc/.test(l)), 2_000, 'the in-process store logging its re-registration');
    await child.waitFor((e) => e.event === 'log' && /re-registered marcus_child/.test(e.message ?? ''), 5_000);
    expect(child.alive()).toBe(true);
    expect(child.events.filter((e) => e.event === 'crash')).toEqual([]);
    expect(crashes).toEqual([]);

    expect((await store.get('marcus_inproc'))?.record.status).toBe('updated-before-restart');

    // It works on: the record is the one it put, and a later update keeps the new lease.
    const updated = await store.update('marcus_inproc', (r) => ({ ...r, status: 'after-restart' }));
    expect(updated.record.status).toBe('after-restart');
    await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
    expect(await idsInEtcd(prefix)).toEqual(['marcus_child', 'marcus_inproc']);
  });

  it('keeps both registrations through a restart that keeps etcd\u2019s data (leases survive)', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const { child } = await registerBoth(prefix);

    await etcd.restart();
    await eventually(async () => (await idsInEtcd(prefix)).length === 2, 2 * TTL_MS, 'both registrations present after the restart');
    // Still kept alive more than a TTL later: the keepalives resumed (or the lease was re-granted).
    await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
    expect(await idsInEtcd(prefix)).toEqual(['marcus_child', 'marcus_inproc']);
    expect(child.alive()).toBe(true);
    expect(child.events.filter((e) => e.event === 'crash')).toEqual([]);
    expect(crashes).toEqual([]);
  });

  it('a put() while etcd is down fails with a retryable STORE_UNAVAILABLE and nothing escapes', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const logger = recordingLogger();
    const store = await openEtcdStore({ hosts: [etcd.hosts], prefix, logger, callTimeoutMs: 1_000, dialTimeoutMs: 500 });
    cleanups.push(() => store.close());
    await store.put(makeRecord({ instance_id: 'marcus_before' }), { ttlMs: TTL_MS });
    await etcd.stop();
    try {
      await expect(store.put(makeRecord({ instance_id: 'marcus_during' }), { ttlMs: TTL_MS })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retryable: true,
      });
      await expect(store.list()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await etcd.start();
    }
    await eventually(async () => (await idsInEtcd(prefix)).includes('marcus_before'), 2 * TTL_MS, 'the earlier registration coming back');
    // The failed put registered nothing that anyone re-puts later.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await idsInEtcd(prefix)).toEqual(['marcus_before']);
    expect(crashes).toEqual([]);
  });

  it('neither an unregister nor a close during an outage lets the entry come back with etcd', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const opts = { hosts: [etcd.hosts], prefix, maxRecoveryDelayMs: 1_000, callTimeoutMs: 1_000, dialTimeoutMs: 500 };
    const first = await openEtcdStore({ ...opts, logger: recordingLogger() });
    const second = await openEtcdStore({ ...opts, logger: recordingLogger() });
    cleanups.push(() => first.close(), () => second.close());
    await first.put(makeRecord({ instance_id: 'marcus_control' }), { ttlMs: TTL_MS });
    await first.put(makeRecord({ instance_id: 'marcus_unregistered' }), { ttlMs: TTL_MS });
    await second.put(makeRecord({ instance_id: 'marcus_closed' }), { ttlMs: TTL_MS });

    await etcd.stop();
    try {
      await expect(first.delete('marcus_unregistered')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await second.close();
    } finally {
      await etcd.start();
    }
    // The control comes back through the same store; once it has, the others had their chance.
    await eventually(async () => (await idsInEtcd(prefix)).includes('marcus_control'), 2 * TTL_MS, 'the control registration coming back');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await idsInEtcd(prefix)).toEqual(['marcus_control']);
    expect(crashes).toEqual([]);
  });
});
