import type writeFileAtomicModule from 'write-file-atomic';
import { errnoOf } from './fs-errors.js';

/** Owner-only, as Jupyter's secure_write. */
export const FILE_MODE = 0o600;

/**
 * Temp file (`<file>.<hash>`, never ending in `.json`) + fsync + rename, mode
 * 0600 set by chmod so the umask does not matter.
 */
export async function writeAtomically(path: string, text: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  const writeFileAtomic = await loadWriteFileAtomic();
  // A fresh options object each time: write-file-atomic fills in chown/mode on it.
  await retryWhileBusy(() => writeFileAtomic(path, text, { mode: FILE_MODE, fsync: true, encoding: 'utf8' }), platform);
}

let writerLoading: Promise<typeof writeFileAtomicModule> | undefined;

/** write-file-atomic, loaded on the first write: a process that only reads never loads it (nor node:crypto, worker_threads). */
function loadWriteFileAtomic(): Promise<typeof writeFileAtomicModule> {
  writerLoading ??= import('write-file-atomic').then((m) => m.default);
  return writerLoading;
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
