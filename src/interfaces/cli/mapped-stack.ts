import { readFileSync } from 'node:fs';
import type { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';

/**
 * An error's stack with its positions in the CLI bundle (whose local names are
 * minified) given as positions in the TypeScript sources, from the bundle's
 * linked source map: what a bug report needs, without any Node flag (Node does
 * not map code run through vm.Script). A position without a map stays as it is.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  // `at f (/a path/cli.bundle.cjs:1:2)` or `at /a path/cli.bundle.cjs:1:2` (a path may hold spaces, or a drive letter).
  return stack.replace(/(\(|at )([^()\n]*?\.cjs):(\d+):(\d+)/g, (whole, before: string, file: string, line: string, column: string) => {
    if (!maps.has(file)) maps.set(file, readSourceMap(`${file}.map`));
    const entry = maps.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (entry === undefined || !('originalSource' in entry)) return whole;
    return `${before}${resolve(dirname(file), entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

function readSourceMap(path: string): SourceMap | undefined {
  try {
    // node:module (and Node's source-map support it loads) only when a trace is printed, not at every start.
    const { SourceMap: Map } = process.getBuiltinModule('node:module');
    return new Map(JSON.parse(readFileSync(path, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    return undefined;
  }
}
