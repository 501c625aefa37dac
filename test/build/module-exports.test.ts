import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a build script (JavaScript, no declarations)
import { moduleExports } from '../../scripts/module-exports.mjs';

/**
 * The build hands the library's exports and the modules its chunks share over
 * as plain objects (ADR 0035) and refuses a `let` or `var` binding: this reads
 * how each exported name is declared, through renames, destructuring, imports
 * and re-exports.
 */
describe('moduleExports (scripts/module-exports.mjs)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marcus-exports-'));
    await writeFile(
      join(dir, 'a.js'),
      [
        'let calls = 0;',
        'let first = 0, last;',
        'const { x, y: [z] } = { x: 1, y: [2] };',
        'export { calls as count, last, z };',
        "export { b as fromB } from './b.js';",
        "import { c as cc } from './b.js';",
        'export { cc };',
        'export const k = 1;',
        'export function f() {}',
        'export class C {}',
        "export * as all from './b.js';",
        'export default 5;',
      ].join('\n'),
    );
    await writeFile(join(dir, 'b.js'), 'export let b = 1;\nexport var c = 2;\n');
    await writeFile(join(dir, 'star.js'), "export * from './b.js';\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names each export with how its binding is declared, where it is declared', () => {
    const exports = moduleExports(join(dir, 'a.js')) as Map<string, { file: string; kind: string }>;
    const kinds = Object.fromEntries([...exports].map(([name, { file, kind }]) => [name, `${kind} ${file.replace(`${dir}/`, '')}`]));
    expect(kinds).toEqual({
      count: 'let a.js',
      last: 'let a.js',
      z: 'const a.js',
      fromB: 'let b.js',
      cc: 'var b.js',
      k: 'const a.js',
      f: 'function a.js',
      C: 'class a.js',
      all: 'namespace a.js',
      default: 'default a.js',
    });
  });

  it('refuses `export *`, whose names it cannot list', () => {
    expect(() => moduleExports(join(dir, 'star.js'))).toThrow(/export \* from/);
  });
});
