import type { ServiceFilters } from '../domain/filters.js';
import type { ServiceRecord } from '../domain/record.schema.js';
import { createRegistry, type RegistryOptions } from './create-registry.js';
import type { RegisterOptions } from './register-options.js';
import type { PreferredOptions, ServiceRegistry } from './service-registry.js';

/*
 * Functions mirroring the Python registry's module-level API, on one
 * process-wide registry (the Python side's global instance).
 */

let shared: Promise<ServiceRegistry> | undefined;

/** The process-wide registry, created on first use with `options` (later options are ignored). */
export function getServiceRegistry(options?: RegistryOptions): Promise<ServiceRegistry> {
  if (!shared) {
    shared = createRegistry(options);
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

export async function registerMarcusService(options: RegisterOptions): Promise<ServiceRecord> {
  return (await getServiceRegistry()).register(options);
}

export async function unregisterMarcusService(): Promise<boolean> {
  return (await getServiceRegistry()).unregister();
}

export async function discoverServices(filters?: ServiceFilters): Promise<ServiceRecord[]> {
  return (await getServiceRegistry()).discover(filters);
}

export async function getPreferredService(options?: PreferredOptions): Promise<ServiceRecord | undefined> {
  return (await getServiceRegistry()).preferred(options);
}

/** Closes the process-wide registry (unregistering its instance) so a new one can be made. */
export async function closeServiceRegistry(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) await (await current).close();
}
