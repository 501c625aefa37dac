import { statSync } from 'node:fs';

/** Why the files at the database's path are no longer the ones the connection has open. */
export type IdentityChange = 'removed' | 'replaced' | 'wal-removed';

/**
 * Which files an open connection uses: the database file's and its -wal file's
 * (dev, ino). A connection keeps the files it opened, so after `rm` or a rename
 * over the path it would go on writing where no new reader looks: the store
 * compares before every operation (two stat calls) and opens the path again
 * when they differ. The -wal file is recorded when first seen (SQLite creates
 * it with the first read); while any connection is open SQLite never removes
 * it, so its going away means someone removed it.
 */
export class DatabaseIdentity {
  private wal: string | undefined;

  private constructor(
    private readonly location: string,
    private readonly db: string,
  ) {
    this.wal = identityOf(`${location}-wal`);
  }

  /** The identity of the file at `location` now; undefined when there is none. */
  static now(location: string): DatabaseIdentity | undefined {
    const db = identityOf(location);
    return db === undefined ? undefined : new DatabaseIdentity(location, db);
  }

  /** What changed since this identity was taken, or undefined when nothing did. */
  change(): IdentityChange | undefined {
    const db = identityOf(this.location);
    if (db === undefined) return 'removed';
    if (db !== this.db) return 'replaced';
    const wal = identityOf(`${this.location}-wal`);
    if (this.wal === undefined) {
      this.wal = wal;
      return undefined;
    }
    return wal === this.wal ? undefined : 'wal-removed';
  }

  /** A token for watches: changes whenever change() would report something. */
  token(): string {
    return `${identityOf(this.location) ?? '-'}/${identityOf(`${this.location}-wal`) ?? '-'}`;
  }
}

/**
 * Database files this process has SQLite connections to, by `dev:ino`, with a
 * count. POSIX record locks belong to the process, and closing ANY descriptor
 * of a file drops all of them: reading such a file's header with an fd of our
 * own would silently release SQLite's locks, and another process could then
 * checkpoint and remove the WAL in use. Files listed here are read through
 * SQLite only (it defers closing its descriptors for exactly this reason).
 */
const connectedFiles = new Map<string, number>();

/** Counts a connection to the file at `location` now; returns what to call when it closes. */
export function holdConnectedFile(location: string): () => void {
  const id = identityOf(location);
  if (id === undefined) return () => {};
  connectedFiles.set(id, (connectedFiles.get(id) ?? 0) + 1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const count = (connectedFiles.get(id) ?? 1) - 1;
    if (count > 0) connectedFiles.set(id, count);
    else connectedFiles.delete(id);
  };
}

/** Whether this process has an SQLite connection to the file at `location`. */
export function isConnectedFile(location: string): boolean {
  const id = identityOf(location);
  return id !== undefined && connectedFiles.has(id);
}

function identityOf(path: string): string | undefined {
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    return stats && `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}
