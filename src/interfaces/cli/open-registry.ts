import { createRegistry, type RegistryOptions } from '../../app/create-registry.js';
import { stderrLogger } from '../../app/logger.js';
import type { ServiceRegistry } from '../../app/service-registry.js';

export interface CliGlobals {
  readonly store?: string | boolean;
  readonly debug?: string | boolean;
}

/** The registry a CLI command works on: --store, else the environment's, else the default. */
export function openRegistry(globals: CliGlobals, extra: Omit<RegistryOptions, 'store' | 'logger'> & { readonly readOnly?: boolean } = {}): Promise<ServiceRegistry> {
  const { readOnly, ...rest } = extra;
  return createRegistry({
    ...rest,
    // A command that only reads creates nothing (no json: directory).
    ...(readOnly && { createDirectory: false }),
    store: typeof globals.store === 'string' ? globals.store : undefined,
    // Warnings go to stderr; --debug (or MARCUS_REGISTRY_DEBUG=1) adds the details.
    logger: stderrLogger({ debug: debugWanted(globals) }),
  });
}

/** --debug, or MARCUS_REGISTRY_DEBUG set to anything non-empty: the one place the CLI reads it. */
export function debugWanted(globals: CliGlobals, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return globals.debug === true || Boolean(env['MARCUS_REGISTRY_DEBUG']);
}
