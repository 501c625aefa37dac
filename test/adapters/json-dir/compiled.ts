import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The repository root: child processes run there so they resolve its node_modules. */
export const repoRoot = root;

/**
 * The compiled module child processes import (`npm test` builds dist/ first).
 * Fails loudly instead of testing a missing or stale build.
 */
export function compiledModule(srcRelative: string): string {
  const dist = `${root}dist/${srcRelative.replace(/\.ts$/, '.js')}`;
  const src = `${root}src/${srcRelative}`;
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` before these tests (npm test does)`);
  if (statSync(dist).mtimeMs < statSync(src).mtimeMs) throw new Error(`${dist} is older than ${src}: run \`npm run build\``);
  return dist;
}
