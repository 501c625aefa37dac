import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory/memory.store.js';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { makeRecord } from '../support/records.js';

/**
 * Issue 15 (1, 2): the facade answers what its front ends ask (judged entries
 * from preferred/ranked, filters applied to stale entries too) and keeps its
 * store to itself.
 */
const HOUR = 3_600_000;
const DEAD_PID = 4_194_303;

async function seeded() {
  const store = new MemoryStore();
  const old = formatTimestamp(Date.now() - HOUR);
  const dead = { pid: DEAD_PID, started_at: old, last_heartbeat: old };
  await store.put(makeRecord({ instance_id: 'marcus_live_a', project_name: 'a', working_directory: '/srv/a' }));
  await store.put(makeRecord({ instance_id: 'marcus_live_b', project_name: 'b', working_directory: '/srv/b' }));
  await store.put(makeRecord({ instance_id: 'marcus_stale_a', project_name: 'a', ...dead }));
  await store.put(makeRecord({ instance_id: 'marcus_stale_b', project_name: 'b', ...dead }));
  const registry = await createRegistry({ store, exitHooks: new ExitHooks(), settings: { exitHooks: false, pinnedInstanceId: undefined } });
  return { store, registry };
}

describe('the facade for its front ends', () => {
  it('applies the filters to stale entries too; pruning still removes every stale entry', async () => {
    const { store, registry } = await seeded();
    await using _ = registry;
    const view = await registry.inspect({ filters: { project: 'a' }, prune: false });
    expect(view.services.map((e) => e.record.instance_id)).toEqual(['marcus_live_a']);
    expect(view.stale.map((e) => [e.record.instance_id, e.health])).toEqual([['marcus_stale_a', 'stale']]);
    expect((await store.list()).entries).toHaveLength(4);

    const pruned = await registry.inspect({ filters: { project: 'a' } });
    expect(pruned.stale.map((e) => e.record.instance_id)).toEqual(['marcus_stale_a']);
    expect(pruned.removed.map((r) => r.record.instance_id).sort()).toEqual(['marcus_stale_a', 'marcus_stale_b']);
  });

  it('gives judged entries from preferredEntry() and rankedEntries(), in the order of preferred() and ranked()', async () => {
    const { registry } = await seeded();
    await using _ = registry;
    const best = await registry.preferredEntry({ project: 'b', cwd: null });
    expect(best).toMatchObject({ health: 'healthy', record: { instance_id: 'marcus_live_b' } });
    expect((await registry.preferred({ project: 'b', cwd: null }))?.instance_id).toBe('marcus_live_b');
    const ranked = await registry.rankedEntries({ cwd: '/srv/a/sub' });
    expect(ranked.map((e) => [e.record.instance_id, e.health])).toEqual([
      ['marcus_live_a', 'healthy'],
      ['marcus_live_b', 'healthy'],
    ]);
    expect((await registry.ranked({ cwd: '/srv/a/sub' })).map((r) => r.instance_id)).toEqual(ranked.map((e) => e.record.instance_id));
    expect(await registry.preferredEntry({ filters: { project: 'none' } })).toBeUndefined();
  });

  it('keeps its store and settings private: no write past the ownership checks; storeInfo, health() and isLocal() instead', async () => {
    const { store, registry } = await seeded();
    await using _ = registry;
    const open = registry as unknown as Record<string, unknown>;
    expect(open['store']).toBeUndefined();
    expect(open['settings']).toBeUndefined();
    expect(Object.values(open)).not.toContain(store);
    expect(registry.storeInfo).toEqual({ kind: 'memory', location: 'memory' });
    expect(await registry.health()).toMatchObject({ kind: 'memory', location: 'memory', checkMs: expect.any(Number) });
    expect(registry.isLocal(makeRecord())).toBe(true);
    expect(registry.isLocal(makeRecord({ hostname: 'elsewhere.test' }))).toBe(false);
  });
});
