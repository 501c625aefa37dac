import type { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { HttpTransport } from '../../domain/connection.js';

/** The remote side: any client transport; Streamable HTTP also ends its session. */
export type RemoteTransport = Transport & { terminateSession?: () => Promise<void> };

/** The transport that worked for each URL, for the rest of this process: reconnections go straight to it. */
export type TransportMemory = Map<string, HttpTransport>;

interface HttpSdk {
  readonly SSEClientTransport: typeof SSEClientTransport;
  readonly StreamableHTTPClientTransport: typeof StreamableHTTPClientTransport;
  readonly StreamableHTTPError: typeof StreamableHTTPError;
}

let sdk: Promise<HttpSdk> | undefined;

/** The SDK's HTTP client transports, imported when the first HTTP instance is opened (never at start-up). */
function httpSdk(): Promise<HttpSdk> {
  sdk ??= Promise.all([import('@modelcontextprotocol/sdk/client/sse.js'), import('@modelcontextprotocol/sdk/client/streamableHttp.js')]).then(([sse, streamable]) => ({
    SSEClientTransport: sse.SSEClientTransport,
    StreamableHTTPClientTransport: streamable.StreamableHTTPClientTransport,
    StreamableHTTPError: streamable.StreamableHTTPError,
  }));
  return sdk;
}

/** Whether the SDK's HTTP client transports are loaded (or loading) already. */
export function httpSdkLoading(): boolean {
  return sdk !== undefined;
}

/** A fresh SDK client transport of the given kind (Streamable HTTP: in `sessionId`, when given: one opened already). */
export async function httpTransport(url: string, kind: HttpTransport, sessionId?: string): Promise<RemoteTransport> {
  return newTransport(await httpSdk(), url, kind, sessionId);
}

function newTransport(loaded: HttpSdk, url: string, kind: HttpTransport, sessionId?: string): RemoteTransport {
  return kind === 'sse' ? new loaded.SSEClientTransport(new URL(url)) : new loaded.StreamableHTTPClientTransport(new URL(url), { sessionId });
}

/**
 * The transport for a record with an mcp_url and no declared `transport`, as
 * current MCP clients do it: Streamable HTTP first; if the server rejects the
 * `initialize` POST with a 4xx (an SSE-only server answers 404 or 405 there),
 * the legacy HTTP+SSE transport at the same URL, and the initialize is sent
 * again over it. The choice is remembered in `memory` by URL. Anything else
 * (a refused connection, a 5xx) is not a reason to fall back and is thrown.
 * Made by `HttpFallbackTransport.open` (the SDK loads first).
 */
export class HttpFallbackTransport implements RemoteTransport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private inner: RemoteTransport;
  private current: HttpTransport;
  private decided: boolean;
  private protocolVersion?: string;

  private constructor(
    private readonly sdk: HttpSdk,
    private readonly url: string,
    private readonly memory: TransportMemory,
    private readonly log: (line: string) => void,
  ) {
    const known = memory.get(url);
    this.decided = known !== undefined;
    this.current = known ?? 'streamable-http';
    this.inner = this.wire(newTransport(sdk, url, this.current));
  }

  /** A transport to `url` (not started). */
  static async open(url: string, memory: TransportMemory, log: (line: string) => void): Promise<HttpFallbackTransport> {
    return new HttpFallbackTransport(await httpSdk(), url, memory, log);
  }

  /** The transport in use now. */
  get kind(): HttpTransport {
    return this.current;
  }

  /** The Streamable HTTP session id, once the server gave one. */
  get sessionId(): string | undefined {
    return (this.inner as { sessionId?: string }).sessionId;
  }

  async start(): Promise<void> {
    await this.inner.start();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.decided || !('method' in message) || message.method !== 'initialize') return this.inner.send(message);
    try {
      await this.inner.send(message);
      this.decided = true;
      this.memory.set(this.url, 'streamable-http');
    } catch (error) {
      if (!(error instanceof this.sdk.StreamableHTTPError) || error.code === undefined || error.code < 400 || error.code > 499) throw error;
      this.log(`marcus-registry: ${this.url} refused Streamable HTTP (HTTP ${error.code}); trying the HTTP+SSE transport`);
      const old = this.inner;
      old.onmessage = old.onerror = old.onclose = undefined;
      await old.close().catch(() => {});
      this.inner = this.wire(newTransport(this.sdk, this.url, 'sse'));
      this.current = 'sse';
      await this.inner.start();
      if (this.protocolVersion) this.inner.setProtocolVersion?.(this.protocolVersion);
      this.decided = true;
      this.memory.set(this.url, 'sse');
      await this.inner.send(message);
    }
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.inner.setProtocolVersion?.(version);
  }

  async terminateSession(): Promise<void> {
    await this.inner.terminateSession?.();
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  private wire(transport: RemoteTransport): RemoteTransport {
    transport.onmessage = (message) => this.onmessage?.(message);
    transport.onerror = (error) => this.onerror?.(error);
    transport.onclose = () => this.onclose?.();
    return transport;
  }
}
