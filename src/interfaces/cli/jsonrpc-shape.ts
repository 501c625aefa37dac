import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * `value` as a JSON-RPC message when it has one of the plain shapes below, each
 * of which the MCP SDK's JSONRPCMessageSchema accepts and returns unchanged
 * (ADR 0028); undefined for anything else, which the caller then judges with
 * that schema itself. It never accepts what the schema refuses: it checks
 * less than the schema can, never more. The shapes (every object a JSON
 * object, no other keys, no `_meta` and no `__proto__` key at the levels the
 * schema copies):
 *   request       { jsonrpc: "2.0", id, method: string, params?: object }
 *   notification  { jsonrpc: "2.0", method: string, params?: object }
 *   result        { jsonrpc: "2.0", id, result: object }
 *   error         { jsonrpc: "2.0", id?, error: { code: integer, message: string, data? } }
 * where an id is a string or a safe integer.
 * This lets `connect` forward the first exchange (the client's initialize and
 * its answer) before the SDK, whose schemas take tens of milliseconds to
 * build, is loaded.
 */
export function plainMessage(value: unknown): JSONRPCMessage | undefined {
  if (!isPlainObject(value) || value['jsonrpc'] !== '2.0') return undefined;
  if ('method' in value) {
    if (typeof value['method'] !== 'string' || !onlyKeys(value, 'id' in value ? REQUEST_KEYS : NOTIFICATION_KEYS)) return undefined;
    if ('id' in value && !isId(value['id'])) return undefined;
    if ('params' in value && !isPlainPart(value['params'])) return undefined;
    return value as JSONRPCMessage;
  }
  if ('result' in value) {
    return onlyKeys(value, RESULT_KEYS) && isId(value['id']) && isPlainPart(value['result']) ? (value as JSONRPCMessage) : undefined;
  }
  if ('error' in value) {
    if (!onlyKeys(value, ERROR_KEYS) || ('id' in value && !isId(value['id']))) return undefined;
    const error = value['error'];
    if (!isPlainObject(error) || !onlyKeys(error, ERROR_OBJECT_KEYS)) return undefined;
    return Number.isSafeInteger(error['code']) && typeof error['message'] === 'string' ? (value as JSONRPCMessage) : undefined;
  }
  return undefined;
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);
const ERROR_OBJECT_KEYS = new Set(['code', 'message', 'data']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  return Object.keys(value).every((key) => allowed.has(key)) && !Object.hasOwn(value, '__proto__');
}

/** params or result: an object the schema passes through (loose), as long as it has no `_meta` (which it checks) or `__proto__` key. */
function isPlainPart(value: unknown): boolean {
  return isPlainObject(value) && !Object.hasOwn(value, '_meta') && !Object.hasOwn(value, '__proto__');
}

function isId(value: unknown): boolean {
  return typeof value === 'string' || Number.isSafeInteger(value);
}
