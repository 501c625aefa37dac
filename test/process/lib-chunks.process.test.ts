import { chmod, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryCopy } from '../support/library-copy.js';
import { ROOT, runToEnd, tempRegistryDir } from '../support/processes.js';

/**
 * The library's bundles (ADR 0035): an import runs lib.bundle.cjs alone; the
 * registry's wiring and the JSON store (lib.registry.cjs), zod (lib.zod.cjs) and
 * the other chunks run when first used, and take the modules they share with
 * the main bundle from it, so a class has one identity across them.
 */
describe('marcus-registry library: the main bundle and its chunks', () => {
  it('imports, and runs the domain, without reading any chunk', async () => {
    await using lib = await libraryCopy(() => ['lib.bundle.cjs', 'lib.bundle.cache']);
    const script = [
      `const lib = await import(${JSON.stringify(lib.entry)});`,
      "console.log(lib.parseStoreUri('json:/tmp/x').kind, lib.isValidInstanceId('marcus_1'), lib.RECORD_KEYS.length > 0, new lib.NotFoundError('marcus_1').code);",
      "await lib.createRegistry({ store: 'memory:' }).then(() => console.log('created'), (error) => console.log(error.code, String(error.message).includes('lib.registry.cjs')));",
    ].join('\n');
    const run = await runToEnd(process.execPath, ['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    // createRegistry() needs its chunk: missing, it fails then, not at the import.
    expect(run.stdout).toBe('json true true NOT_FOUND\nENOENT true\n');
  });

  it("throws the main bundle's classes from a chunk, and builds the exported ServiceRegistry", async () => {
    await using tmp = await tempRegistryDir();
    const open = join(tmp.dir, 'open');
    await runToEnd('mkdir', ['-m', '777', open]);
    await chmod(open, 0o777);
    const script = [
      `const lib = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});`,
      // The JSON store's guard (lib.registry.cjs) refuses a directory others may write.
      `const refused = await lib.createRegistry({ store: ${JSON.stringify(`json:${open}`)} }).catch((error) => error);`,
      'console.log(refused.constructor.name, refused instanceof lib.InsecureDirectoryError, refused instanceof lib.RegistryError, lib.isRegistryError(refused));',
      `const registry = await lib.createRegistry({ store: ${JSON.stringify(`json:${join(tmp.dir, 'registry')}`)} });`,
      'console.log(registry instanceof lib.ServiceRegistry, registry.constructor.name);',
      // A record zod must judge: the schema is built in lib.zod.cjs, the error is the main bundle's.
      "const bad = lib.decodeRecord('{\"instance_id\": 5}');",
      'console.log(bad.ok, bad.error instanceof lib.InvalidRecordError, bad.error.message.includes("instance_id"));',
      'await registry.close();',
    ].join('\n');
    const run = await runToEnd(process.execPath, ['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('InsecureDirectoryError true true true\ntrue ServiceRegistry\nfalse true true\n');
  });
});

describe('marcus-registry library: a chunk that cannot be read', () => {
  it('fails createRegistry() before it opens the store: no SQLite file left open, none created', async () => {
    // Everything but the registry chunk (the wiring); drivers from the repository's node_modules.
    await using lib = await libraryCopy((files) => files.filter((file) => /^lib\.\w+\.(cjs|cache)$/.test(file) && !file.startsWith('lib.registry.')));
    await symlink(join(ROOT, 'node_modules'), join(lib.dir, 'node_modules'));
    await using tmp = await tempRegistryDir();
    const db = join(tmp.dir, 'registry.db');
    const script = [
      `const { createRegistry } = await import(${JSON.stringify(lib.entry)});`,
      'const { readdirSync, readlinkSync, existsSync } = await import("node:fs");',
      `for (let i = 0; i < 3; i++) await createRegistry({ store: ${JSON.stringify(`sqlite:${db}`)} }).then(() => console.log('created'), (error) => console.log(error.code));`,
      `const open = readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync('/proc/self/fd/' + fd).startsWith(${JSON.stringify(db)}); } catch { return false; } });`,
      `console.log(open.length, existsSync(${JSON.stringify(db)}));`,
    ].join('\n');
    const run = await runToEnd(process.execPath, ['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('ENOENT\nENOENT\nENOENT\n0 false\n');
  });
});
