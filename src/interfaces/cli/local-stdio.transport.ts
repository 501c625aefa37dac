import type { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcLineReader } from './jsonrpc-lines.js';

type Stdin = NodeJS.ReadableStream & { unshift(chunk: Buffer): void; readonly readableEnded?: boolean };

/**
 * The bridge's local side, the MCP client on our stdin and stdout: the SDK's
 * StdioServerTransport, which takes over once it is loaded (ADR 0028). Until
 * then this reads the same newline-delimited JSON-RPC itself
 * (JsonRpcLineReader: as the SDK judges a line, without loading it for plain
 * messages), so the first exchange (the client's initialize and its answer,
 * what a client waits for when it starts us) is not held up by the SDK, whose
 * schemas take tens of milliseconds to build.
 *
 * The SDK is loaded right after the first exchange: once the answer to the
 * client's first request, an initialize, is written; at once when the client
 * opens with anything else (or ends its input).
 */
export class LocalStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private sdk?: StdioServerTransport;
  private loading?: Promise<void>;
  private readonly reader = new JsonRpcLineReader(
    (message) => this.message(message),
    (error) => {
      this.onerror?.(error);
      if (this.first === 'waiting') this.firstDone();
    },
  );
  private started = false;
  private closed = false;
  /** 'waiting' for the client's first message; 'open' while its initialize is unanswered; 'done' after. */
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
    // Settled by the write's own callback: a failed write (EPIPE, the client is gone) never drains.
    await new Promise<void>((resolve, reject) => {
      this.stdout.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve()));
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
    this.reader.clear();
    this.onclose?.();
  }

  private readonly ondata = (chunk: Buffer) => {
    // As the SDK's transport: a line past its limit is an error, and the end.
    if (!this.reader.push(chunk)) void this.close();
  };

  private readonly onstdinerror = (error: Error) => this.onerror?.(error);

  private readonly onend = () => {
    if (this.first === 'waiting') this.firstDone();
  };

  private message(message: JSONRPCMessage): void {
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
    if (!this.loading) this.afterFirstExchange?.();
    void this.load();
  }

  /** Loads the SDK (once), lets the reader judge what it held, and hands stdin over to the SDK's StdioServerTransport. */
  private load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const [{ StdioServerTransport }] = await Promise.all([import('@modelcontextprotocol/sdk/server/stdio.js'), this.reader.loadSchema()]);
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
        const rest = this.reader.takeRest();
        if (rest && !this.stdin.readableEnded) this.stdin.unshift(rest);
        this.sdk = sdk;
        await sdk.start();
        this.stdin.resume();
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
    })();
    return this.loading;
  }
}
