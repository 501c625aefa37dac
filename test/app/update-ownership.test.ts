import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory/memory.store.js';
import { createRegistry, type RegistryOptions } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import type { ServiceRegistry } from '../../src/app/service-registry.js';
import { startEtcd, type EtcdContainer } from '../support/etcd-container.js';
import { tempRegistryDir } from '../support/processes.js';

/**
 * Issue 15 (3): every write of an owned entry checks ownership. Registry A
 * registers `marcus_same`, B takes the id over (replace: true); A.update() must
 * not overwrite B's entry (ENTRY_TAKEN_OVER), as A's heartbeat already refuses
 * to refresh it. Real json, sqlite and etcd stores, and the memory store.
 */
let etcd: EtcdContainer;
beforeAll(async () => {
  etcd = await startEtcd();
}, 180_000);
afterAll(async () => {
  await etcd?.stop();
});

interface Place extends AsyncDisposable {
  readonly store: () => RegistryOptions['store'];
}

const stores: { name: string; open: () => Promise<Place> }[] = [
  { name: 'json', open: async () => { const tmp = await tempRegistryDir(); return { store: () => `json:${tmp.dir}`, [Symbol.asyncDispose]: () => tmp[Symbol.asyncDispose]() }; } },
  { name: 'sqlite', open: async () => { const tmp = await tempRegistryDir(); return { store: () => `sqlite:${join(tmp.dir, 'registry.db')}`, [Symbol.asyncDispose]: () => tmp[Symbol.asyncDispose]() }; } },
  { name: 'etcd', open: async () => { const prefix = `/marcus-own-${process.pid}-${Date.now()}/`; return { store: () => `${etcd.endpoint.replace(/^http/, 'etcd')}${prefix}`, [Symbol.asyncDispose]: async () => {} }; } },
  { name: 'memory', open: async () => { const shared = new MemoryStore(); return { store: () => shared, [Symbol.asyncDispose]: async () => {} }; } },
];

/** Until the millisecond clock moves on: B's started_at must differ from A's (same pid, same process). */
async function nextMillisecond(): Promise<void> {
  const t = Date.now();
  while (Date.now() === t) await new Promise((resolve) => setImmediate(resolve));
}

async function open(place: Place, registries: ServiceRegistry[]): Promise<ServiceRegistry> {
  const registry = await createRegistry({ store: place.store(), exitHooks: new ExitHooks(), settings: { exitHooks: false } });
  registries.push(registry);
  return registry;
}

describe.each(stores)('update() of an entry another registration took over ($name store)', ({ open: openPlace }) => {
  it('refuses (ENTRY_TAKEN_OVER) and leaves the new owner\'s entry as it was', async () => {
    await using place = await openPlace();
    const registries: ServiceRegistry[] = [];
    try {
      const a = await open(place, registries);
      const b = await open(place, registries);
      await a.register({ mcpCommand: 'node a.js', instanceId: 'marcus_same', heartbeatIntervalMs: false, projectName: 'a' });
      await nextMillisecond();
      const theirs = await b.register({ mcpCommand: 'node b.js', instanceId: 'marcus_same', heartbeatIntervalMs: false, projectName: 'b', replace: true });

      await expect(a.update({ status: 'busy' })).rejects.toMatchObject({ code: 'ENTRY_TAKEN_OVER', details: { instanceId: 'marcus_same' } });
      const entry = (await b.get('marcus_same'))?.record;
      expect(entry).toMatchObject({ pid: theirs.pid, started_at: theirs.started_at, project_name: 'b', mcp_command: 'node b.js' });
      expect(entry?.status).toBe(theirs.status);

      // B's own update still works, and A's unregister leaves B's entry.
      await expect(b.update({ status: 'busy' })).resolves.toMatchObject({ status: 'busy', project_name: 'b' });
      expect(await a.unregister()).toBe(false);
      expect((await b.get('marcus_same'))?.record).toMatchObject({ started_at: theirs.started_at, status: 'busy' });
    } finally {
      for (const registry of registries.reverse()) await registry.close();
    }
  });
});
