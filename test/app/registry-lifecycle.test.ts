import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { RegistryClosedError } from '../../src/domain/errors.js';
import { openStore } from '../../src/app/store-factory.js';
import { resolveStoreConfig } from '../../src/app/store-uri.js';
import { silentLogger } from '../../src/app/logger.js';
import { tempRegistryDir } from '../support/processes.js';

/**
 * register(), unregister() and close() of one registry run one after another:
 * concurrent register() calls leave exactly one registration (no orphaned
 * heartbeat or exit hook), and close() during a register() unregisters it.
 * On real stores (files), with this test's own ExitHooks.
 */

/** A heartbeat interval no other timer in these tests uses, to tell heartbeat timers apart. */
const BEAT_MS = 4_321;

/** Heartbeat timers created and not cleared since the spy was installed. */
function trackHeartbeatTimers(): { live(): number } {
  const live = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
    const handle = realSet(fn, ms, ...args);
    if (ms === BEAT_MS) live.add(handle);
    return handle;
  }) as typeof setInterval);
  vi.spyOn(globalThis, 'clearInterval').mockImplementation(((handle?: Parameters<typeof clearInterval>[0]) => {
    live.delete(handle);
    realClear(handle);
  }) as typeof clearInterval);
  return { live: () => live.size };
}

const stores = [
  { name: 'json', uri: (dir: string) => `json:${dir}` },
  { name: 'sqlite', uri: (dir: string) => `sqlite:${join(dir, 'registry.db')}` },
];

describe.each(stores)('registry lifecycle is serialized ($name store)', ({ uri }) => {
  let timers: { live(): number };
  beforeEach(() => {
    timers = trackHeartbeatTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function entries(registryUri: string): Promise<string[]> {
    const store = await openStore(resolveStoreConfig(registryUri, {}), silentLogger);
    try {
      return (await store.list()).entries.map((e) => e.record.instance_id).sort();
    } finally {
      await store.close();
    }
  }

  it('two concurrent register() calls: exactly one registration, one entry, one exit hook, one heartbeat timer', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const hooks = new ExitHooks();
    const registry = await createRegistry({ store: registryUri, exitHooks: hooks });
    const [first, second] = await Promise.all([
      registry.register({ instanceId: 'marcus_first', mcpCommand: 'node a.js', heartbeatIntervalMs: BEAT_MS }),
      registry.register({ instanceId: 'marcus_second', mcpCommand: 'node b.js', heartbeatIntervalMs: BEAT_MS }),
    ]);
    expect(first.instance_id).toBe('marcus_first');
    // The second ran after the first and replaced it.
    expect(second.instance_id).toBe('marcus_second');
    expect(registry.registered?.instance_id).toBe('marcus_second');
    expect(await entries(registryUri)).toEqual(['marcus_second']);
    expect(hooks.size).toBe(1);
    expect(timers.live()).toBe(1);

    await registry.close();
    expect(await entries(registryUri)).toEqual([]);
    expect(hooks.size).toBe(0);
    expect(timers.live()).toBe(0);
  });

  it('ten concurrent register() calls of the same id: one entry, one hook, one timer, and close() leaves nothing', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const hooks = new ExitHooks();
    const registry = await createRegistry({ store: registryUri, exitHooks: hooks });
    const records = await Promise.all(
      Array.from({ length: 10 }, (_, i) => registry.register({ instanceId: 'marcus_same', mcpCommand: `node ${i}.js`, heartbeatIntervalMs: BEAT_MS })),
    );
    expect(registry.registered?.mcp_command).toBe(records[9]?.mcp_command);
    expect(await entries(registryUri)).toEqual(['marcus_same']);
    expect(hooks.size).toBe(1);
    expect(timers.live()).toBe(1);
    await registry.close();
    expect(await entries(registryUri)).toEqual([]);
    expect(hooks.size).toBe(0);
    expect(timers.live()).toBe(0);
  });

  it('close() while register() is in flight: the registration finishes, then close() unregisters it; nothing is left', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const hooks = new ExitHooks();
    const registry = await createRegistry({ store: registryUri, exitHooks: hooks });
    const registering = registry.register({ instanceId: 'marcus_inflight', mcpCommand: 'node a.js', heartbeatIntervalMs: BEAT_MS });
    const closing = registry.close();
    const outcome = await registering.then(
      (record) => record.instance_id,
      (error: unknown) => error,
    );
    await closing;
    expect(outcome).toBe('marcus_inflight');
    expect(registry.registered).toBeUndefined();
    expect(await entries(registryUri)).toEqual([]);
    expect(hooks.size).toBe(0);
    expect(timers.live()).toBe(0);
    // Closed for good.
    await expect(registry.register({ instanceId: 'marcus_late', mcpCommand: 'node a.js' })).rejects.toBeInstanceOf(RegistryClosedError);
    expect(await entries(registryUri)).toEqual([]);
  });

  it('a register() queued behind close() is refused (REGISTRY_CLOSED) and writes nothing', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const hooks = new ExitHooks();
    const registry = await createRegistry({ store: registryUri, exitHooks: hooks });
    await registry.register({ instanceId: 'marcus_before', mcpCommand: 'node a.js', heartbeatIntervalMs: BEAT_MS });
    const closing = registry.close();
    const late = registry.register({ instanceId: 'marcus_after', mcpCommand: 'node b.js', heartbeatIntervalMs: BEAT_MS });
    await closing;
    await expect(late).rejects.toBeInstanceOf(RegistryClosedError);
    expect(await entries(registryUri)).toEqual([]);
    expect(hooks.size).toBe(0);
    expect(timers.live()).toBe(0);
  });

  it('concurrent close() calls both wait for the same unregister and the store closes once', async () => {
    await using tmp = await tempRegistryDir();
    const registryUri = uri(tmp.dir);
    const hooks = new ExitHooks();
    const store = await openStore(resolveStoreConfig(registryUri), silentLogger);
    const registry = await createRegistry({ store, exitHooks: hooks });
    await registry.register({ instanceId: 'marcus_twice', mcpCommand: 'node a.js', heartbeatIntervalMs: BEAT_MS });
    const storeClose = vi.spyOn(store, 'close');
    await Promise.all([registry.close(), registry.close(), registry.unregister()]);
    expect(storeClose).toHaveBeenCalledTimes(1);
    expect(await entries(registryUri)).toEqual([]);
    expect(hooks.size).toBe(0);
  });
});
