import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DiscoveryReport } from '../../app/discovery.service.js';

/** Discovery takes about a millisecond for a few entries and up to seconds for thousands on etcd. */
const DISCOVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The monitor's Prometheus metrics, in a prom-client Registry of its own (never
 * the global default, so a host application's prom-client is left untouched).
 * prom-client is imported when a monitor starts, never by the library itself.
 */
export class MonitorMetrics {
  private constructor(
    private readonly registry: Registry,
    private readonly instances: Gauge<'status' | 'provider' | 'health'>,
    private readonly discovery: Histogram,
    private readonly pruned: Counter,
    private readonly storeErrors: Counter<'code'>,
    private readonly problems: Gauge<'code'>,
    private readonly streams: Gauge,
    private readonly requests: Counter<'route' | 'code'>,
  ) {}

  static async create(storeKind: string, processMetrics: boolean): Promise<MonitorMetrics> {
    const loaded = await import('prom-client');
    // prom-client is CommonJS: Node exposes its exports as named ones, a bundler (the CLI's) as `default`.
    const prom = typeof loaded.Registry === 'function' ? loaded : (loaded as unknown as { default: typeof loaded }).default;
    const registers = [new prom.Registry()];
    const registry = registers[0] as Registry;
    new prom.Gauge({ name: 'marcus_registry_store_info', help: 'The store this monitor reads (always 1).', labelNames: ['store'], registers }).set({ store: storeKind }, 1);
    const metrics = new MonitorMetrics(
      registry,
      new prom.Gauge({
        name: 'marcus_registry_instances',
        help: 'Live instances (healthy and unresponsive) at the last discovery, by status, provider ("" when none) and health.',
        labelNames: ['status', 'provider', 'health'],
        registers,
      }),
      new prom.Histogram({ name: 'marcus_registry_discovery_duration_seconds', help: 'How long one discovery (list, judge, prune) took.', buckets: DISCOVERY_BUCKETS, registers }),
      new prom.Counter({ name: 'marcus_registry_stale_entries_pruned_total', help: 'Stale entries this monitor removed while discovering.', registers }),
      new prom.Counter({ name: 'marcus_registry_store_errors_total', help: 'Store calls that failed, by error code.', labelNames: ['code'], registers }),
      new prom.Gauge({ name: 'marcus_registry_store_problems', help: 'Entries the last discovery skipped (corrupt, invalid, not a file), by code.', labelNames: ['code'], registers }),
      new prom.Gauge({ name: 'marcus_registry_event_streams', help: 'Open /v1/events streams (each runs one registry watch).', registers }),
      new prom.Counter({ name: 'marcus_registry_http_requests_total', help: 'HTTP requests answered, by route and status code.', labelNames: ['route', 'code'], registers }),
    );
    if (processMetrics) prom.collectDefaultMetrics({ register: registry });
    return metrics;
  }

  /** Records one discovery: its duration, what it pruned, and, when it saw every entry, the instance counts. */
  discovered(report: DiscoveryReport, seconds: number, complete: boolean): void {
    this.discovery.observe(seconds);
    if (report.removed.length > 0) this.pruned.inc(report.removed.length);
    if (!complete) return;
    this.instances.reset();
    for (const { record, health } of report.services) this.instances.inc({ status: record.status ?? '', provider: record.provider ?? '', health });
    this.problems.reset();
    for (const problem of report.problems) this.problems.inc({ code: problem.code });
  }

  storeError(code: string): void {
    this.storeErrors.inc({ code });
  }

  streamOpened(): void {
    this.streams.inc();
  }

  streamClosed(): void {
    this.streams.dec();
  }

  request(route: string, status: number): void {
    this.requests.inc({ route, code: String(status) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
