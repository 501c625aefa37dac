import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, ROOT, runToEnd } from '../../support/processes.js';

const run = promisify(execFile);
const SOURCES = join(ROOT, 'src/adapters/sqlite');
const COMPILED = join(ROOT, 'dist/adapters/sqlite');

/**
 * Child processes import dist/. `npm test` builds first; a direct `vitest run`
 * rebuilds here when dist/ is older than this adapter's sources. Emits even when
 * another file in progress has type errors (they are not this adapter's).
 */
export async function ensureBuilt(): Promise<void> {
  const stale = readdirSync(SOURCES).some((file) => {
    const compiled = join(COMPILED, file.replace(/\.ts$/, '.js'));
    return !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(join(SOURCES, file)).mtimeMs;
  });
  if (!stale) return;
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noEmitOnError', 'false'], {
    cwd: ROOT,
  }).catch((error: { stdout?: string }) => {
    // tsc exits non-zero on any type error in the tree; what matters is our output.
    if (!existsSync(join(COMPILED, 'sqlite.store.js'))) throw error;
    return error.stdout;
  });
}

/** Runs a test/fixtures script to completion and parses the JSON line it prints. */
export async function runFixture<T>(script: string, args: readonly string[]): Promise<T> {
  const result = await runToEnd(process.execPath, [join(FIXTURES, script), ...args], { cwd: ROOT });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !line.startsWith('{')) {
    throw new Error(`${script} exited ${result.code}: ${result.stderr || result.stdout}`);
  }
  return JSON.parse(line) as T;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
