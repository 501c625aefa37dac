import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import { startMonitor, type Monitor } from '../../../src/interfaces/http/start-monitor.js';
import type { ServiceRegistry } from '../../../src/app/service-registry.js';
import { InvalidMonitorOptionsError, ListenFailedError } from '../../../src/interfaces/http/monitor.errors.js';
import { EventStream, parsePrometheus, rawRequest } from '../../support/monitor.js';
import { tempRegistryDir, waitFor } from '../../support/processes.js';

/** startMonitor() from the library: a real server on 127.0.0.1, real HTTP, a real JSON-directory store. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ registry: ServiceRegistry; writer: ServiceRegistry; monitor: Monitor; dir: string }> {
  const tmp = await tempRegistryDir();
  cleanups.push(() => tmp[Symbol.asyncDispose]());
  const settings = { exitHooks: false };
  const registry = await createRegistry({ store: `json:${tmp.dir}`, settings });
  cleanups.push(() => registry.close());
  const writer = await createRegistry({ store: `json:${tmp.dir}`, settings });
  cleanups.push(() => writer.close());
  const monitor = await startMonitor(registry, { port: 0, streamHeartbeatMs: 100, sweepIntervalMs: 100 });
  cleanups.push(() => monitor.close());
  return { registry, writer, monitor, dir: tmp.dir };
}

/** The registry's open watches (a private detail, read here only to prove none leaks). */
function openWatches(registry: ServiceRegistry): number {
  return (registry as unknown as { watchers: Set<unknown> }).watchers.size;
}

describe('startMonitor (library form)', () => {
  it('serves the JSON API for the registry it is given and reports its URL', async () => {
    const { writer, monitor, dir } = await setup();
    expect(monitor.url).toBe(`http://127.0.0.1:${monitor.port}/`);
    await writer.register({ mcpCommand: 'node server.js', instanceId: 'marcus_lib', projectName: 'alpha', provider: 'github' });
    const health = (await (await fetch(`${monitor.url}healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', store: 'json', location: dir });
    const body = (await (await fetch(`${monitor.url}v1/services?project=alpha`)).json()) as { services: Array<{ health: string; record: Record<string, unknown> }> };
    expect(body.services).toEqual([{ health: 'healthy', record: JSON.parse(JSON.stringify(writer.registered)) }]);
    const one = await fetch(`${monitor.url}v1/services/marcus_lib`);
    expect(await one.json()).toEqual({ health: 'healthy', record: JSON.parse(JSON.stringify(writer.registered)) });
    expect((await fetch(`${monitor.url}v1/services/preferred?project=alpha`)).status).toBe(200);
    expect((await fetch(`${monitor.url}v1/services/-bad`)).status).toBe(400);
    expect((await fetch(`${monitor.url}v1/services/marcus_none`)).status).toBe(404);
    expect((await fetch(`${monitor.url}healthz`, { method: 'DELETE' })).status).toBe(405);
    expect((await rawRequest(`${monitor.url}healthz`, { headers: { host: `evil.example:${monitor.port}` } })).status).toBe(403);
  });

  it('streams the current state then changes, and closes each watch when its client disconnects (no leak)', async () => {
    const { registry, writer, monitor } = await setup();
    await writer.register({ mcpCommand: 'node a.js', instanceId: 'marcus_first', projectName: 'alpha' });
    const streams = await Promise.all([EventStream.open(`${monitor.url}v1/events`), EventStream.open(`${monitor.url}v1/events?project=beta`)]);
    const [all, beta] = streams as [EventStream, EventStream];
    await all.next((m) => m.event === 'added' && m.data.includes('marcus_first'), 'the current state');
    await waitFor(() => openWatches(registry) === 2, { message: () => `watches: ${openWatches(registry)}` });
    await waitFor(() => all.comments.includes('heartbeat'), { message: () => `no heartbeat comment: ${JSON.stringify(all.comments)}` });

    await writer.update({ status: 'busy' });
    await all.next((m) => m.event === 'updated' && JSON.parse(m.data).record.status === 'busy', 'the update');
    await writer.unregister();
    await all.next((m) => m.event === 'removed', 'the removal');
    expect(beta.messages).toEqual([]); // filtered out

    all.close();
    await waitFor(() => openWatches(registry) === 1, { message: () => `watches after one disconnect: ${openWatches(registry)}` });
    beta.close();
    await waitFor(() => openWatches(registry) === 0, { message: () => `watches after both disconnected: ${openWatches(registry)}` });
    const { samples } = parsePrometheus(await (await fetch(`${monitor.url}metrics`)).text());
    expect(samples.find((s) => s.name === 'marcus_registry_event_streams')?.value).toBe(0);
    expect(samples.find((s) => s.name === 'marcus_registry_http_requests_total' && s.labels['route'] === '/v1/events')?.value).toBe(2);
  });

  it('close() ends open streams, closes their watches and stops listening; the registry stays open', async () => {
    const { registry, monitor } = await setup();
    const stream = await EventStream.open(`${monitor.url}v1/events`);
    await waitFor(() => openWatches(registry) === 1);
    await monitor.close();
    await waitFor(() => stream.ended, { message: () => 'the stream outlived the monitor' });
    expect(openWatches(registry)).toBe(0);
    await expect(fetch(`${monitor.url}healthz`)).rejects.toThrow();
    expect(await registry.discover()).toEqual([]);
    await monitor.close(); // idempotent
  });

  it('keeps its metrics out of the global prom-client registry', async () => {
    const { monitor } = await setup();
    expect((await fetch(`${monitor.url}metrics`)).status).toBe(200);
    const prom = await import('prom-client');
    expect(prom.register.getMetricsAsArray().map((m) => m.name)).toEqual([]);
  });

  it('refuses unsafe options with a typed error before listening, and a busy port with LISTEN_FAILED', async () => {
    const tmp = await tempRegistryDir();
    cleanups.push(() => tmp[Symbol.asyncDispose]());
    const registry = await createRegistry({ store: `json:${tmp.dir}`, settings: { exitHooks: false } });
    cleanups.push(() => registry.close());
    await expect(startMonitor(registry, { host: '0.0.0.0' })).rejects.toThrow(InvalidMonitorOptionsError);
    await expect(startMonitor(registry, { host: '0.0.0.0', allowRemote: true })).rejects.toMatchObject({ code: 'INVALID_MONITOR_OPTIONS', details: { option: 'token' } });
    await expect(startMonitor(registry, { port: -1 })).rejects.toMatchObject({ code: 'INVALID_MONITOR_OPTIONS' });

    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanups.push(() => new Promise((resolve) => busy.close(resolve)));
    const port = (busy.address() as AddressInfo).port;
    const refused = startMonitor(registry, { port });
    await expect(refused).rejects.toThrow(ListenFailedError);
    await expect(refused).rejects.toMatchObject({ code: 'LISTEN_FAILED', message: expect.stringMatching(/EADDRINUSE/) });
  });
});
