import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { httpTransport, type RemoteTransport } from '../../../src/interfaces/cli/http-fallback.transport.js';
import { QuickInitializeTransport, type QuickAnswer } from '../../../src/interfaces/cli/quick-initialize.transport.js';
import { freePort } from '../../support/mcp-instances.js';
import { FIXTURES, waitFor } from '../../support/processes.js';

const initialize = (id: number | string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'quick-test', version: '1' } },
});

/** The real SDK fixture server (Streamable HTTP, event-stream answers) on a port the OS picks. */
function fixtureServer(): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(FIXTURES, 'fixture-http-server.mjs'), '0', 'quick'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}/mcp`, child, stderr: () => err });
    });
  });
}

describe('QuickInitializeTransport: the initialize without the SDK, everything else through it', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('answers the initialize before the SDK transport is made, then hands the session over to it', async () => {
    const server = await fixtureServer();
    cleanup.push(() => server.child.kill('SIGKILL'));
    const events: string[] = [];
    const made: Array<QuickAnswer | undefined> = [];
    const transport = new QuickInitializeTransport(server.url, async (answered) => {
      made.push(answered);
      events.push('made');
      return httpTransport(server.url, 'streamable-http', answered?.sessionId);
    });
    const received: JSONRPCMessage[] = [];
    transport.onmessage = (message) => {
      received.push(message);
      events.push(`message ${String((message as { id?: unknown }).id)}`);
    };
    await transport.start();
    await transport.send(initialize(0));
    expect(events[0]).toBe('message 0');
    const session = transport.sessionId;
    expect(session).toMatch(/^[\w-]+$/);
    transport.setProtocolVersion('2025-06-18');
    await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    await waitFor(() => received.some((m) => 'id' in m && m.id === 1), { message: () => server.stderr() });
    // The SDK's transport was made once, with the session the quick initialize opened, and kept it.
    expect(made).toEqual([{ sessionId: session }]);
    expect(transport.sessionId).toBe(session);
    expect(received.find((m) => 'id' in m && m.id === 1)).toMatchObject({ result: { tools: expect.any(Array) } });
    await transport.terminateSession();
    await waitFor(() => server.stderr().includes(`session ${String(session)} closed`), { message: () => server.stderr() });
    await transport.close();
  });

  it('sends the initialize again through the SDK transport when the server refuses it, which then reports it as before', async () => {
    let posts = 0;
    const server: Server = createServer((req, res) => {
      if (req.method === 'POST') posts++;
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no MCP here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
    const made: Array<QuickAnswer | undefined> = [];
    const transport = new QuickInitializeTransport(url, async (answered) => {
      made.push(answered);
      return httpTransport(url, 'streamable-http', answered?.sessionId);
    });
    const received: JSONRPCMessage[] = [];
    transport.onmessage = (message) => received.push(message);
    await transport.start();
    const error: unknown = await transport.send(initialize('a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(404);
    expect(posts).toBe(2);
    expect(made).toEqual([undefined]);
    expect(received).toEqual([]);
    await transport.close();
  });

  it('waits for a server that does not listen yet before the SDK transport tries', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/mcp`;
    const events: string[] = [];
    let inner: RemoteTransport | undefined;
    const transport = new QuickInitializeTransport(
      url,
      async (answered) => {
        events.push('made');
        inner = await httpTransport(url, 'streamable-http', answered?.sessionId);
        return inner;
      },
      async () => {
        events.push('waited');
      },
    );
    await transport.start();
    const error: unknown = await transport.send(initialize(1)).catch((e: unknown) => e);
    expect(events).toEqual(['waited', 'made']);
    // The SDK's own error for a refused connection, as before.
    expect(error).toBeInstanceOf(Error);
    expect(inner).toBeDefined();
    await transport.close();
  });
});
