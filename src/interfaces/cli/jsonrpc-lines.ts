import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { plainMessage } from './jsonrpc-shape.js';

/** The SDK's limit on a line not yet ended (STDIO_DEFAULT_MAX_BUFFER_SIZE). */
export const MAX_LINE_BUFFER = 10 * 1024 * 1024;

/**
 * Newline-delimited JSON-RPC read as the MCP SDK's ReadBuffer reads it (a line
 * ends at \n, a trailing \r is dropped, JSON.parse then the SDK's
 * JSONRPCMessageSchema), without loading the SDK for what plainMessage
 * accepts (ADR 0028): a line it leaves to the schema waits, with every line
 * after it, until the schema is loaded, and goes through it. Order is kept.
 */
export class JsonRpcLineReader {
  private buffer?: Buffer;
  /** Lines waiting for the SDK's schema, in order (set while one is there). */
  private held?: string[];
  private loading?: Promise<void>;
  private deserialize?: (line: string) => JSONRPCMessage;
  private cleared = false;

  constructor(
    private readonly onMessage: (message: JSONRPCMessage) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Reads `chunk`; false when what is not yet a line grew past the SDK's limit (then reported, and dropped). */
  push(chunk: Buffer): boolean {
    if ((this.buffer?.length ?? 0) + chunk.length > MAX_LINE_BUFFER) {
      this.buffer = undefined;
      this.onError(new Error(`ReadBuffer exceeded maximum size of ${MAX_LINE_BUFFER} bytes`));
      return false;
    }
    let buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (let at = buffer.indexOf('\n'); at !== -1 && !this.cleared; at = buffer.indexOf('\n')) {
      const line = buffer.toString('utf8', 0, at).replace(/\r$/, '');
      buffer = buffer.subarray(at + 1);
      this.line(line);
    }
    this.buffer = buffer.length > 0 && !this.cleared ? buffer : undefined;
    return true;
  }

  /** Takes out what is read of a line not yet ended. */
  takeRest(): Buffer | undefined {
    const rest = this.buffer;
    this.buffer = undefined;
    return rest;
  }

  /** Drops everything; nothing more is delivered. */
  clear(): void {
    this.cleared = true;
    this.buffer = undefined;
    this.held = undefined;
  }

  /** Loads the SDK's schema (once); the lines held for it are then judged by it, in order. */
  loadSchema(): Promise<void> {
    this.loading ??= import('@modelcontextprotocol/sdk/shared/stdio.js').then(({ deserializeMessage }) => {
      this.deserialize = deserializeMessage;
      const held = this.held ?? [];
      this.held = undefined;
      for (const line of held) {
        if (this.cleared) return;
        this.judged(line);
      }
    });
    return this.loading;
  }

  private line(line: string): void {
    if (this.held) {
      this.held.push(line);
      return;
    }
    if (this.deserialize) return this.judged(line);
    let message: JSONRPCMessage | undefined;
    try {
      message = plainMessage(JSON.parse(line));
    } catch (error) {
      // The SDK's reader says the same: it parses the line with JSON.parse first.
      this.onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (message === undefined) {
      this.held = [line];
      this.loadSchema().catch((error: unknown) => this.onError(error instanceof Error ? error : new Error(String(error))));
      return;
    }
    this.onMessage(message);
  }

  /** A line judged by the SDK's schema, as its reader judges it. */
  private judged(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = (this.deserialize as (line: string) => JSONRPCMessage)(line);
    } catch (error) {
      this.onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.onMessage(message);
  }
}
