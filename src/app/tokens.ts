/** Every DI token in one place (inversify). Values are symbols so names cannot clash. */
export const TOKENS = {
  Store: Symbol.for('marcus-registry.Store'),
  Liveness: Symbol.for('marcus-registry.LivenessProbe'),
  Clock: Symbol.for('marcus-registry.Clock'),
  Logger: Symbol.for('marcus-registry.Logger'),
  Settings: Symbol.for('marcus-registry.Settings'),
  Discovery: Symbol.for('marcus-registry.DiscoveryService'),
  ExitHooks: Symbol.for('marcus-registry.ExitHooks'),
} as const;
