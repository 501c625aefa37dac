// The public API: named re-exports only, deliberately flat.
export { createRegistry, type RegistryOptions } from './app/create-registry.js';
export { ServiceRegistry, type PreferredOptions, type SelectOptions, type PruneReport, type StoreInfo, type StoreHealth } from './app/service-registry.js';
export type { DiscoveryReport, DiscoverOptions, JudgedEntry, RemovedEntry } from './app/discovery.service.js';
export type { RegisterOptions, UpdatePatch } from './app/register-options.js';
export type { RegistrySettings } from './app/settings.js';
export type { WatchOptions } from './app/watch/watch-options.js';
export type { ProbeOptions } from './app/probe/endpoint-probe.js';
export { withEndpointHealth, type EndpointFact } from './domain/endpoint-health.js';
export { DEFAULT_SWEEP_INTERVAL_MS } from './app/watch/watch-options.js';
export { WatchEmitter, type WatchEmitterEvents } from './app/watch/watch-emitter.js';
export { diffSnapshots, reasonForVanished, type RegistryEvent, type RemovalReason, type LiveHealth, type SnapshotEntry, type RegistrySnapshot } from './domain/changes.js';
export { parseStoreUri, resolveStoreConfig, defaultRegistryDir, DEFAULT_ETCD_PREFIX, type StoreConfig, type JsonStoreTunables, type SqliteStoreTunables, type EtcdStoreTunables } from './app/store-uri.js';
export { ETCD_ENV, type EtcdAuthConfig, type EtcdTlsConfig } from './app/store-uri.js';
export { silentLogger, stderrLogger } from './app/logger.js';
export { startMonitor } from './interfaces/http/start-monitor.lazy.js';
export type { Monitor } from './interfaces/http/start-monitor.js';
export { resolveMonitorConfig, type MonitorOptions } from './interfaces/http/monitor-options.js';
export {
  getServiceRegistry,
  registerMarcusService,
  unregisterMarcusService,
  discoverServices,
  getPreferredService,
  closeServiceRegistry,
} from './app/convenience.js';

export {
  recordSchema,
  RECORD_KEYS,
  SCHEMA_VERSION,
  parseRecord,
  decodeRecord,
  encodeRecord,
  type ServiceRecord,
} from './domain/record.schema.js';
export { foreignFieldsOf, type ForeignField } from './domain/foreign-fields.js';
export { INSTANCE_ID_PATTERN, isValidInstanceId, defaultInstanceId } from './domain/instance-id.js';
export { connectionFor, mcpUrlProblem, rejoinSplitPaths, type Connection, type ConnectionContext, type HttpTransport } from './domain/connection.js';
export { parseShellWords } from './domain/shell-words.js';
export { parseTimestamp, formatTimestamp } from './domain/timestamp.js';
export { judge, heartbeatTtlMs, DEFAULT_STALENESS_POLICY, type Health, type Verdict, type StaleReason, type StalenessPolicy, type ProcessFacts, type ProcessStart } from './domain/staleness.js';
export { matchesFilters, type ServiceFilters } from './domain/filters.js';
export { rankByPreference, comparePreference, type PreferenceContext, type Candidate } from './domain/preference.js';
export { select, SELECTION_STRATEGIES, type SelectionStrategy } from './domain/selection.js';
export {
  RegistryError,
  InvalidRecordError,
  InvalidInstanceIdError,
  NotFoundError,
  NotRegisteredError,
  InsecureDirectoryError,
  ReadOnlyStoreError,
  NotARegistryError,
  DriverMissingError,
  InvalidStoreUriError,
  StoreUnavailableError,
  AccessDeniedError,
  AuthFailedError,
  TlsFailedError,
  UnsupportedSchemaVersionError,
  ConflictError,
  LockBusyError,
  RegistryClosedError,
  UnsafeCommandError,
  InvalidConnectionError,
  NoEndpointError,
  UntrustedCommandError,
  EntryTakenOverError,
  isRegistryError,
  isRetryable,
  type RegistryErrorCode,
} from './domain/errors.js';

export { InvalidMonitorOptionsError, ListenFailedError } from './interfaces/http/monitor.errors.js';
export { ConnectionFailedError } from './interfaces/cli/cli.errors.js';

export type { RegistryStore, StoredEntry, StoreProblem, ListResult, DeleteOutcome, EntryVersion, PutOptions, StoreCapabilities, StoreChange, StoreWatch, StoreWatchOptions } from './ports/store.port.js';
export type { LivenessProbe, LivenessSnapshot } from './ports/liveness.port.js';
export type { Clock } from './ports/clock.port.js';
export type { Logger } from './ports/logger.port.js';
export { MemoryStore } from './adapters/memory/memory.store.js';
