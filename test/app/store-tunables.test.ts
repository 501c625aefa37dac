import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { makeRecord, plantRecords } from '../support/records.js';
import { tempRegistryDir } from '../support/processes.js';

/** Issue 15 (4): each store's tunables are reachable through createRegistry({ store: { kind, … } }). */
describe('store tunables through createRegistry', () => {
  it('json: maxFileBytes is the store\'s, not the default 256 KiB', async () => {
    await using tmp = await tempRegistryDir();
    await plantRecords(tmp.dir, makeRecord({ instance_id: 'marcus_big', pid: process.pid }));
    await using registry = await createRegistry({ store: { kind: 'json', dir: tmp.dir, maxFileBytes: 64 }, exitHooks: new ExitHooks() });
    const report = await registry.inspect({ prune: false });
    expect(report.services).toEqual([]);
    expect(report.problems).toMatchObject([{ code: 'TOO_LARGE', action: 'skipped' }]);
  });

  it('sqlite: readonly opens the database read-only (writes are READ_ONLY_STORE), reads work', async () => {
    await using tmp = await tempRegistryDir();
    const path = join(tmp.dir, 'registry.db');
    {
      await using writer = await createRegistry({ store: { kind: 'sqlite', path }, exitHooks: new ExitHooks(), settings: { exitHooks: false } });
      await writer.register({ mcpCommand: 'node a.js', instanceId: 'marcus_w', heartbeatIntervalMs: false });
      await using reader = await createRegistry({ store: { kind: 'sqlite', path, readonly: true, busyTimeoutMs: 100 }, exitHooks: new ExitHooks() });
      expect((await reader.discover()).map((r) => r.instance_id)).toEqual(['marcus_w']);
      await expect(reader.register({ mcpCommand: 'node b.js', instanceId: 'marcus_r', heartbeatIntervalMs: false })).rejects.toMatchObject({ code: 'READ_ONLY_STORE' });
    }
  });
});
