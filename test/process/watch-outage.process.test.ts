import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Child, CLI, FIXTURES, tempRegistryDir, waitFor } from '../support/processes.js';

/**
 * Issue 14 (5): while the registry was moved away (deleted, then restored),
 * `watch` reported a live instance `removed (unregistered)`. A store that is
 * gone or unreadable is an outage: the watch says so on stderr and keeps the
 * last known state; a live instance is never reported removed by it.
 */

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

function start(args: readonly string[]): Child {
  const child = new Child(process.execPath, args);
  children.push(child);
  return child;
}

describe.each([
  { name: 'json', uri: (dir: string) => `json:${join(dir, 'services')}`, path: (dir: string) => join(dir, 'services') },
  { name: 'sqlite', uri: (dir: string) => `sqlite:${join(dir, 'registry.db')}`, path: (dir: string) => join(dir, 'registry.db') },
])('watch while the registry ($name) is moved away and back', ({ uri, path }) => {
  it('reports an outage, never the live instance removed, and goes on after', async () => {
    await using tmp = await tempRegistryDir();
    const store = uri(tmp.dir);
    // A long heartbeat: the registrant does not re-create the registry during the outage.
    const registrant = start([join(FIXTURES, 'registrant.mjs'), store, 'survivor', '60000']);
    await registrant.line(/^registered survivor$/m);
    const watch = start([CLI, '--store', store, 'watch', '--json', '--sweep', '200']);
    await watch.line(/"type":"added".*"instance_id":"survivor"/);

    const away = `${path(tmp.dir)}.away`;
    await rename(path(tmp.dir), away);
    await waitFor(() => /unavailable; keeping the last known state/.test(watch.stderrText), {
      timeoutMs: 20_000,
      message: () => `no outage reported; stdout ${JSON.stringify(watch.output)} stderr ${JSON.stringify(watch.stderrText)}`,
    });
    // Several sweeps into the outage.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await rename(away, path(tmp.dir));
    await waitFor(() => /is readable again/.test(watch.stderrText), {
      timeoutMs: 20_000,
      message: () => `not back; stderr ${JSON.stringify(watch.stderrText)}`,
    });
    expect(watch.output).not.toMatch(/"type":"removed"/);

    // Still watching: the instance's real end is reported.
    registrant.kill('SIGKILL');
    await watch.line(/"type":"removed".*"instance_id":"survivor".*"reason":"process-exited"/, 30_000);
    expect(watch.output.match(/"type":"removed"/g)).toHaveLength(1);
  }, 90_000);
});

/**
 * Replaces `dir` by `saved` while a registrant may be writing into `dir`: its
 * heartbeat can add a file during the removal (ENOTEMPTY, retried by rm) or
 * create `dir` again between the removal and the rename (removed again).
 */
async function restore(saved: string, dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    try {
      await rename(saved, dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 10) throw error;
    }
  }
}

describe('watch while the JSON registry directory is replaced by an empty one, then restored', () => {
  it('never reports the live instance removed: its registrant re-creates the entry within its heartbeat', async () => {
    await using tmp = await tempRegistryDir();
    const dir = join(tmp.dir, 'services');
    const store = `json:${dir}`;
    // The watch keeps a missing live entry for two heartbeats: 2 s beats leave a loaded machine
    // 4 s to write it again (500 ms beats left 1 s, less than a starved registrant may take).
    const registrant = start([join(FIXTURES, 'registrant.mjs'), store, 'survivor', '2000']);
    await registrant.line(/^registered survivor$/m);
    const watch = start([CLI, '--store', store, 'watch', '--json', '--sweep', '100']);
    await watch.line(/"type":"added".*"instance_id":"survivor"/);

    await rename(dir, `${dir}.orig`);
    await mkdir(dir, { mode: 0o700 });
    // The registrant's next heartbeat writes its entry into the new directory.
    await waitFor(async () => {
      try {
        return (await import('node:fs')).existsSync(join(dir, 'survivor.json'));
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await restore(`${dir}.orig`, dir);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(watch.output).not.toMatch(/"type":"removed"/);

    registrant.kill('SIGKILL');
    await watch.line(/"type":"removed".*"instance_id":"survivor".*"reason":"process-exited"/, 30_000);
    expect(watch.output.match(/"type":"removed"/g)).toHaveLength(1);
  }, 90_000);
});
