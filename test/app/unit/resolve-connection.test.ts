import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/adapters/memory/memory.store.js';
import { resolveConnection } from '../../../src/app/resolve-connection.js';
import type { RegistryStore } from '../../../src/ports/store.port.js';
import { fixedRecord } from '../../support/records.js';

/** The app side of connectionFor: who could have written the store, and which files exist here (real files). */
describe('resolveConnection', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-resolve-'));
    await mkdir(join(dir, 'My Projects'));
    await writeFile(join(dir, 'My Projects', 'server.py'), '');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('re-joins absolute and relative (to the working directory) paths split at a space, from the files that exist', async () => {
    const store = new MemoryStore();
    const absolute = fixedRecord({ hostname: 'here', mcp_command: `/usr/bin/python3 ${dir}/My Projects/server.py --port 1`, working_directory: '/' });
    expect(await resolveConnection(absolute, store, 'here')).toMatchObject({ command: '/usr/bin/python3', args: [`${dir}/My Projects/server.py`, '--port', '1'] });
    const relative = fixedRecord({ hostname: 'here', mcp_command: '/usr/bin/python3 My Projects/server.py', working_directory: dir });
    expect(await resolveConnection(relative, store, 'here')).toMatchObject({ args: ['My Projects/server.py'], cwd: dir });
    // A directory is not a script: nothing to re-join into.
    const directory = fixedRecord({ hostname: 'here', mcp_command: `/usr/bin/python3 ${dir}/My Projects`, working_directory: '/' });
    expect(await resolveConnection(directory, store, 'here')).toMatchObject({ args: [`${dir}/My`, 'Projects'] });
  });

  it('a store that cannot say who wrote its records is not trusted to start commands', async () => {
    const memory = new MemoryStore();
    const silent: RegistryStore = Object.assign(Object.create(memory) as RegistryStore, { untrustedWriters: undefined, kind: 'custom', location: 'somewhere' });
    const record = fixedRecord({ mcp_args: ['/bin/true'] });
    await expect(resolveConnection(record, silent, 'here')).rejects.toMatchObject({
      code: 'UNTRUSTED_COMMAND',
      message: expect.stringMatching(/the custom store \(somewhere\) cannot tell who wrote its records/),
    });
    expect(await resolveConnection(record, memory, 'here')).toMatchObject({ kind: 'stdio', command: '/bin/true' });
  });
});
