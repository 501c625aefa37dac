import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../../src/adapters/etcd/etcd.store.js';
import { createRegistry } from '../../../src/app/create-registry.js';
import { ExitHooks } from '../../../src/app/exit-hooks.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import { EventTap, isEvent } from '../../support/event-tap.js';
import { startEtcd, type EtcdContainer } from '../../support/etcd-container.js';
import { assertDistFresh, spawnRegistrant, type Registrant } from './registrant-child.js';

/**
 * etcd-only watch behaviour: entries of another host go when their lease runs
 * out (lease-expired) or when their owner deletes them (unregistered), and a
 * watch survives an etcd restart.
 */
describe('etcd store: watch', () => {
  let etcd: EtcdContainer;
  const registries: ServiceRegistry[] = [];
  const children: Registrant[] = [];
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    assertDistFresh();
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.abort();
    for (const c of children.splice(0)) if (c.alive()) c.child.kill('SIGKILL');
    for (const r of registries.splice(0)) await r.close();
  });

  /** A registry on its own etcd client, claiming to run on `host`. */
  const registryOn = async (prefix: string, host: string) => {
    const store = await openEtcdStore({ hosts: [etcd.hosts], prefix, maxWatchRetryDelayMs: 500 });
    const registry = await createRegistry({ store, exitHooks: new ExitHooks(), settings: { hostname: host, exitHooks: false } });
    registries.push(registry);
    return registry;
  };
  const watch = (registry: ServiceRegistry) => {
    const controller = new AbortController();
    controllers.push(controller);
    return new EventTap(registry.watch({ signal: controller.signal, sweepIntervalMs: 200 }));
  };

  it('reports another host\u2019s SIGKILLed registrant as removed (lease-expired) when its lease runs out', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    // The registrant records this machine's hostname; the watcher claims another one, so only the lease tells.
    const watcher = await registryOn(prefix, 'watching-host');
    const events = watch(watcher);
    const child = spawnRegistrant(etcd.hosts, prefix, 'marcus_remote', 3_000);
    children.push(child);
    await child.waitFor((e) => e.event === 'registered', 20_000);
    await events.next(isEvent('added', 'marcus_remote'), 'the remote registrant added');
    child.child.kill('SIGKILL');
    const removed = await events.next(isEvent('removed', 'marcus_remote'), 'the remote registrant removed', 30_000);
    expect(removed).toMatchObject({ type: 'removed', reason: 'lease-expired' });
  });

  it('reports another host\u2019s unregister as removed (unregistered), not as an expiry', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const watcher = await registryOn(prefix, 'watching-host');
    const owner = await registryOn(prefix, 'owning-host');
    const events = watch(watcher);
    await owner.register({ mcpCommand: 'node server.js', instanceId: 'marcus_owned', heartbeatIntervalMs: 1_000 });
    await events.next(isEvent('added', 'marcus_owned'), 'the owned entry added');
    await owner.unregister();
    const removed = await events.next(isEvent('removed', 'marcus_owned'), 'the owned entry removed');
    expect(removed).toMatchObject({ type: 'removed', reason: 'unregistered' });
  });

  it('keeps delivering across an etcd restart: the stream resumes and the watcher lists again', async () => {
    const prefix = `/marcus-test/${randomUUID()}/`;
    const watcher = await registryOn(prefix, 'watching-host');
    const writer = await registryOn(prefix, 'owning-host');
    const events = watch(watcher);
    await writer.register({ mcpCommand: 'node server.js', instanceId: 'marcus_before', heartbeatIntervalMs: false });
    await events.next(isEvent('added', 'marcus_before'), 'added before the restart');
    await etcd.restart();
    // The writer's store retries its own calls; the first may fail while etcd comes back.
    const other = await openEtcdStore({ hosts: [etcd.hosts], prefix });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await other.put({ ...(writer.registered as NonNullable<ServiceRegistry['registered']>), instance_id: 'marcus_after', status: 'after' });
          break;
        } catch (error) {
          if (attempt > 50) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const added = await events.next(isEvent('added', 'marcus_after'), 'added after the restart', 30_000);
      expect(added.record.status).toBe('after');
      expect(events.events.filter((e) => e.record.instance_id === 'marcus_before').map((e) => e.type)).toEqual(['added']);
    } finally {
      await other.close();
    }
  });
});
