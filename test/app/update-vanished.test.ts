import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import { tempRegistryDir } from '../support/processes.js';

/**
 * Issue 14 (4): update() on a registration whose entry someone removed (a
 * wiped directory, a deleted database, an over-eager cleaner) re-creates it
 * with the change applied, as the heartbeat does, instead of throwing NOT_FOUND.
 */
describe.each([
  { name: 'json', uri: (dir: string) => `json:${dir}`, remove: (dir: string, id: string) => rm(join(dir, `${id}.json`)) },
  { name: 'sqlite', uri: (dir: string) => `sqlite:${join(dir, 'registry.db')}`, remove: (dir: string) => rm(join(dir, 'registry.db')) },
])('update() after the entry vanished ($name store)', ({ uri, remove }) => {
  it('re-creates the entry with the update applied', async () => {
    await using tmp = await tempRegistryDir();
    await using registry = await createRegistry({ store: uri(tmp.dir), exitHooks: new ExitHooks() });
    const registered = await registry.register({ mcpCommand: 'node server.js', projectName: 'p', heartbeatIntervalMs: false });
    await remove(tmp.dir, registered.instance_id);

    const updated = await registry.update({ status: 'busy' });
    expect(updated).toMatchObject({ instance_id: registered.instance_id, pid: registered.pid, started_at: registered.started_at, status: 'busy' });
    await using reader = await createRegistry({ store: uri(tmp.dir), exitHooks: new ExitHooks() });
    expect((await reader.get(registered.instance_id))?.record).toMatchObject({ status: 'busy', started_at: registered.started_at });
  });
});
