import type { ServerResponse } from 'node:http';
import { isRegistryError } from '../../domain/errors.js';
import { SECURITY_HEADERS } from './security.js';

/** An HTTP-level refusal (bad route, method, query, host, credentials): a status and a stable code. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * JSON text that is safe wherever it lands: `<`, `>`, `&` and the two JS line
 * separators are written as \u escapes (the same JSON value, but no markup).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  send(res, status, 'application/json; charset=utf-8', `${safeJson(body)}\n`, headers);
}

export function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The HTTP status of a failure: a bad instance id is the client's fault (400),
 * an absent entry 404, any other registry error means the store cannot serve
 * (503, with its code), anything else is a bug (500).
 */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (isRegistryError(error)) return error.code === 'INVALID_INSTANCE_ID' ? 400 : error.code === 'NOT_FOUND' ? 404 : 503;
  return 500;
}

/** `{"error": {"code", "message", …}}`: a RegistryError as its toJSON(), others as code and message. */
export function errorBody(error: unknown): { error: Record<string, unknown> } {
  if (error instanceof HttpError) return { error: { code: error.code, message: error.message } };
  if (isRegistryError(error)) return { error: error.toJSON() };
  return { error: { code: 'INTERNAL', message: 'internal error' } };
}

export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, statusOf(error), errorBody(error), error instanceof HttpError ? error.headers : {});
}
