import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runToEnd } from '../support/processes.js';

/**
 * The library's bundle has minified local names (ADR 0031); what it exports
 * keeps its public name, for what prints one: util.inspect (console.log of an
 * error) and loggers that record `err.constructor.name`.
 */
describe('marcus-registry library: exported classes and functions keep their names', () => {
  it('an error prints as its class, and every exported function is named as exported', async () => {
    const script = [
      `const lib = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});`,
      "const { inspect } = await import('node:util');",
      "console.log(inspect(new lib.NotFoundError('marcus_x')).split('\\n')[0]);",
      'console.log(lib.ServiceRegistry.name, lib.createRegistry.name, new lib.InvalidRecordError("bad").constructor.name);',
      "console.log(Object.entries(lib).filter(([name, value]) => typeof value === 'function' && value.name !== name).map(([name]) => name).join(',') || 'all named');",
    ].join('\n');
    const run = await runToEnd(process.execPath, ['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    const [inspected, names, unnamed] = run.stdout.trim().split('\n');
    expect(inspected).toMatch(/^NotFoundError: /);
    expect(names).toBe('ServiceRegistry createRegistry InvalidRecordError');
    expect(unnamed).toBe('all named');
  });
});
