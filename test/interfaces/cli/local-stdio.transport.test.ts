import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { LocalStdioTransport } from '../../../src/interfaces/cli/local-stdio.transport.js';
import { waitFor } from '../../support/processes.js';

const line = (message: unknown) => `${JSON.stringify(message)}\n`;
const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

function local() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const written: string[] = [];
  stdout.on('data', (d: Buffer) => written.push(d.toString()));
  let exchanges = 0;
  const transport = new LocalStdioTransport(stdin, stdout, () => exchanges++);
  const received: JSONRPCMessage[] = [];
  const errors: string[] = [];
  transport.onmessage = (m) => received.push(m);
  transport.onerror = (e) => errors.push(e.name);
  return { stdin, stdout, written, transport, received, errors, exchanges: () => exchanges };
}

describe('LocalStdioTransport: the client’s first exchange before the SDK, then the SDK’s StdioServerTransport', () => {
  it('delivers the initialize at once, answers it, then hands stdin (and an unfinished line) over to the SDK without losing or reordering a byte', async () => {
    const t = local();
    await t.transport.start();
    t.stdin.write(`${line(initialize)}{"jsonrpc":"2.0","meth`);
    await waitFor(() => t.received.length === 1);
    expect(t.received[0]).toEqual(initialize);
    expect(t.exchanges()).toBe(0);
    await t.transport.send({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
    expect(t.written.join('')).toBe(line({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }));
    expect(t.exchanges()).toBe(1);
    // The SDK's transport has taken stdin over, with the unfinished line handed back to it.
    await waitFor(() => (t.transport as unknown as { sdk?: object }).sdk !== undefined);
    t.stdin.write(`od":"notifications/initialized"}\n`);
    t.stdin.write(line({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 'p' }, name: 'x' } }));
    t.stdin.write('not json\n');
    t.stdin.write(line({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    await waitFor(() => t.received.length === 4);
    expect(t.received.slice(1)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 'p' }, name: 'x' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    ]);
    expect(t.errors).toEqual(['SyntaxError']);
    // One reader on stdin: the SDK's.
    await waitFor(() => t.stdin.listenerCount('data') === 1);
    expect(t.exchanges()).toBe(1);
    await t.transport.close();
  });

  it('loads the SDK at once when the client opens with something else, and keeps the order of what it held for its schema', async () => {
    const t = local();
    await t.transport.start();
    t.stdin.write(line({ jsonrpc: '2.0', id: 5, method: 'ping', params: { _meta: { progressToken: 1.5 } } }));
    t.stdin.write(line({ jsonrpc: '2.0', id: 6, method: 'ping' }));
    await waitFor(() => t.received.length === 1);
    // The first line was refused by the SDK's schema (a progress token must be an integer or a string), the second delivered after it.
    expect(t.errors).toEqual(['ZodError']);
    expect(t.received).toEqual([{ jsonrpc: '2.0', id: 6, method: 'ping' }]);
    expect(t.exchanges()).toBe(1);
    await t.transport.close();
  });

  it('loads the SDK when stdin ends before anything came, and closes as the SDK does', async () => {
    const t = local();
    let closed = 0;
    t.transport.onclose = () => closed++;
    await t.transport.start();
    t.stdin.end();
    await waitFor(() => t.exchanges() === 1);
    await t.transport.close();
    await waitFor(() => closed === 1);
    expect(t.received).toEqual([]);
  });
});
