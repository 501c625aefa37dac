import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRegistryError } from '../../domain/errors.js';
import type { MonitorContext } from './context.js';
import { FILTER_PARAMS, filtersOf, queryOf } from './query.js';
import { errorBody, HttpError, safeJson } from './responses.js';
import { SECURITY_HEADERS } from './security.js';

/** A client that reads slower than the registry changes is cut off past this much unsent data; it reconnects to a fresh state. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** What EventSource waits before reconnecting. */
const RETRY_MS = 2_000;

/**
 * GET /v1/events[?provider&project&capability&status]: Server-Sent Events fed
 * by one registry.watch() per client.
 * - `event: added|updated|removed`, `data:` the RegistryEvent as JSON (as
 *   `watch --json` prints it), `id:` counting from 1 on each stream;
 * - first one `added` per live instance (the current state), then changes;
 *   a reconnecting client gets the current state again (Last-Event-ID is not
 *   needed: nothing is replayed, the state is re-sent);
 * - `: heartbeat` comments while idle; `event: failure` with an error body
 *   when the watch cannot start (the store is down), then the stream ends;
 * - the watch is closed when the client goes away, the monitor closes, or
 *   the client falls more than 1 MiB behind.
 */
export function events(ctx: MonitorContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
  const filters = filtersOf(queryOf(url, FILTER_PARAMS));
  if (ctx.streams.size >= ctx.config.maxStreams) throw new HttpError(503, 'TOO_MANY_STREAMS', `already ${ctx.streams.size} event streams open`, { 'retry-after': '5' });
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve(200);
  }
  res.flushHeaders();
  const stream = pump(ctx, res, filters);
  ctx.streams.add(stream);
  void stream.finally(() => ctx.streams.delete(stream));
  return stream.then(() => 200);
}

async function pump(ctx: MonitorContext, res: ServerResponse, filters: ReturnType<typeof filtersOf>): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  res.on('close', stop);
  ctx.closing.addEventListener('abort', stop);
  if (ctx.closing.aborted) stop();
  ctx.metrics.streamOpened();
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), ctx.config.streamHeartbeatMs);
  let id = 0;
  try {
    res.write(`retry: ${RETRY_MS}\n: marcus-registry events\n\n`);
    const watch = ctx.registry.watch({ signal: controller.signal, filters, sweepIntervalMs: ctx.config.sweepIntervalMs, probe: ctx.config.probe });
    for await (const event of watch) {
      id += 1;
      res.write(`id: ${id}\nevent: ${event.type}\ndata: ${safeJson(event)}\n\n`);
      if (res.writableLength > MAX_BUFFERED_BYTES) break;
    }
  } catch (error) {
    if (isRegistryError(error) && error.code !== 'REGISTRY_CLOSED') ctx.metrics.storeError(error.code);
    if (!res.destroyed) res.write(`event: failure\ndata: ${safeJson(errorBody(error))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    res.off('close', stop);
    ctx.closing.removeEventListener('abort', stop);
    ctx.metrics.streamClosed();
    res.end();
  }
}
