import { ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { JsonRpcLineReader, MAX_LINE_BUFFER } from '../../../src/interfaces/cli/jsonrpc-lines.js';

/** What a reader delivered: messages, and errors as `error: <name>`. */
function collect(): { reader: JsonRpcLineReader; out: unknown[] } {
  const out: unknown[] = [];
  const reader = new JsonRpcLineReader(
    (message) => out.push(message),
    (error) => out.push(`error: ${error.name}`),
  );
  return { reader, out };
}

/** What the SDK's own ReadBuffer makes of the same bytes. */
function sdkRead(chunks: Buffer[]): unknown[] {
  const out: unknown[] = [];
  const buffer = new ReadBuffer();
  for (const chunk of chunks) {
    buffer.append(chunk);
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (error) {
        out.push(`error: ${(error as Error).name}`);
        continue;
      }
      if (message === null) break;
      out.push(message);
    }
  }
  return out;
}

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('JsonRpcLineReader: the SDK ReadBuffer’s answers, in order, without loading the SDK for plain messages', () => {
  const lines = [
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}',
    '{"jsonrpc":"2.0","method":"notifications/initialized"}\r',
    'not json',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"p"},"name":"x"}}',
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    '{"jsonrpc":"2.0","id":3,"method":"x","params":{"_meta":{"progressToken":1.5}}}',
    '{"jsonrpc":"2.0","id":4,"result":{}}',
    '{"jsonrpc":"2.0","id":5,"method":"x","extra":1}',
    '{"jsonrpc":"2.0","id":6,"error":{"code":-1,"message":"m"}}',
  ];

  it('delivers what ReadBuffer delivers, in the same order, for lines split across chunks anywhere', async () => {
    const bytes = Buffer.from(`${lines.join('\n')}\n{"jsonrpc":"2.0","id":7,"meth`);
    const expected = sdkRead([bytes]);
    for (const size of [1, 7, 64, bytes.length]) {
      const { reader, out } = collect();
      for (let at = 0; at < bytes.length; at += size) expect(reader.push(bytes.subarray(at, at + size))).toBe(true);
      // The lines left to the SDK's schema (a _meta, a bad one, an extra key) hold the ones after them until it is loaded.
      await until(() => out.length === expected.length);
      expect(out).toEqual(expected);
      expect(reader.takeRest()?.toString()).toBe('{"jsonrpc":"2.0","id":7,"meth');
    }
  });

  it('delivers a plain message at once, before anything is loaded', () => {
    const { reader, out } = collect();
    reader.push(Buffer.from(`${lines[0]}\n`));
    expect(out).toEqual([JSON.parse(lines[0] as string)]);
  });

  it('reports a line past the SDK’s limit as ReadBuffer does, and drops it', () => {
    const { reader, out } = collect();
    expect(reader.push(Buffer.alloc(MAX_LINE_BUFFER, 'x'))).toBe(true);
    expect(reader.push(Buffer.from('x'))).toBe(false);
    expect(out).toEqual(['error: Error']);
    expect(reader.takeRest()).toBeUndefined();
  });

  it('delivers nothing after clear(), also what it held for the schema', async () => {
    const { reader, out } = collect();
    reader.push(Buffer.from(`${lines[3]}\n${lines[4]}\n`));
    reader.clear();
    await reader.loadSchema();
    expect(out).toEqual([]);
  });
});
