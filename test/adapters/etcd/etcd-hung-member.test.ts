import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import { createRegistry } from '../../../src/app/create-registry.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { revokesLeasesAfterAHang, startEtcdCluster, type ClusterMember, type EtcdCluster } from '../../support/etcd-cluster.js';
import { makeRecord } from '../../support/records.js';
import { EventTap, summary } from '../../support/event-tap.js';
import { assertDistFresh, eventually, spawnRegistrant, type Registrant } from './registrant-child.js';

/** Short enough that a keepalive stuck for one TTL loses the lease (the bug), long enough for a loaded machine. */
const TTL_MS = 3_000;
const INSTANCES = 5;
/** How long a member stays hung or dead: many TTLs. */
const OUTAGE_MS = 20_000;

interface Outage {
  /** Listings that succeeded during the outage. */
  readonly listings: number;
  /** Listings that failed (STORE_UNAVAILABLE): counted, not missing instances. */
  readonly failedListings: number;
  /** instance id -> [first, last] ms (from the outage's start) it was missing from a successful listing. */
  readonly missing: Record<string, [number, number]>;
  /** `removed:<id>:<reason>` events the watcher emitted during and after the outage. */
  readonly removedEvents: string[];
}

/**
 * A 3-member cluster where one member hangs (SIGSTOP) or dies (SIGKILL) for
 * many lease TTLs while 5 registrants keep their leases alive: the other two
 * members keep quorum, so no live instance may disappear from a listing and no
 * watcher may report one removed. The registrants and the watcher name the
 * faulty member first, so they start on it. See docs/adr/0021.
 */
describe('etcd store on a 3-member cluster: one member hung or dead', () => {
  let cluster: EtcdCluster;
  const registrants: Registrant[] = [];
  let reader: RegistryStore | undefined;
  let registry: ServiceRegistry | undefined;
  let watchAbort: AbortController | undefined;

  beforeAll(async () => {
    assertDistFresh();
    cluster = await startEtcdCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    for (const m of cluster.members) if (m.alive()) m.process.kill('SIGCONT');
    for (const r of registrants.splice(0)) if (r.alive()) r.child.kill('SIGKILL');
    watchAbort?.abort();
    await registry?.close();
    await reader?.close();
    registry = undefined;
    reader = undefined;
  });

  /** The cluster's hosts with `first` named first. */
  const hostsStartingWith = (first: ClusterMember) => [first.host, ...cluster.members.filter((m) => m !== first).map((m) => m.host)];

  async function setUp(faulty: ClusterMember) {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const hosts = hostsStartingWith(faulty);
    const ids = Array.from({ length: INSTANCES }, (_, i) => `marcus_live${i}`);
    for (const id of ids) registrants.push(spawnRegistrant(hosts.join(','), prefix, id, TTL_MS));
    await Promise.all(registrants.map((r) => r.waitFor((e) => e.event === 'registered', 30_000)));
    reader = await openEtcdStore({ hosts: cluster.members.map((m) => m.host), prefix });
    registry = await createRegistry({ store: `etcd://${hosts.join(',')}${prefix}`, settings: { exitHooks: false }, env: {} });
    watchAbort = new AbortController();
    const tap = new EventTap(registry.watch({ signal: watchAbort.signal, sweepIntervalMs: 250 }));
    await eventually(
      async () => ids.every((id) => tap.events.some((e) => e.type === 'added' && e.record.instance_id === id)),
      30_000,
      `the watcher adding ${ids.join(', ')}`,
    );
    return { ids, tap };
  }

  /** Lists again and again for `durationMs`, noting who is missing from each successful listing. */
  async function observe(ids: readonly string[], tap: EventTap, durationMs: number, during: () => Promise<void>): Promise<Outage> {
    const started = Date.now();
    const missing: Record<string, [number, number]> = {};
    let listings = 0;
    let failedListings = 0;
    const removedBefore = tap.events.length;
    await during();
    while (Date.now() - started < durationMs) {
      try {
        const listed = new Set((await reader!.list()).entries.map((e) => e.record.instance_id));
        listings += 1;
        const at = Date.now() - started;
        for (const id of ids) {
          if (listed.has(id)) continue;
          const span = missing[id];
          missing[id] = span ? [span[0], at] : [at, at];
        }
      } catch {
        failedListings += 1;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const removedEvents = tap.events.slice(removedBefore).filter((e) => e.type === 'removed').map(summary);
    return { listings, failedListings, missing, removedEvents };
  }

  /** Every instance listed, every registrant up and never crashed. */
  async function expectAllUp(ids: readonly string[]) {
    await eventually(
      async () => {
        const listed = new Set((await reader!.list()).entries.map((e) => e.record.instance_id));
        return ids.every((id) => listed.has(id));
      },
      4 * TTL_MS,
      'every instance listed',
    );
    for (const r of registrants) {
      expect(r.alive()).toBe(true);
      expect(r.events.filter((e) => e.event === 'crash')).toEqual([]);
    }
  }

  const warningsOf = () => registrants.flatMap((r) => r.events.filter((e) => e.event === 'log' && e.level !== 'debug').map((e) => e.message));

  it('a leader frozen by SIGSTOP for many TTLs: no live instance disappears, no false removed event', async () => {
    const leader = await cluster.leader();
    const { ids, tap } = await setUp(leader);
    const during = await observe(ids, tap, OUTAGE_MS, async () => {
      leader.process.kill('SIGSTOP');
    });
    leader.process.kill('SIGCONT');
    const after = await observe(ids, tap, 3 * TTL_MS, async () => {});
    console.log(`hung-member figures (SIGSTOP ${OUTAGE_MS} ms, etcd ${cluster.version}): ${JSON.stringify({ during, after, warnings: warningsOf() })}`);

    expect(during.listings).toBeGreaterThan(10);
    expect(during.missing).toEqual({});
    expect(during.removedEvents).toEqual([]);
    if (revokesLeasesAfterAHang(cluster.version)) {
      // etcd-io/etcd#15247: the thawed old leader revokes the leases the new one
      // kept alive. Nothing a client can prevent; each registrant re-registers
      // at its next keepalive (the lease is then gone), and a watcher sees it as
      // a lease expiry.
      expect(after.removedEvents.every((e) => e.endsWith(':lease-expired'))).toBe(true);
    } else {
      expect(after.missing).toEqual({});
      expect(after.removedEvents).toEqual([]);
    }
    await expectAllUp(ids);
  });

  it('a watch on a hung member moves to another member and misses no change', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const hosts = cluster.members.filter((m) => m.alive()).map((m) => m.host);
    const watching = await openEtcdStore({ hosts, prefix });
    reader = await openEtcdStore({ hosts, prefix });
    const seen: string[] = [];
    try {
      await watching.watch!((change) => seen.push(...(change.instanceIds ?? ['(resync)'])));
      // The member serving the watch stream: the only one with a stream (this test opened the only watch).
      let member: ClusterMember | undefined;
      await eventually(
        async () => {
          for (const m of cluster.members) if (m.alive() && (await cluster.watchStreams(m)) > 0) member = m;
          return member !== undefined;
        },
        20_000,
        'a member serving the watch',
      );
      member!.process.kill('SIGSTOP');
      try {
        const record = (id: string) => makeRecord({ instance_id: id, hostname: 'elsewhere.test' });
        await reader.put(record('marcus_probe_a'), { ttlMs: 60_000 });
        // Hang guard, not a speed assertion: the change arrives while the member is still hung.
        await eventually(async () => seen.includes('marcus_probe_a'), 30_000, 'the put seen by the watch while its member is hung');
        await reader.put(record('marcus_probe_b'), { ttlMs: 60_000 });
        expect(await reader.delete('marcus_probe_a')).toBe(true);
        await eventually(async () => seen.includes('marcus_probe_b') && seen.filter((id) => id === 'marcus_probe_a').length >= 2, 30_000, 'later changes seen');
        expect(member!.alive()).toBe(true);
      } finally {
        member!.process.kill('SIGCONT');
      }
    } finally {
      await watching.close();
    }
  });

  it('a member killed by SIGKILL: no live instance disappears, no false removed event', async () => {
    // The previous tests thawed a member; wait until the cluster agrees on a leader again.
    await eventually(async () => (await cluster.leader()) !== undefined, 30_000, 'a leader');
    const victim = await cluster.leader();
    const { ids, tap } = await setUp(victim);
    const during = await observe(ids, tap, OUTAGE_MS / 2, async () => {
      victim.process.kill('SIGKILL');
    });
    console.log(`dead-member figures (SIGKILL, etcd ${cluster.version}): ${JSON.stringify({ during, warnings: warningsOf() })}`);
    expect(during.listings).toBeGreaterThan(10);
    expect(during.missing).toEqual({});
    expect(during.removedEvents).toEqual([]);
    await expectAllUp(ids);
  });
});
