import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/app/create-registry.js';
import { ExitHooks } from '../../src/app/exit-hooks.js';
import type { ServiceRegistry } from '../../src/app/service-registry.js';
import { Child, FIXTURES, tempRegistryDir } from '../support/processes.js';

/**
 * A live holder of an instance id is never silently replaced (issue 16, point 2):
 * register() of a held id fails with INSTANCE_ID_TAKEN unless `replace: true`,
 * and several registrations of one process get distinct default ids that still
 * match Python's `marcus_*.json` glob. Real json and sqlite stores, real processes.
 */

const children: Child[] = [];
const registries: ServiceRegistry[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
  for (const registry of registries.splice(0)) await registry.close();
});

async function open(uri: string): Promise<ServiceRegistry> {
  const registry = await createRegistry({ store: uri, exitHooks: new ExitHooks() });
  registries.push(registry);
  return registry;
}

const stores = [
  { name: 'json', uri: (dir: string) => `json:${dir}` },
  { name: 'sqlite', uri: (dir: string) => `sqlite:${join(dir, 'registry.db')}` },
];

describe.each(stores)('instance ids ($name store)', ({ name, uri }) => {
  it('refuses an id another live process holds (INSTANCE_ID_TAKEN), leaves its entry, and takes it with replace: true', async () => {
    await using tmp = await tempRegistryDir();
    const holder = new Child(process.execPath, [join(FIXTURES, 'same-id-registrant.mjs'), uri(tmp.dir), 'marcus_dup', 'close']);
    children.push(holder);
    await holder.line(/registered marcus_dup/);
    const second = await open(uri(tmp.dir));
    await expect(second.register({ mcpCommand: 'node b.js', instanceId: 'marcus_dup' })).rejects.toMatchObject({
      code: 'INSTANCE_ID_TAKEN',
      details: { instanceId: 'marcus_dup', pid: holder.pid },
    });
    expect((await second.get('marcus_dup'))?.record.pid).toBe(holder.pid);
    expect(second.registered).toBeUndefined();
    // A deliberate takeover.
    const taken = await second.register({ mcpCommand: 'node b.js', instanceId: 'marcus_dup', replace: true });
    expect(taken.pid).toBe(process.pid);
    expect((await second.get('marcus_dup'))?.record.pid).toBe(process.pid);
  });

  it('takes over an id whose holder is gone (stale) without replace', async () => {
    await using tmp = await tempRegistryDir();
    const holder = new Child(process.execPath, [join(FIXTURES, 'same-id-registrant.mjs'), uri(tmp.dir), 'marcus_gone', 'close']);
    children.push(holder);
    await holder.line(/registered marcus_gone/);
    holder.kill('SIGKILL');
    await holder.exited;
    const next = await open(uri(tmp.dir));
    expect((await next.register({ mcpCommand: 'node b.js', instanceId: 'marcus_gone' })).pid).toBe(process.pid);
  });

  it('two registries of one process: distinct default ids (marcus_<pid>, marcus_<pid>_2), each closes only its own', async () => {
    await using tmp = await tempRegistryDir();
    const a = await open(uri(tmp.dir));
    const b = await open(uri(tmp.dir));
    const [ra, rb] = await Promise.all([a.register({ mcpCommand: 'node a.js' }), b.register({ mcpCommand: 'node b.js' })]);
    expect([ra.instance_id, rb.instance_id].sort()).toEqual([`marcus_${process.pid}`, `marcus_${process.pid}_2`]);
    if (name === 'json') {
      const files = (await readdir(tmp.dir)).filter((f) => /^marcus_.*\.json$/.test(f)).sort();
      expect(files).toEqual([`marcus_${process.pid}.json`, `marcus_${process.pid}_2.json`]);
    }
    // An explicit id held by another registry of this process is refused too.
    const c = await open(uri(tmp.dir));
    await expect(c.register({ mcpCommand: 'node c.js', instanceId: ra.instance_id })).rejects.toMatchObject({ code: 'INSTANCE_ID_TAKEN' });
    await b.close();
    expect((await c.discover()).map((r) => r.instance_id)).toEqual([ra.instance_id]);
    await a.close();
    expect(await c.discover()).toEqual([]);
    // Released: the first default id is free again.
    expect((await c.register({ mcpCommand: 'node c.js' })).instance_id).toBe(`marcus_${process.pid}`);
  });
});

describe('replace: true over another registry of this process', () => {
  it('the id stays held while either still holds it', async () => {
    await using tmp = await tempRegistryDir();
    const uri = `json:${tmp.dir}`;
    const a = await open(uri);
    const b = await open(uri);
    await a.register({ mcpCommand: 'node a.js', instanceId: 'marcus_twice' });
    await b.register({ mcpCommand: 'node b.js', instanceId: 'marcus_twice', replace: true });
    await a.close();
    // b still holds it: a third registry of this process is refused.
    const c = await open(uri);
    await expect(c.register({ mcpCommand: 'node c.js', instanceId: 'marcus_twice' })).rejects.toMatchObject({ code: 'INSTANCE_ID_TAKEN' });
    await b.close();
    expect((await c.register({ mcpCommand: 'node c.js', instanceId: 'marcus_twice' })).instance_id).toBe('marcus_twice');
  });
});
