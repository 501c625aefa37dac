import type { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { plainMessage } from './jsonrpc-shape.js';

/** The SDK's limit on a line not yet ended (STDIO_DEFAULT_MAX_BUFFER_SIZE). */
const MAX_BUFFER = 10 * 1024 * 1024;

type Stdin = NodeJS.ReadableStream & { unshift(chunk: Buffer): void; readonly readableEnded?: boolean };

/**
 * The bridge's local side, the MCP client on our stdin and stdout: the SDK's
 * StdioServerTransport, which takes over once it is loaded (ADR 0028). Until
 * then this reads the same newline-delimited JSON-RPC itself, so the first
 * exchange (the client's initialize and its answer, what a client waits for
 * when it starts us) is not held up by the SDK, whose schemas take tens of
 * milliseconds to build. A line is judged as the SDK judges it: JSON.parse,
 * then plainMessage; a line plainMessage leaves to the SDK's schema waits, with
 * every line after it, until the SDK is loaded, and goes through it.
 *
 * The SDK is loaded right after the first exchange: once the answer to the
 * client's first request, an initialize, is written; at once when the client
 * opens with anything else (or ends its input), or sends a line that needs it.
 */
export class LocalStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private sdk?: StdioServerTransport;
  private loading?: Promise<void>;
  private buffer?: Buffer;
  /** Lines waiting for the SDK's schema, in order (set while one is there). */
  private held?: string[];
  private deserialize?: (line: string) => JSONRPCMessage;
  private started = false;
  private closed = false;
  /** 'waiting' for the client's first line; 'open' while its initialize is unanswered; 'done' after. */
  private first: 'waiting' | 'open' | 'done' = 'waiting';
  private firstId?: string | number;

  /** `afterFirstExchange` is called once, when the first exchange is over (as the SDK starts loading). */
  constructor(
    private readonly stdin: Stdin,
    private readonly stdout: NodeJS.WritableStream,
    private readonly afterFirstExchange?: () => void,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('LocalStdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.ondata);
    this.stdin.on('error', this.onstdinerror);
    this.stdin.once('end', this.onend);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.sdk) return this.sdk.send(message);
    await new Promise<void>((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
    if (this.first === 'open' && !('method' in message) && 'id' in message && message.id === this.firstId) this.firstDone();
  }

  async close(): Promise<void> {
    if (this.sdk) return this.sdk.close();
    this.closed = true;
    this.stdin.off('data', this.ondata);
    this.stdin.off('error', this.onstdinerror);
    this.stdin.off('end', this.onend);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.buffer = undefined;
    this.held = undefined;
    this.onclose?.();
  }

  private readonly ondata = (chunk: Buffer) => {
    if ((this.buffer?.length ?? 0) + chunk.length > MAX_BUFFER) {
      this.buffer = undefined;
      this.onerror?.(new Error(`ReadBuffer exceeded maximum size of ${MAX_BUFFER} bytes`));
      void this.close();
      return;
    }
    let buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (let at = buffer.indexOf('\n'); at !== -1 && !this.closed; at = buffer.indexOf('\n')) {
      const line = buffer.toString('utf8', 0, at).replace(/\r$/, '');
      buffer = buffer.subarray(at + 1);
      this.line(line);
    }
    this.buffer = buffer.length > 0 ? buffer : undefined;
  };

  private readonly onstdinerror = (error: Error) => this.onerror?.(error);

  private readonly onend = () => {
    if (this.first === 'waiting') this.firstDone();
  };

  private line(line: string): void {
    if (this.held) {
      this.held.push(line);
      return;
    }
    let message: JSONRPCMessage | undefined;
    try {
      message = plainMessage(JSON.parse(line));
    } catch (error) {
      // What the SDK says too: its reader parses the line with JSON.parse first.
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      if (this.first === 'waiting') this.firstDone();
      return;
    }
    if (message === undefined) {
      this.held = [line];
      if (this.first === 'waiting') this.first = 'done';
      void this.load();
      return;
    }
    if (this.first === 'waiting') {
      if ('method' in message && message.method === 'initialize' && 'id' in message) {
        this.first = 'open';
        this.firstId = message.id;
      } else {
        this.firstDone();
      }
    }
    this.onmessage?.(message);
  }

  private firstDone(): void {
    this.first = 'done';
    void this.load();
  }

  /** Loads the SDK (once) and tells afterFirstExchange. */
  private load(): Promise<void> {
    if (!this.loading) this.afterFirstExchange?.();
    return this.loadSdk();
  }

  /** Loads the SDK, runs the held lines through its schema, and hands stdin over to its StdioServerTransport. */
  private loadSdk(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const [{ StdioServerTransport }, { deserializeMessage }] = await Promise.all([import('@modelcontextprotocol/sdk/server/stdio.js'), import('@modelcontextprotocol/sdk/shared/stdio.js')]);
        this.deserialize = deserializeMessage;
        if (this.closed) return;
        const held = this.held ?? [];
        this.held = undefined;
        for (const line of held) {
          if (this.closed) return;
          this.deliver(line);
        }
        if (this.closed) return;
        const sdk = new StdioServerTransport(this.stdin as NodeJS.ReadStream, this.stdout as NodeJS.WriteStream);
        sdk.onmessage = (message) => this.onmessage?.(message);
        sdk.onerror = (error) => this.onerror?.(error);
        sdk.onclose = () => this.onclose?.();
        // No chunk may go by while nobody listens: pause, hand over what is read of an unfinished line, go on.
        this.stdin.pause();
        this.stdin.off('data', this.ondata);
        this.stdin.off('error', this.onstdinerror);
        this.stdin.off('end', this.onend);
        if (this.buffer && !this.stdin.readableEnded) this.stdin.unshift(this.buffer);
        this.buffer = undefined;
        this.sdk = sdk;
        await sdk.start();
        this.stdin.resume();
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
    })();
    return this.loading;
  }

  /** A held line, judged by the SDK's schema (as its reader would). */
  private deliver(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = (this.deserialize as (line: string) => JSONRPCMessage)(line);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.onmessage?.(message);
  }
}
