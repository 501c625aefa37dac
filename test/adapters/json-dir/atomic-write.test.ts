import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAtomically } from '../../../src/adapters/json-dir/atomic-write.js';
import { instanceIdOfName } from '../../../src/adapters/json-dir/entry-file.js';
import { runNode } from './children.js';
import { compiledModule } from './compiled.js';
import { makeTempDir, withTmpfs } from './temp-dir.js';

// writeAtomically (ADR 0030): temp file, fchmod 0600, write, fsync, rename.
describe('json-dir atomic write', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('writes the whole text 0600 whatever the umask, replaces the old file with a new inode, and leaves no temp file', async () => {
    const path = join(dir.path, 'marcus_a.json');
    await writeFile(path, 'old', { mode: 0o644 });
    const before = await stat(path);
    const old = process.umask(0o000);
    try {
      await writeAtomically(path, 'x'.repeat(300_000));
    } finally {
      process.umask(old);
    }
    const after = await stat(path);
    expect(await readFile(path, 'utf8')).toBe('x'.repeat(300_000));
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.ino).not.toBe(before.ino);
    expect(await readdir(dir.path)).toEqual(['marcus_a.json']);
  });

  it('a failed write leaves the old file as it was and removes its temp file', async () => {
    // The target is a directory: the rename fails (EISDIR) after the temp file was written.
    const path = join(dir.path, 'marcus_b.json');
    await mkdir(path);
    await expect(writeAtomically(path, '{}')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(await readdir(dir.path)).toEqual(['marcus_b.json']);
    expect((await lstat(path)).isDirectory()).toBe(true);
  });

  const isRoot = process.getuid?.() === 0;
  it(
    isRoot
      ? 'a write that fails before its rename (ENOSPC on a full tmpfs) keeps the old file and removes its temp file'
      : 'ENOSPC: not root, so no small tmpfs can be mounted here to fill; the failed rename case above covers the clean-up',
    { timeout: 30_000 },
    async () => {
      if (!isRoot) {
        await expect(writeAtomically(join(dir.path, 'missing-dir', 'marcus_e.json'), '{}')).rejects.toMatchObject({ code: 'ENOENT' });
        return;
      }
      await withTmpfs(dir.path, '64k', 'of 64 KiB to fill it', async (mnt) => {
        const path = join(mnt, 'marcus_e.json');
        await writeAtomically(path, 'old');
        await expect(writeAtomically(path, 'z'.repeat(256 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
        expect(await readFile(path, 'utf8')).toBe('old');
        expect(await readdir(mnt)).toEqual(['marcus_e.json']);
      });
    },
  );

  it('replaces a symlink at the path instead of writing through it', async () => {
    const outside = join(dir.path, 'outside.txt');
    await writeFile(outside, 'untouched');
    const path = join(dir.path, 'marcus_c.json');
    await symlink(outside, path);
    await writeAtomically(path, 'new');
    expect(await readFile(outside, 'utf8')).toBe('untouched');
    expect((await lstat(path)).isFile()).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('a writer SIGKILLed while writing leaves the old record or the new one, never a part; its temp file is no entry', { timeout: 60_000 }, async () => {
    const path = join(dir.path, 'marcus_d.json');
    await writeFile(path, JSON.stringify({ n: 0 }));
    // A child rewrites the entry with a 2 MB text as fast as it can and is killed mid-way.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { writeAtomically } = await import(${JSON.stringify(compiledModule('adapters/json-dir/atomic-write.ts'))});
         const pad = 'y'.repeat(2_000_000);
         process.stdout.write('ready\\n');
         for (let n = 1; ; n++) await writeAtomically(${JSON.stringify(path)}, JSON.stringify({ n, pad }));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // Killed once the file has been replaced a few times, while it is writing the next one.
    for (let seen = 0; seen < 3; ) {
      const text = await readFile(path, 'utf8');
      const { n } = JSON.parse(text) as { n: number };
      if (n > seen) seen = n;
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    const { n } = JSON.parse(await readFile(path, 'utf8')) as { n: number };
    expect(n).toBeGreaterThanOrEqual(3);
    for (const name of await readdir(dir.path)) {
      if (name !== 'marcus_d.json') expect(instanceIdOfName(name)).toBeUndefined();
    }
  });

  it('a writer that exits (process.exit) while writing leaves no temp file behind', { timeout: 60_000 }, async () => {
    // A host's signal handler or fatal error calls process.exit() while a heartbeat is being written:
    // nobody would ever remove that temp file (the listing ignores it, and the writer is gone).
    const path = join(dir.path, 'marcus_e.json');
    const run = runNode(
      `import { readdirSync } from 'node:fs';
       const { writeAtomically } = await import(${JSON.stringify(compiledModule('adapters/json-dir/atomic-write.ts'))});
       void writeAtomically(${JSON.stringify(path)}, 'z'.repeat(64_000_000));
       // Exit once the temp file exists, while its 64 MB are still being written.
       const wait = () => (readdirSync(${JSON.stringify(dir.path)}).some((name) => name.endsWith('.tmp')) ? process.exit(0) : setImmediate(wait));
       wait();`,
    );
    await run.exited;
    expect(await readdir(dir.path)).toEqual([]);
  });
});
