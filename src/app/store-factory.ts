import type { Clock } from '../ports/clock.port.js';
import type { LivenessProbe } from '../ports/liveness.port.js';
import type { Logger } from '../ports/logger.port.js';
import type { RegistryStore } from '../ports/store.port.js';
import type { StoreConfig } from './store-uri.js';
import { SystemClock } from '../adapters/clock/system.clock.js';
import { fsPromises } from '../adapters/shared/fs-promises.js';

export interface OpenStoreOptions {
  /**
   * Create a missing registry on open (a json: directory, an sqlite: file).
   * Default: true; readers pass false and create nothing: a missing directory
   * lists empty, a missing database file is STORE_UNAVAILABLE ("does not
   * exist"), never a new empty registry at a mistyped path.
   */
  readonly createDirectory?: boolean;
}

/**
 * Opens the configured store. Each adapter is imported only when chosen, so a
 * JSON-store user never loads better-sqlite3 or etcd3 (nor their adapters).
 */
export async function openStore(config: StoreConfig, logger: Logger, options: OpenStoreOptions = {}): Promise<RegistryStore> {
  switch (config.kind) {
    case 'json': {
      const { openJsonDirStore } = await import('../adapters/json-dir/json-dir.store.js');
      const { kind: _, dir, ...tunables } = config;
      return openJsonDirStore({ ...tunables, dir, logger, createDirectory: options.createDirectory });
    }
    case 'sqlite': {
      const { openSqliteStore } = await import('../adapters/sqlite/sqlite.store.js');
      const { kind: _, path, ...tunables } = config;
      const missing = options.createDirectory === false && !(await exists(path));
      return openSqliteStore({ ...tunables, ...(missing && { readonly: true }), path, logger });
    }
    case 'etcd': {
      const { openEtcdStore } = await import('../adapters/etcd/etcd.store.js');
      const { etcdSecrets } = await import('./etcd-secrets.js');
      const { kind: _, hosts, prefix, tls: _tls, auth: _auth, ...tunables } = config;
      return openEtcdStore({ ...tunables, hosts: [...hosts], prefix, logger, ...(await etcdSecrets(config)) });
    }
    case 'memory': {
      const { MemoryStore } = await import('../adapters/memory/memory.store.js');
      return new MemoryStore();
    }
  }
}

export async function defaultLiveness(): Promise<LivenessProbe> {
  const { defaultLivenessProbe } = await import('../adapters/liveness/select-liveness.js');
  return defaultLivenessProbe();
}

export function systemClock(): Clock {
  return new SystemClock();
}

function exists(path: string): Promise<boolean> {
  return fsPromises().access(path).then(
    () => true,
    () => false,
  );
}
