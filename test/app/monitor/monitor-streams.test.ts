import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/app/create-registry.js';
import { startMonitor, type Monitor } from '../../../src/interfaces/http/start-monitor.js';
import { tempRegistryDir, waitFor } from '../../support/processes.js';

/**
 * One client must not hold every event stream of the monitor: streams are
 * capped per client address, and a client that already holds streams never
 * takes the last free slot, which stays for a client that holds none. Real
 * HTTP connections from distinct loopback addresses (the client socket is
 * bound to 127.0.0.1, 127.0.0.2, 127.0.0.3).
 */
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Opened {
  readonly status: number;
  readonly body: Promise<string>;
  close(): void;
}

/** GET /v1/events from `localAddress`; resolves on the response head. */
function openStream(monitor: Monitor, localAddress: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(
      { host: '127.0.0.1', port: monitor.port, path: '/v1/events', localAddress, agent: false, headers: { accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const body = new Promise<string>((done) => {
          res.on('end', () => done(text));
          res.on('close', () => done(text));
        });
        resolve({ status: res.statusCode ?? 0, body, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
    cleanups.push(() => void req.destroy());
  });
}

async function setup(options: { maxStreams: number; maxStreamsPerClient?: number }): Promise<Monitor> {
  const tmp = await tempRegistryDir();
  cleanups.push(() => tmp[Symbol.asyncDispose]());
  const registry = await createRegistry({ store: `json:${tmp.dir}`, settings: { exitHooks: false } });
  cleanups.push(() => registry.close());
  const monitor = await startMonitor(registry, { port: 0, ...options });
  cleanups.push(() => monitor.close());
  return monitor;
}

/** Opens streams from `address` until one is refused; returns the open ones and the refusal. */
async function fill(monitor: Monitor, address: string, limit: number): Promise<{ open: Opened[]; refused?: Opened }> {
  const open: Opened[] = [];
  for (let i = 0; i < limit; i++) {
    const stream = await openStream(monitor, address);
    if (stream.status !== 200) return { open, refused: stream };
    open.push(stream);
  }
  return { open };
}

describe('monitor event streams: no client can take them all', () => {
  it('a client holding streams never takes the last slot: another address still gets one', async () => {
    const monitor = await setup({ maxStreams: 6 });
    const greedy = await fill(monitor, '127.0.0.1', 10);
    expect(greedy.open.length).toBe(5);
    expect(greedy.refused?.status).toBe(503);
    expect(JSON.parse(await (greedy.refused as Opened).body)).toMatchObject({ error: { code: 'TOO_MANY_STREAMS' } });

    const newcomer = await openStream(monitor, '127.0.0.2');
    expect(newcomer.status).toBe(200);
    // Now every slot is taken: a third address waits for one to free up.
    expect((await openStream(monitor, '127.0.0.3')).status).toBe(503);
    greedy.open[0]?.close();
    await waitFor(async () => {
      const next = await openStream(monitor, '127.0.0.3');
      next.close();
      return next.status === 200;
    }, { message: () => 'the freed slot was never given to a new client' });
  });

  it('caps the streams of one client address (maxStreamsPerClient), leaving the rest to others', async () => {
    const monitor = await setup({ maxStreams: 10, maxStreamsPerClient: 3 });
    const first = await fill(monitor, '127.0.0.1', 10);
    expect(first.open.length).toBe(3);
    expect(first.refused?.status).toBe(503);
    expect(JSON.parse(await (first.refused as Opened).body)).toMatchObject({ error: { code: 'TOO_MANY_STREAMS', message: expect.stringMatching(/this client/) } });
    const second = await fill(monitor, '127.0.0.2', 10);
    expect(second.open.length).toBe(3);
    // A closed stream gives its client a slot back.
    first.open[0]?.close();
    await waitFor(async () => {
      const again = await openStream(monitor, '127.0.0.1');
      if (again.status === 200) first.open.push(again);
      return again.status === 200;
    }, { message: () => 'the client never got its slot back' });
  });
});
