import { unlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { errnoOf } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

/** Owner-only, as Jupyter's secure_write. */
export const FILE_MODE = 0o600;

/**
 * Writes `text` to `path` atomically: a temp file beside it (created
 * exclusively, made 0600 by fchmod so the umask does not matter), written in
 * full, fsync'ed, closed, then renamed over `path`. A reader sees the old file
 * or the new one, never a part; a writer killed before the rename leaves only
 * its temp file (`<file>.<pid>.<n>.<random>.tmp`, never ending in `.json`: the
 * listing ignores it), and a failed write removes it, as does a process that
 * exits while writing (removeTempsAtExit). What write-file-atomic
 * did for us (ADR 0030): without node:crypto, worker_threads and signal-exit,
 * which cost a registrant ~5 ms to load; a symlink at `path` is replaced, never
 * written through (the store refuses one before it writes anyway).
 */
export async function writeAtomically(path: string, text: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  await retryWhileBusy(() => writeThroughTemp(path, text), platform);
}

/** Temp names: unique within this process by the counter, across processes by the pid and a random part. */
let written = 0;

async function writeThroughTemp(path: string, text: string): Promise<void> {
  const fs = fsPromises();
  const temp = `${path}.${process.pid}.${++written}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  let handle: FileHandle | undefined;
  removeTempsAtExit();
  writing.add(temp);
  try {
    handle = await fs.open(temp, 'wx', FILE_MODE);
    // Independent system calls on one descriptor: both at once, one thread-pool round trip
    // fewer (~0.4 ms of a registrant's first write here). Both settle before anything else.
    const [chmod, write] = await Promise.allSettled([handle.chmod(FILE_MODE), handle.writeFile(text, 'utf8')]);
    if (chmod.status === 'rejected') throw chmod.reason;
    if (write.status === 'rejected') throw write.reason;
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  } finally {
    writing.delete(temp);
  }
}

/** Temp files of writes in flight, by path. */
const writing = new Set<string>();
let exitListener = false;

/**
 * A process that exits while it writes (a host's signal handler or fatal error
 * calls process.exit()) removes its temp files on the way out: nobody else
 * would (the listing ignores them, and their writer is gone). SIGKILL still
 * leaves one. One listener per process, added at the first write.
 */
function removeTempsAtExit(): void {
  if (exitListener) return;
  exitListener = true;
  process.on('exit', () => {
    for (const temp of writing) {
      try {
        unlinkSync(temp);
      } catch {
        // not created yet, or already renamed: nothing to remove
      }
    }
  });
}

const WINDOWS_BUSY = new Set(['EPERM', 'EBUSY', 'EACCES']);
const RETRY_DELAYS_MS = [5, 10, 20, 40, 80];

/**
 * On Windows a rename fails with EPERM/EBUSY/EACCES while another process
 * (a reader, an antivirus) has the file open; it clears within milliseconds.
 * Elsewhere those codes are real (read-only) and are not retried.
 */
export async function retryWhileBusy<T>(action: () => Promise<T>, platform: NodeJS.Platform = process.platform): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (platform !== 'win32' || delay === undefined || !WINDOWS_BUSY.has(errnoOf(error) ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
