import type { ServiceRegistry } from '../../app/service-registry.js';
import type { MonitorMetrics } from './metrics.js';
import type { MonitorConfig } from './monitor-options.js';

/** What every handler of one monitor shares. */
export interface MonitorContext {
  readonly registry: ServiceRegistry;
  readonly metrics: MonitorMetrics;
  readonly config: MonitorConfig;
  /** Aborted when the monitor closes: open event streams end. */
  readonly closing: AbortSignal;
  /** Event streams open now. */
  readonly streams: Set<Promise<void>>;
  /** Event streams open now, by client address. */
  readonly streamsByClient: Map<string, number>;
}
