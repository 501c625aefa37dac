import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { assertDistFresh, eventually, spawnRegistrant, type Registrant } from './registrant-child.js';

const TTL_MS = 3_000;

describe('etcd store: a registrant that dies', () => {
  let etcd: EtcdContainer;
  let reader: RegistryStore;
  let prefix: string;
  const children: Registrant[] = [];

  beforeAll(async () => {
    assertDistFresh();
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.alive()) c.child.kill('SIGKILL');
    await reader?.close();
  });

  const setUp = async () => {
    prefix = `/marcus-test/${randomUUID()}/`;
    reader = await openEtcdStore({ hosts: [etcd.hosts], prefix });
  };
  const listedIds = async () => (await reader.list()).entries.map((e) => e.record.instance_id);

  it('disappears by itself once SIGKILLed: its lease expires with no one cleaning up', async () => {
    await setUp();
    const child = spawnRegistrant(etcd.hosts, prefix, 'marcus_killed', TTL_MS);
    children.push(child);
    await child.waitFor((e) => e.event === 'registered', 20_000);
    expect(await listedIds()).toEqual(['marcus_killed']);
    const entry = await reader.get('marcus_killed');
    expect(entry?.record.pid).toBe(child.child.pid);

    // Its lease is kept alive while it runs: still there after more than a TTL.
    await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
    expect(await listedIds()).toEqual(['marcus_killed']);

    child.child.kill('SIGKILL');
    expect((await child.exited()).signal).toBe('SIGKILL');
    // Hang guard only: etcd expires it after the 3 s lease TTL.
    await eventually(async () => (await listedIds()).length === 0, 5 * TTL_MS, 'the killed registrant\u2019s entry expiring');
    expect(await reader.get('marcus_killed')).toBeUndefined();
    expect(child.events.filter((e) => e.event === 'crash')).toEqual([]);
  });

  it('unregisters at once on SIGTERM (delete revokes its lease)', async () => {
    await setUp();
    const child = spawnRegistrant(etcd.hosts, prefix, 'marcus_termed', 60_000);
    children.push(child);
    await child.waitFor((e) => e.event === 'registered', 20_000);
    expect(await listedIds()).toEqual(['marcus_termed']);
    child.child.kill('SIGTERM');
    expect((await child.exited()).code, JSON.stringify(child.events)).toBe(0);
    // The lease is 60 s: being gone now can only come from the delete.
    expect(await listedIds()).toEqual([]);
  });

  it('keeps other registrants when one dies', async () => {
    await setUp();
    const doomed = spawnRegistrant(etcd.hosts, prefix, 'marcus_doomed', TTL_MS);
    const survivor = spawnRegistrant(etcd.hosts, prefix, 'marcus_survivor', TTL_MS);
    children.push(doomed, survivor);
    await Promise.all([doomed, survivor].map((c) => c.waitFor((e) => e.event === 'registered', 20_000)));
    expect((await listedIds()).sort()).toEqual(['marcus_doomed', 'marcus_survivor']);
    doomed.child.kill('SIGKILL');
    await eventually(async () => !(await listedIds()).includes('marcus_doomed'), 5 * TTL_MS, 'the killed registrant\u2019s entry expiring');
    expect(await listedIds()).toEqual(['marcus_survivor']);
    expect(survivor.alive()).toBe(true);
  });
});
