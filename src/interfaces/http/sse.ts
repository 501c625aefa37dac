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
 *   the client falls more than 1 MiB behind;
 * - 503 TOO_MANY_STREAMS past maxStreams in all, past maxStreamsPerClient
 *   from one client address, and for the last free slot when the client
 *   already holds a stream (see admit).
 */
export function events(ctx: MonitorContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
  const filters = filtersOf(queryOf(url, FILTER_PARAMS));
  const client = req.socket.remoteAddress ?? '';
  admit(ctx, client);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve(200);
  }
  res.flushHeaders();
  const stream = pump(ctx, res, filters);
  ctx.streams.add(stream);
  ctx.streamsByClient.set(client, (ctx.streamsByClient.get(client) ?? 0) + 1);
  void stream.finally(() => {
    ctx.streams.delete(stream);
    const left = (ctx.streamsByClient.get(client) ?? 1) - 1;
    if (left > 0) ctx.streamsByClient.set(client, left);
    else ctx.streamsByClient.delete(client);
  });
  return stream.then(() => 200);
}

/**
 * Refuses a stream (503) when all are taken, when this client address holds
 * its share already, or when it holds any and only one slot is left: that one
 * stays for a client that holds none, so one client cannot blind the others.
 */
function admit(ctx: MonitorContext, client: string): void {
  const { maxStreams, maxStreamsPerClient } = ctx.config;
  const held = ctx.streamsByClient.get(client) ?? 0;
  const retry = { 'retry-after': '5' };
  if (ctx.streams.size >= maxStreams) throw new HttpError(503, 'TOO_MANY_STREAMS', `already ${ctx.streams.size} event streams open`, retry);
  if (held >= maxStreamsPerClient) throw new HttpError(503, 'TOO_MANY_STREAMS', `this client already has ${held} event streams open (at most ${maxStreamsPerClient})`, retry);
  if (held > 0 && ctx.streams.size >= maxStreams - 1) {
    throw new HttpError(503, 'TOO_MANY_STREAMS', `this client already has ${held} event streams open and the last free one is kept for another client`, retry);
  }
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
