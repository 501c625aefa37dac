// Cold start of the CLI: `node dist/interfaces/cli/main.cjs list --json` on an empty
// registry, against `node -e 0`, the floor of any Node program on this machine.
import { spawn } from 'node:child_process';
import { mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../dist/interfaces/cli/main.cjs', import.meta.url));

/** Runs a node process to its end; rejects unless it exits 0 (and, for list, prints []). */
export function runNode(args, expectOut) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || (expectOut !== undefined && out.trim() !== expectOut)) {
        reject(new Error(`node ${args.join(' ')} exited ${code}: ${out}${err}`));
      } else resolve();
    });
  });
}

export async function emptyRegistry(root) {
  const dir = join(root, 'json-empty');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

export const listArgs = (dir) => [CLI_MAIN, '--store', `json:${dir}`, 'list', '--json'];
export const nodeFloorArgs = ['-e', '0'];
