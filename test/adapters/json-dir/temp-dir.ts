import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir; `remove` deletes it whatever is inside. */
export async function makeTempDir(prefix = 'marcus-json-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Runs `use` with a tmpfs of `size` mounted at `<parent>/mnt` (root only), and
 * unmounts it afterwards. `why` says what the test needs the mount for, in the
 * error when it cannot be made.
 */
export async function withTmpfs<T>(parent: string, size: string, why: string, use: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = join(parent, 'mnt');
  await mkdir(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`as root this test mounts a tmpfs ${why}, and mount failed (no CAP_SYS_ADMIN?): ${String(error)}`);
  }
  try {
    return await use(mnt);
  } finally {
    execFileSync('umount', [mnt], { stdio: 'pipe' });
  }
}
