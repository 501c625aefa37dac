import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenFailedError } from './monitor.errors.js';
import type { ServiceRegistry } from '../../app/service-registry.js';
import type { MonitorContext } from './context.js';
import { MonitorMetrics } from './metrics.js';
import { resolveMonitorConfig, type MonitorOptions } from './monitor-options.js';
import { createRouter } from './router.js';
import { allowedHosts } from './security.js';

/** A running monitor. `await using` closes it. */
export interface Monitor extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/` (the bound address, or `localhost`, and the actual port). */
  readonly url: string;
  readonly port: number;
  /**
   * Stops listening, ends every event stream (closing its watch) and every
   * connection. The registry is not closed: it belongs to the caller. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Serves `registry` over HTTP: /healthz, /metrics, /v1/services,
 * /v1/services/:id, /v1/services/preferred, /v1/events (SSE) and a live page
 * at /. Loopback only unless `allowRemote` and a `token` say otherwise; read-only.
 * Throws InvalidMonitorOptionsError for unsafe or invalid options and
 * ListenFailedError when the address cannot be bound. See docs/adr/0012-monitor-http-server.md.
 */
export async function startMonitor(registry: ServiceRegistry, options: MonitorOptions = {}): Promise<Monitor> {
  const config = resolveMonitorConfig(options);
  const metrics = await MonitorMetrics.create(registry.storeInfo.kind, config.processMetrics);
  const closing = new AbortController();
  const ctx: MonitorContext = { registry, metrics, config, closing: closing.signal, streams: new Set(), streamsByClient: new Map() };
  // The Host check needs the actual port: the handler is attached once it is known.
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 });
  const port = await listen(server, config.bind.address, config.port);
  server.on('request', createRouter(ctx, allowedHosts(config.bind, port)));
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing.abort();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...ctx.streams]);
      server.closeAllConnections();
      await stopped;
    })());
  return {
    url: `http://${config.bind.urlHost}:${port}/`,
    port,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(new ListenFailedError(`${address.includes(':') ? `[${address}]` : address}:${port}`, error));
    server.once('error', failed);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
