import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest, startServe, stopChildren, stopServe } from '../support/monitor.js';
import { Child, cli, tempRegistryDir } from '../support/processes.js';

/**
 * The monitor's token must not sit in argv, where every local user reads it in
 * /proc/PID/cmdline: it comes from MARCUS_REGISTRY_TOKEN or --token-file, and
 * --token still works but warns on stderr. Real `serve` processes, real HTTP.
 */
const children: Child[] = [];
afterEach(() => stopChildren(children));

const TOKEN = 'correct-horse-battery-staple';

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
}

async function authorized(url: string, token: string): Promise<number> {
  return (await rawRequest(`${url}healthz`, { headers: { authorization: `Bearer ${token}` } })).status;
}

describe('serve: where the token comes from', () => {
  it('--token-file reads the token from a file (one trailing newline dropped): not on the command line, no warning', async () => {
    await using tmp = await tempRegistryDir();
    const file = join(tmp.dir, 'token');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    const { child, url } = await startServe(`json:${tmp.dir}`, ['--token-file', file]);
    children.push(child);
    expect((await rawRequest(`${url}healthz`)).status).toBe(401);
    expect(await authorized(url, TOKEN)).toBe(200);
    if (process.platform === 'linux') expect(await cmdline(child.pid)).not.toContain(TOKEN);
    expect(child.stderrText).not.toMatch(/--token/);
    await stopServe(child);
    expect(child.stderrText).not.toContain(TOKEN);
  });

  it('MARCUS_REGISTRY_TOKEN works without a warning; --token works but warns on stderr that argv is readable', async () => {
    await using tmp = await tempRegistryDir();
    const fromEnv = await startServe(`json:${tmp.dir}`, [], { MARCUS_REGISTRY_TOKEN: TOKEN });
    children.push(fromEnv.child);
    expect(await authorized(fromEnv.url, TOKEN)).toBe(200);
    expect(fromEnv.child.stderrText).toBe('');
    await stopServe(fromEnv.child);

    const fromArgv = await startServe(`json:${tmp.dir}`, ['--token', TOKEN]);
    children.push(fromArgv.child);
    expect(await authorized(fromArgv.url, TOKEN)).toBe(200);
    expect(fromArgv.child.stderrText).toMatch(/warning: --token .*visible to every local user.*MARCUS_REGISTRY_TOKEN or --token-file/);
    // The warning names the risk, never the token itself.
    expect(fromArgv.child.stderrText).not.toContain(TOKEN);
    await stopServe(fromArgv.child);
  });

  it('refuses a missing or empty token file, and --token with --token-file, with exit 2 before listening', async () => {
    await using tmp = await tempRegistryDir();
    const store = `json:${tmp.dir}`;
    const empty = join(tmp.dir, 'empty');
    await writeFile(empty, '\n');
    const short = join(tmp.dir, 'short');
    await writeFile(short, 'short');
    const cases: Array<[string[], RegExp]> = [
      [['--token-file', join(tmp.dir, 'nope')], /--token-file .*cannot be read/],
      [['--token-file', empty], /--token-file .* is empty/],
      [['--token-file', short], /at least 16 characters/],
      [['--token', TOKEN, '--token-file', empty], /either --token or --token-file/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(['--store', store, 'serve', '--port', '0', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stdout).not.toContain('serving');
    }
  });
});
