import type { Clock } from '../ports/clock.port.js';
import type { LivenessProbe } from '../ports/liveness.port.js';
import type { Logger } from '../ports/logger.port.js';
import type { RegistryStore } from '../ports/store.port.js';
import { processExitHooks, type ExitHooks } from './exit-hooks.js';
import { silentLogger } from './logger.js';
import type { ServiceRegistry } from './service-registry.js';
import { defaultSettings, type RegistrySettings } from './settings.js';
import { openStore, systemClock, defaultLiveness } from './store-factory.js';
import { resolveStoreConfig, type StoreConfig } from './store-uri.js';

/** Everything createRegistry() accepts. Every field is optional. */
export interface RegistryOptions {
  /**
   * Which store: a URI (`json:<dir>`, `sqlite:<file>`, `etcd://host:port[,…][/prefix]`,
   * `memory:`), a StoreConfig, or an already-open RegistryStore.
   * Default: MARCUS_REGISTRY_STORE, else `json:~/.marcus/services` (MARCUS_REGISTRY_DIR overrides the dir).
   */
  readonly store?: string | StoreConfig | RegistryStore;
  /** Default: /proc on Linux, ps-list elsewhere. */
  readonly liveness?: LivenessProbe;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Overrides of the registry settings (hostname, staleness policy, heartbeat interval, exit hooks, pin). */
  readonly settings?: Partial<RegistrySettings>;
  /** Environment to read MARCUS_* variables from. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default: the process-wide hooks. Tests pass their own. */
  readonly exitHooks?: ExitHooks;
  /**
   * Create a missing json: registry directory when the store opens. Default: true.
   * false, for a process that only reads: a missing directory lists as empty and
   * is created only by a write.
   */
  readonly createDirectory?: boolean;
}

/**
 * Builds a ServiceRegistry: opens the store named by one config value, and the
 * composition root (loaded on the first call) wires the adapters with an
 * inversify container. Swapping a store is a config change.
 */
export async function createRegistry(options: RegistryOptions = {}): Promise<ServiceRegistry> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  // What can fail to load comes before the store opens: a failure then leaves no store open.
  const { composeRegistry } = await import('./composition-root.js');
  const liveness = options.liveness ?? (await defaultLiveness());
  const store = isStore(options.store) ? options.store : await openStore(resolveStoreConfig(options.store, env), logger, { createDirectory: options.createDirectory });
  return composeRegistry({
    store,
    liveness,
    clock: options.clock ?? systemClock(),
    logger,
    settings: { ...defaultSettings(env), ...options.settings },
    exitHooks: options.exitHooks ?? processExitHooks,
  });
}

function isStore(value: RegistryOptions['store']): value is RegistryStore {
  return typeof value === 'object' && value !== null && 'list' in value && typeof (value as RegistryStore).list === 'function';
}
