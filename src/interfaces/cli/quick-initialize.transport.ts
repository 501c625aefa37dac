import type { ClientRequest } from 'node:http';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RemoteTransport } from './http-fallback.transport.js';
import { plainMessage } from './jsonrpc-shape.js';

/** What the SDK transport is made with after the initialize went through here. */
export interface QuickAnswer {
  /** The session the server opened (its mcp-session-id header), if it did. */
  readonly sessionId?: string;
}

/** Makes the SDK's transport: `answered` when the initialize was answered here over Streamable HTTP. */
export type MakeTransport = (answered?: QuickAnswer) => Promise<RemoteTransport>;

/**
 * A Streamable HTTP leg whose first message, the client's initialize, is sent
 * with node:http before the SDK is loaded (ADR 0028): the SDK's schemas and
 * fetch take tens of milliseconds to load, and a client waits for this answer.
 * Everything else goes through the SDK's transport (made by `make`, with the
 * session the server opened), which is loaded in the background as soon as the
 * answer is in.
 *
 * The quick path takes only what it fully understands: a 200 whose body (JSON,
 * or an event stream) holds plain messages (plainMessage) up to a result for
 * this initialize. Anything else (a refused connection, another status, a
 * content type or message it leaves to the SDK) and the initialize is sent
 * again through the SDK's transport, which then says what went wrong exactly
 * as it always did (an HTTP 4xx there is what makes an undeclared transport
 * fall back to SSE). Nothing was delivered before that: the client sees one answer.
 * Its connection is also the first look at whether the server listens: when
 * it is refused, `whenListening` waits for it (`run` registers a server before
 * it listens) before the SDK tries.
 */
export class QuickInitializeTransport implements RemoteTransport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private inner?: RemoteTransport;
  private making?: Promise<RemoteTransport>;
  private tried = false;
  private answered?: QuickAnswer;
  private protocolVersion?: string;
  private pending?: ClientRequest;
  private closed = false;

  /** `whenListening`: called when the quick initialize's connection is refused; resolves once the server listens (or gave up waiting). */
  constructor(
    private readonly url: string,
    private readonly make: MakeTransport,
    private readonly whenListening?: () => Promise<void>,
  ) {}

  /** The Streamable HTTP session id, once the server gave one. */
  get sessionId(): string | undefined {
    return this.inner ? (this.inner as { sessionId?: string }).sessionId : this.answered?.sessionId;
  }

  /** Nothing to start: the SDK's transport is started when it is made. */
  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.making && !this.tried && 'method' in message && message.method === 'initialize' && 'id' in message) {
      this.tried = true;
      const { messages, refused } = await this.quick(message);
      if (refused) await this.whenListening?.();
      if (messages && !this.closed) {
        for (const m of messages) this.onmessage?.(m);
        // The SDK loads now, in the background: the client's next message goes through it.
        void this.transport().catch((error: unknown) => this.onerror?.(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      this.answered = undefined;
    }
    if (this.closed) throw new Error('Not connected: the transport is closed');
    return (await this.transport()).send(message);
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.inner?.setProtocolVersion?.(version);
  }

  async terminateSession(): Promise<void> {
    if (!this.making && this.answered?.sessionId === undefined) return;
    await (await this.transport()).terminateSession?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pending?.destroy();
    if (this.making) {
      await (await this.making).close();
      return;
    }
    this.onclose?.();
  }

  /** The SDK's transport, made and started once. */
  private transport(): Promise<RemoteTransport> {
    this.making ??= this.make(this.answered).then(async (inner) => {
      inner.onmessage = (message) => this.onmessage?.(message);
      inner.onerror = (error) => this.onerror?.(error);
      inner.onclose = () => this.onclose?.();
      if (this.protocolVersion) inner.setProtocolVersion?.(this.protocolVersion);
      await inner.start();
      this.inner = inner;
      return inner;
    });
    return this.making;
  }

  /** POSTs the initialize; resolves with what came back up to its result, or without messages when the SDK must do it (`refused`: nothing listens there yet). */
  private quick(initialize: JSONRPCRequest): Promise<{ messages?: JSONRPCMessage[]; refused?: boolean }> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (messages: JSONRPCMessage[] | undefined, refused = false) => {
        if (settled) return;
        settled = true;
        this.pending = undefined;
        resolve({ messages, refused });
      };
      const body = JSON.stringify(initialize);
      let req: ClientRequest;
      try {
        // node:http loads here, not with this module: a stdio instance never needs it.
        const { request } = process.getBuiltinModule('node:http');
        req = request(this.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body) } }, (res) => {
          const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
          const session = res.headers['mcp-session-id'];
          if (res.statusCode !== 200 || (type !== 'application/json' && type !== 'text/event-stream')) {
            res.resume();
            return done(undefined);
          }
          this.answered = { sessionId: typeof session === 'string' && session !== '' ? session : undefined };
          res.setEncoding('utf8');
          const messages: JSONRPCMessage[] = [];
          /** Takes one message; true when it is the initialize's result (the quick path is done). */
          const take = (value: unknown): boolean | undefined => {
            const message = plainMessage(value);
            if (!message) return undefined;
            messages.push(message);
            return 'result' in message && message.id === initialize.id;
          };
          if (type === 'application/json') {
            let text = '';
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              let data: unknown;
              try {
                data = JSON.parse(text);
              } catch {
                return done(undefined);
              }
              const all = Array.isArray(data) ? data : [data];
              const ok = all.map(take);
              done(ok.every((k) => k !== undefined) && ok.some(Boolean) ? messages : undefined);
            });
          } else {
            const events = new EventStreamReader((data, event) => {
              if (settled || (event !== '' && event !== 'message')) return;
              let value: unknown;
              try {
                value = JSON.parse(data);
              } catch {
                value = undefined;
              }
              const taken = take(value);
              if (taken === undefined) {
                done(undefined);
                res.destroy();
              } else if (taken) {
                done(messages);
              }
            });
            res.on('data', (chunk: string) => events.push(chunk));
            // The server ends this stream once it has answered; what comes after the answer is not expected.
            res.on('end', () => done(undefined));
          }
          res.on('error', () => done(undefined));
          res.on('close', () => done(undefined));
        });
      } catch {
        return done(undefined);
      }
      this.pending = req;
      req.on('error', (error: NodeJS.ErrnoException) => done(undefined, error.code === 'ECONNREFUSED'));
      req.end(body);
    });
  }
}

/**
 * Server-sent events (the HTML event stream format) from text chunks: calls
 * `onEvent(data, eventType)` for each event with data; ids, retries and
 * comments are read and ignored.
 */
class EventStreamReader {
  private text = '';
  private data: string[] = [];
  private event = '';
  private bom = true;

  constructor(private readonly onEvent: (data: string, event: string) => void) {}

  push(chunk: string): void {
    this.text += chunk;
    if (this.bom) {
      if (this.text.length === 0) return;
      if (this.text.charCodeAt(0) === 0xfeff) this.text = this.text.slice(1);
      this.bom = false;
    }
    for (;;) {
      const at = this.text.search(/\r\n|\r|\n/);
      if (at === -1) return;
      // A lone \r at the end of a chunk may be the first half of \r\n.
      if (this.text[at] === '\r' && at === this.text.length - 1) return;
      const line = this.text.slice(0, at);
      this.text = this.text.slice(at + (this.text.startsWith('\r\n', at) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.data.join('\n'), this.event);
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
