import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/domain/record.schema.js';
import { makeRecord } from '../support/records.js';
import { CLI, FIXTURES, ROOT, runToEnd, tempRegistryDir } from '../support/processes.js';

const REPORT_ZOD = join(FIXTURES, 'report-zod-at-exit.cjs');

/**
 * zod is initialised only when a record schema is first built (ADR 0031): the
 * bundles load it lazily, and a well-formed record never needs it. A record
 * the hand-written check refuses does (its error comes from the schema).
 */
describe('zod is loaded only when a record needs the schema', () => {
  it('a registrant and a discovery through the library never load it; a malformed record does', async () => {
    await using tmp = await tempRegistryDir();
    const script = (after: string) =>
      [
        `const { createRegistry, parseRecord } = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});`,
        `const registry = await createRegistry({ store: ${JSON.stringify(`json:${tmp.dir}`)}, settings: { exitHooks: false } });`,
        "await registry.register({ instanceId: 'marcus_lazy_zod', mcpCommand: 'node server.js' });",
        'console.log((await registry.discover()).map((r) => r.instance_id).join(","));',
        after,
        'await registry.close();',
      ].join('\n');
    const wellFormed = await runToEnd(process.execPath, ['-r', REPORT_ZOD, '--input-type=module', '-e', script('')]);
    expect(wellFormed.code, wellFormed.stderr).toBe(0);
    expect(wellFormed.stdout).toBe('marcus_lazy_zod\n');
    expect(wellFormed.stderr).toBe('zod initialised: false\n');

    const malformed = await runToEnd(process.execPath, ['-r', REPORT_ZOD, '--input-type=module', '-e', script("console.log(parseRecord({ pid: 'x' }).ok);")]);
    expect(malformed.code, malformed.stderr).toBe(0);
    expect(malformed.stdout).toBe('marcus_lazy_zod\nfalse\n');
    expect(malformed.stderr).toBe('zod initialised: true\n');
  });

  it('`list` of well-formed records never loads it; a malformed entry does, and is reported', async () => {
    await using tmp = await tempRegistryDir();
    await writeFile(join(tmp.dir, 'marcus_lazy_a.json'), encodeRecord(makeRecord({ instance_id: 'marcus_lazy_a' })), { mode: 0o600 });
    const list = () => runToEnd(process.execPath, ['-r', REPORT_ZOD, CLI, '--store', `json:${tmp.dir}`, 'list', '--json']);
    const wellFormed = await list();
    expect(wellFormed.code, wellFormed.stderr).toBe(0);
    expect((JSON.parse(wellFormed.stdout) as Array<{ record: { instance_id: string } }>).map((e) => e.record.instance_id)).toEqual(['marcus_lazy_a']);
    expect(wellFormed.stderr).toBe('zod initialised: false\n');

    await writeFile(join(tmp.dir, 'marcus_lazy_b.json'), JSON.stringify({ ...makeRecord({ instance_id: 'marcus_lazy_b' }), pid: 'not a pid' }), { mode: 0o600 });
    const malformed = await list();
    expect(malformed.code, malformed.stderr).toBe(0);
    expect(malformed.stderr).toMatch(/marcus_lazy_b/);
    expect(malformed.stderr).toMatch(/zod initialised: true\n$/);
  });
});
