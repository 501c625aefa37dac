import type { ServiceRegistry } from '../../app/service-registry.js';
import type { MonitorOptions } from './monitor-options.js';
import type { Monitor } from './start-monitor.js';

/**
 * The library's `startMonitor`: the HTTP server and what only it needs
 * (node:http, node:crypto, the page) load when a monitor starts, not when the
 * library is imported (issue 17: importing stays close to `node -e 0`).
 */
export async function startMonitor(registry: ServiceRegistry, options: MonitorOptions = {}): Promise<Monitor> {
  const { startMonitor: start } = await import('./start-monitor.js');
  return start(registry, options);
}
