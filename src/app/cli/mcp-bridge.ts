import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionFailedError } from '../../domain/errors.js';
import { EXIT } from './exit-codes.js';

/** The remote side: any client transport; Streamable HTTP also ends its session. */
export type RemoteTransport = Transport & { terminateSession?: () => Promise<void> };

export interface BridgeOptions {
  /** Where the remote is, for messages. */
  readonly target: string;
  /** The local side's byte streams: their end and errors end the bridge. */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  /** One line to stderr. */
  readonly log: (line: string) => void;
  readonly debug?: boolean;
  /** After stdin ends, how long answers to requests already sent are awaited. Default 10 000 ms. */
  readonly drainMs?: number;
  /** Ends the bridge (a signal): the session is ended and both sides closed, as when stdin ends. */
  readonly signal?: AbortSignal;
}

/** JSON-RPC "server error" range: the proxy could not deliver the request. */
const PROXY_ERROR = -32000;

/**
 * A transport-level MCP proxy: every JSON-RPC message read from `local` is
 * sent to `remote` and every message from `remote` is sent to `local`,
 * unchanged — requests, responses and notifications both ways, so any MCP
 * feature works without this code knowing it. The only thing it reads is the
 * answer to `initialize`, to tell an HTTP transport the negotiated protocol
 * version (an SDK Client would do the same).
 *
 * Resolves with the exit code: 0 when stdin ends (after the answers still owed
 * arrive) or stdout's reader goes away; 1 when the remote fails, after
 * answering every open request with a JSON-RPC error saying why; 1 when
 * either side closes by itself.
 */
export async function bridge(local: Transport, remote: RemoteTransport, options: BridgeOptions): Promise<number> {
  const { target, log } = options;
  /** Requests from the client not yet answered, by id: the client must not wait forever for them. */
  const open = new Map<string | number, { initialize: boolean }>();
  /**
   * Messages after an `initialize` wait for its answer: over HTTP the session id
   * comes with it, so a client that pipelines (initialize, then tools/list at
   * once) must not have its second POST overtake the first.
   */
  let handshake: Promise<void> = Promise.resolve();
  let handshakeDone: () => void = () => {};
  let finishing = false;
  let draining = false;
  let settle: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (settle = resolve));

  const finish = async (code: number, { endSession = true } = {}) => {
    if (finishing) return;
    finishing = true;
    options.stdin.removeListener('end', onEnd);
    options.stdout.removeListener('error', onStdoutError);
    options.signal?.removeEventListener('abort', onAbort);
    if (endSession) await within(2_000, remote.terminateSession?.()).catch(() => {});
    await within(2_000, remote.close()).catch(() => {});
    await within(2_000, local.close()).catch(() => {});
    settle(code);
  };

  const fail = async (error: unknown) => {
    if (finishing) return;
    const failure = new ConnectionFailedError(target, error);
    log(`marcus-registry: ${failure.message} [${failure.code}]`);
    const owed = [...open.keys()];
    open.clear();
    await Promise.all(
      owed.map((id) => local.send({ jsonrpc: '2.0', id, error: { code: PROXY_ERROR, message: `${failure.message} [${failure.code}]` } }).catch(() => {})),
    );
    await finish(EXIT.ERROR, { endSession: false });
  };

  const maybeDrained = () => {
    if (draining && open.size === 0) void finish(EXIT.OK);
  };

  local.onmessage = (message: JSONRPCMessage) => {
    if (finishing) return;
    const initialize = 'method' in message && message.method === 'initialize';
    if ('method' in message && 'id' in message) open.set(message.id, { initialize });
    if (initialize) {
      remote.send(message).catch(fail);
      handshake = new Promise((resolve) => (handshakeDone = resolve));
      return;
    }
    void handshake.then(() => (finishing ? undefined : remote.send(message).catch(fail)));
  };
  remote.onmessage = (message: JSONRPCMessage) => {
    if (finishing) return;
    if (!('method' in message) && 'id' in message && message.id !== undefined) {
      const request = open.get(message.id);
      open.delete(message.id);
      if (request?.initialize) {
        const version = 'result' in message ? (message.result as { protocolVersion?: unknown }).protocolVersion : undefined;
        if (typeof version === 'string') remote.setProtocolVersion?.(version);
        handshakeDone();
      }
    }
    local
      .send(message)
      .then(maybeDrained)
      .catch(() => {});
  };
  remote.onerror = (error: Error) => {
    // Also called for what the transport recovers from (a reconnecting event stream); a fatal error also fails a send, reported by fail().
    if (options.debug) log(`marcus-registry: ${target}: ${error.message}`);
  };
  local.onerror = (error: Error) => log(`marcus-registry: bad input on stdin: ${error.message}`);
  remote.onclose = () => {
    if (finishing) return;
    log(`marcus-registry: ${target} closed the connection [CONNECTION_FAILED]`);
    void finish(EXIT.ERROR, { endSession: false });
  };
  local.onclose = () => {
    if (!finishing) void finish(EXIT.ERROR);
  };

  const onEnd = () => {
    if (options.debug) log(`marcus-registry: stdin ended; ${open.size} request(s) still open`);
    draining = true;
    maybeDrained();
    if (!finishing) setTimeout(() => void finish(EXIT.OK), options.drainMs ?? 10_000).unref();
  };
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    // The client went away: nothing to tell it.
    void finish(error.code === 'EPIPE' ? EXIT.OK : EXIT.ERROR);
  };
  options.stdin.once('end', onEnd);
  options.stdout.on('error', onStdoutError);
  const onAbort = () => void finish(EXIT.OK);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  if (finishing) return done;
  try {
    await remote.start();
  } catch (error) {
    await fail(error);
    return done;
  }
  await local.start();
  return done;
}

/** `promise`, or a rejection after `ms`; the timer never keeps the process alive. */
function within<T>(ms: number, promise: Promise<T> | undefined): Promise<T | undefined> {
  if (promise === undefined) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
