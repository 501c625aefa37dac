import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { plainMessage } from '../../../src/interfaces/cli/jsonrpc-shape.js';

/**
 * plainMessage is the shortcut `connect` takes before the SDK is loaded: what
 * it accepts, the SDK's own schema must accept and return unchanged, and what
 * the schema refuses it must refuse (it may leave more to the schema). Checked
 * against the real SDK over messages of every kind, good and bad.
 */
const accepted: unknown[] = [
  { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'c', version: '1' } } },
  { jsonrpc: '2.0', id: 'a-1', method: 'tools/list' },
  { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x', nested: { _meta: 1 } } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3, reason: 'gone' } },
  { jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 's', version: '1' } } },
  { jsonrpc: '2.0', id: 'x', result: {} },
  { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'Method not found' } },
  { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error', data: { line: 1 } } },
  { jsonrpc: '2.0', id: Number.MAX_SAFE_INTEGER, method: 'ping' },
];

const leftToTheSchema: unknown[] = [
  // Refused by the schema too:
  null,
  [],
  'text',
  [{ jsonrpc: '2.0', method: 'a' }],
  { jsonrpc: '1.0', id: 1, method: 'a' },
  { id: 1, method: 'a' },
  { jsonrpc: '2.0', id: 1.5, method: 'a' },
  { jsonrpc: '2.0', id: null, method: 'a' },
  { jsonrpc: '2.0', id: true, result: {} },
  { jsonrpc: '2.0', id: 1, method: 7 },
  { jsonrpc: '2.0', id: 1, method: 'a', params: [1, 2] },
  { jsonrpc: '2.0', id: 1, method: 'a', params: null },
  { jsonrpc: '2.0', id: 1, method: 'a', extra: true },
  { jsonrpc: '2.0', method: 'a', result: {} },
  { jsonrpc: '2.0', id: 1, result: [] },
  { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } },
  { jsonrpc: '2.0', result: {} },
  { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'm' } },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 2 } },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm', extra: 1 } },
  { jsonrpc: '2.0', id: null, error: { code: 1, message: 'm' } },
  { jsonrpc: '2.0', id: 1, method: 'a', params: { _meta: { progressToken: 1.5 } } },
  { jsonrpc: '2.0', id: 1 },
  { jsonrpc: '2.0', id: 2 ** 60, method: 'a' },
  // Accepted by the schema, left to it (it checks _meta, and copies what it returns):
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 'p' }, name: 'x' } },
  { jsonrpc: '2.0', id: 1, result: { _meta: {}, content: [] } },
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"a","params":{"__proto__":{"x":1}}}'),
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"a","__proto__":{}}'),
];

describe('plainMessage: the SDK schema’s answer, before the SDK is loaded', () => {
  it.each(accepted.map((m) => [JSON.stringify(m), m]))('accepts %s, as the SDK schema does, unchanged', (_, message) => {
    const input = JSON.parse(JSON.stringify(message)) as unknown;
    expect(plainMessage(input)).toBe(input);
    expect(JSONRPCMessageSchema.parse(JSON.parse(JSON.stringify(message)))).toEqual(input);
  });

  it.each(leftToTheSchema.map((m) => [JSON.stringify(m) ?? String(m), m]))('leaves %s to the SDK schema', (_, message) => {
    expect(plainMessage(message)).toBeUndefined();
  });

  it('never accepts what the SDK schema refuses, over many generated messages', () => {
    const ids = [0, 1, -3, 1.5, 'x', '', null, true, 2 ** 60, undefined];
    const bodies = [{}, { a: 1 }, [], null, 'x', 3, { _meta: {} }, { _meta: { progressToken: 1.5 } }, undefined];
    const methods = ['m', '', 5, undefined];
    const errors = [{ code: 1, message: 'm' }, { code: 1.5, message: 'm' }, { code: 1, message: 'm', data: null }, { code: 1 }, { message: 'm' }, [], undefined];
    let checked = 0;
    for (const jsonrpc of ['2.0', '2', undefined])
      for (const id of ids)
        for (const method of methods)
          for (const params of bodies)
            for (const which of ['params', 'result'] as const)
              for (const error of errors) {
                const message = JSON.parse(JSON.stringify({ jsonrpc, id, method, [which]: params, error })) as unknown;
                const fast = plainMessage(message);
                const schema = JSONRPCMessageSchema.safeParse(message);
                if (fast !== undefined) {
                  expect(schema.success, JSON.stringify(message)).toBe(true);
                  expect(schema.data).toEqual(fast);
                }
                checked++;
              }
    expect(checked).toBeGreaterThan(5_000);
  });
});
