import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isRegistryError } from '../../domain/errors.js';
import type { DiscoverOptions, DiscoveryReport } from '../../app/discovery.service.js';
import { entryJson } from '../../app/entry-json.js';
import type { MonitorContext } from './context.js';
import { FILTER_PARAMS, filtersOf, flagOf, instanceIdOf, queryOf } from './query.js';
import { HttpError, send, sendJson, errorBody } from './responses.js';

export { entryJson };

/** GET /healthz: 200 when a cheap store read works, 503 with the error's code when it does not. */
export async function healthz(ctx: MonitorContext, res: ServerResponse, url: URL): Promise<number> {
  queryOf(url, []);
  const { kind, location } = ctx.registry.storeInfo;
  let checkMs: number;
  try {
    ({ checkMs } = await ctx.registry.health());
  } catch (error) {
    countStoreError(ctx, error);
    sendJson(res, 503, { status: 'unavailable', store: kind, location, ...errorBody(error) });
    return 503;
  }
  sendJson(res, 200, { status: 'ok', store: kind, location, store_check_ms: checkMs });
  return 200;
}

/** GET /v1/services[?provider&project&capability&status&all=1]: live entries, oldest first; with all=1 also stale ones (nothing removed). */
export async function services(ctx: MonitorContext, res: ServerResponse, url: URL): Promise<number> {
  const query = queryOf(url, [...FILTER_PARAMS, 'all']);
  const all = flagOf(query, 'all');
  const filters = filtersOf(query);
  const report = await discover(ctx, { filters, prune: !all });
  const stale = all ? report.stale : [];
  sendJson(res, 200, { store: ctx.registry.storeInfo.kind, services: [...report.services, ...stale].map(entryJson), problems: report.problems });
  return 200;
}

/** GET /v1/services/:id — one entry as it is (even stale; nothing removed). */
export async function service(ctx: MonitorContext, res: ServerResponse, url: URL, rawId: string): Promise<number> {
  queryOf(url, []);
  const id = instanceIdOf(rawId);
  const entry = await storeCall(ctx, () => ctx.registry.get(id));
  if (!entry) throw new HttpError(404, 'NOT_FOUND', `no registry entry for instance ${id}`);
  sendJson(res, 200, entryJson(entry));
  return 200;
}

/**
 * GET /v1/services/preferred[?provider&project&capability&status&instance&cwd]:
 * the instance `marcus-registry preferred` would pick for a client with that
 * project and working directory (none by default: the server's own says nothing
 * about the client). `instance`, as the CLI's --instance, means that instance or
 * none; the server's MARCUS_INSTANCE_ID only ranks one first.
 */
export async function preferred(ctx: MonitorContext, res: ServerResponse, url: URL): Promise<number> {
  const query = queryOf(url, [...FILTER_PARAMS, 'instance', 'cwd']);
  const instance = query.get('instance');
  const filters = { ...filtersOf(query), ...(instance !== undefined && { instanceId: instanceIdOf(instance) }) };
  const best = await storeCall(ctx, () => ctx.registry.preferredEntry({ filters, project: filters.project, cwd: query.get('cwd') ?? null }));
  if (!best) throw new HttpError(404, 'NO_MATCHING_INSTANCE', 'no running instance matches');
  sendJson(res, 200, entryJson(best));
  return 200;
}

/** GET /metrics: discovers once (so the gauges are current), then the Prometheus text format. */
export async function metrics(ctx: MonitorContext, res: ServerResponse, url: URL): Promise<number> {
  queryOf(url, []);
  try {
    await discover(ctx, {});
  } catch {
    // Counted as a store error; the metrics are still worth serving.
  }
  send(res, 200, ctx.metrics.contentType, await ctx.metrics.render());
  return 200;
}

async function discover(ctx: MonitorContext, options: DiscoverOptions): Promise<DiscoveryReport> {
  const started = performance.now();
  const report = await storeCall(ctx, () => ctx.registry.inspect(options));
  const complete = options.filters === undefined || Object.keys(options.filters).length === 0;
  ctx.metrics.discovered(report, (performance.now() - started) / 1000, complete);
  return report;
}

async function storeCall<T>(ctx: MonitorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    countStoreError(ctx, error);
    throw error;
  }
}

function countStoreError(ctx: MonitorContext, error: unknown): void {
  if (isRegistryError(error) && error.code !== 'INVALID_INSTANCE_ID' && error.code !== 'NOT_FOUND') ctx.metrics.storeError(error.code);
}
