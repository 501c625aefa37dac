// The composition root (ADR 0035): inversify wires the adapters createRegistry()
// opened into the facade. Loaded by createRegistry() on its first call, so an
// import of the library loads no container and runs no DI code; the bindings
// name each constructor's tokens (toResolvedValue) instead of decorators, which
// would run inversify's metadata code when the classes are defined.
import { Container } from 'inversify';
import type { Clock } from '../ports/clock.port.js';
import type { LivenessProbe } from '../ports/liveness.port.js';
import type { Logger } from '../ports/logger.port.js';
import type { RegistryStore } from '../ports/store.port.js';
import { DiscoveryService } from './discovery.service.js';
import type { ExitHooks } from './exit-hooks.js';
import { ServiceRegistry } from './service-registry.js';
import type { RegistrySettings } from './settings.js';
import { TOKENS } from './tokens.js';

/** What the facade is built from: the adapters and settings createRegistry() resolved. */
export interface RegistryParts {
  readonly store: RegistryStore;
  readonly liveness: LivenessProbe;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: RegistrySettings;
  readonly exitHooks: ExitHooks;
}

/** A ServiceRegistry wired by a container of its own. */
export function composeRegistry(parts: RegistryParts): ServiceRegistry {
  const container = new Container();
  container.bind<RegistryStore>(TOKENS.Store).toConstantValue(parts.store);
  container.bind<LivenessProbe>(TOKENS.Liveness).toConstantValue(parts.liveness);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(parts.clock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(parts.logger);
  container.bind<RegistrySettings>(TOKENS.Settings).toConstantValue(parts.settings);
  container.bind<ExitHooks>(TOKENS.ExitHooks).toConstantValue(parts.exitHooks);
  container
    .bind<DiscoveryService>(TOKENS.Discovery)
    .toResolvedValue(
      (store: RegistryStore, liveness: LivenessProbe, clock: Clock, logger: Logger, settings: RegistrySettings) => new DiscoveryService(store, liveness, clock, logger, settings),
      [TOKENS.Store, TOKENS.Liveness, TOKENS.Clock, TOKENS.Logger, TOKENS.Settings],
    )
    .inSingletonScope();
  container
    .bind(ServiceRegistry)
    .toResolvedValue(
      (store: RegistryStore, liveness: LivenessProbe, clock: Clock, logger: Logger, settings: RegistrySettings, discovery: DiscoveryService, exitHooks: ExitHooks) =>
        new ServiceRegistry(store, liveness, clock, logger, settings, discovery, exitHooks),
      [TOKENS.Store, TOKENS.Liveness, TOKENS.Clock, TOKENS.Logger, TOKENS.Settings, TOKENS.Discovery, TOKENS.ExitHooks],
    )
    .inSingletonScope();
  return container.get(ServiceRegistry);
}
