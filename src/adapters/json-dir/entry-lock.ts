import type lockfileModule from 'proper-lockfile';
import type { Logger } from '../../ports/logger.port.js';
import { LockBusyError } from '../../domain/errors.js';
import { errnoOf, translateFsError } from './fs-errors.js';
import { fsPromises } from '../shared/fs-promises.js';

export type ReleaseLock = () => Promise<void>;

/**
 * A lock directory whose mtime lies further ahead than this is stale. A holder
 * refreshes its lock's mtime to its own now, so a future mtime beyond clock
 * jitter means a holder that crashed before the clock stepped back; judged by
 * mtime alone it would stay "held" until that time plus staleMs.
 */
export const FUTURE_LOCK_TOLERANCE_MS = 2000;

export interface EntryLockOptions {
  /** A lock whose holder stopped refreshing it for this long is taken over (proper-lockfile `stale`). */
  readonly staleMs: number;
  /** How long a waiting acquire keeps trying before LockBusyError. */
  readonly waitMs: number;
  readonly logger: Logger;
}

/**
 * Per-entry locks: `<dir>/<id>.json.lock` (a directory, made atomically by
 * proper-lockfile). Callers in this process queue on an in-memory mutex first,
 * so only one of them polls the lock on disk. proper-lockfile's own retries
 * would also retry EACCES/EROFS and back off by whole seconds; the loop here
 * retries only ELOCKED, with short sleeps.
 */
export class EntryLocks {
  constructor(
    private readonly dir: string,
    private readonly options: EntryLockOptions,
  ) {}

  /** Waits for the lock (bounded); throws LockBusyError when it stays held, ReadOnlyStoreError when it cannot be made. */
  async acquire(instanceId: string, entryFile: string): Promise<ReleaseLock> {
    const release = await this.take(instanceId, entryFile, true);
    if (!release) throw new LockBusyError(instanceId);
    return release;
  }

  /** Takes the lock only if it is free right now; undefined when it is held (discovery never waits). */
  tryAcquire(instanceId: string, entryFile: string): Promise<ReleaseLock | undefined> {
    return this.take(instanceId, entryFile, false);
  }

  private async take(instanceId: string, entryFile: string, wait: boolean): Promise<ReleaseLock | undefined> {
    const lockfilePath = `${entryFile}.lock`;
    const releaseLocal = await acquireLocal(lockfilePath, wait);
    if (!releaseLocal) return undefined;
    try {
      const releaseFile = await this.takeFile(instanceId, entryFile, lockfilePath, wait);
      if (!releaseFile) {
        releaseLocal();
        return undefined;
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        try {
          await releaseFile();
        } catch (error) {
          // ERELEASED after a compromise (already logged), or the lock dir vanished.
          this.options.logger.debug(`lock of ${instanceId} was not released cleanly`, { error: String(error) });
        } finally {
          releaseLocal();
        }
      };
    } catch (error) {
      releaseLocal();
      throw error;
    }
  }

  private async takeFile(instanceId: string, entryFile: string, lockfilePath: string, wait: boolean): Promise<ReleaseLock | undefined> {
    const lockfile = await loadLockfile();
    const deadline = Date.now() + this.options.waitMs;
    let delay = 2;
    for (;;) {
      try {
        return await lockfile.lock(entryFile, {
          lockfilePath,
          realpath: false, // the entry need not exist yet
          stale: this.options.staleMs,
          retries: 0,
          // The default throws from a timer and would crash the host process.
          onCompromised: (error) =>
            this.options.logger.warn(`lock of registry entry ${instanceId} was compromised (held too long or removed)`, {
              error: error.message,
              lock: lockfilePath,
            }),
        });
      } catch (error) {
        if (!(await isContention(error, this.dir))) throw translateFsError(error, { op: 'write', location: this.dir, instanceId });
        if (await this.removeIfFromFuture(instanceId, lockfilePath)) continue;
        if (!wait || Date.now() >= deadline) return undefined;
        await sleep(delay * (1 + Math.random()));
        delay = Math.min(delay * 2, 50);
      }
    }
  }

  /**
   * Removes a lock directory from the future (see FUTURE_LOCK_TOLERANCE_MS) the
   * way proper-lockfile removes one whose mtime is too old: stat, then rmdir.
   * Says whether it removed one, so the caller tries to take the lock at once.
   */
  private async removeIfFromFuture(instanceId: string, lockfilePath: string): Promise<boolean> {
    const mtimeMs = await fsPromises().stat(lockfilePath).then(
      (info) => info.mtimeMs,
      () => undefined,
    );
    const ahead = mtimeMs === undefined ? 0 : mtimeMs - Date.now();
    if (ahead <= FUTURE_LOCK_TOLERANCE_MS) return false;
    this.options.logger.warn(`lock of registry entry ${instanceId} has an mtime ${Math.round(ahead / 1000)} s in the future; removing it as stale`, {
      lock: lockfilePath,
    });
    try {
      await fsPromises().rmdir(lockfilePath);
    } catch (error) {
      // Gone already (another process removed it), or not an empty directory: not ours to force.
      if (errnoOf(error) !== 'ENOENT') return false;
    }
    return true;
  }
}

let lockfileLoading: Promise<typeof lockfileModule> | undefined;

/**
 * proper-lockfile, loaded when this process first takes a lock: one that only
 * reads the registry never loads it (nor graceful-fs and signal-exit, whose
 * exit and signal hooks it installs).
 */
function loadLockfile(): Promise<typeof lockfileModule> {
  lockfileLoading ??= import('proper-lockfile').then((m) => m.default);
  return lockfileLoading;
}

/** Tails of the in-process queues, by lock path: shared by every store of this process. */
const localQueues = new Map<string, Promise<void>>();

async function acquireLocal(key: string, wait: boolean): Promise<(() => void) | undefined> {
  const previous = localQueues.get(key);
  if (previous && !wait) return undefined;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = (previous ?? Promise.resolve()).then(() => mine);
  localQueues.set(key, tail);
  await previous;
  return () => {
    release();
    if (localQueues.get(key) === tail) localQueues.delete(key);
  };
}

/**
 * ELOCKED: held. ENOENT while the registry directory exists: two processes took
 * over the same stale lock at once, and the other one's rmdir removed the lock
 * directory we had just made (proper-lockfile then fails its mtime probe). Both
 * are contention: wait and retry, or report busy; never a store failure.
 */
async function isContention(error: unknown, dir: string): Promise<boolean> {
  const code = errnoOf(error);
  if (code === 'ELOCKED') return true;
  if (code !== 'ENOENT') return false;
  return fsPromises().stat(dir).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
