import { constants } from 'node:os';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCNotification, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionFailedError } from './cli.errors.js';
import type { ChildStdioTransport, ExitStatus } from './child-stdio.transport.js';
import { EXIT } from './exit-codes.js';
import type { RemoteTransport } from './http-fallback.transport.js';

/** One instance behind the bridge, opened (its transport started) by whoever picks instances. */
export interface Leg {
  /** For messages: `instance_id (url or command)`. */
  readonly name: string;
  /** Where it is (a URL or a command line), for error messages. */
  readonly target: string;
  readonly transport: RemoteTransport;
  /** Aborted, with a reason string, when the instance is known to be gone (the registry saw it exit, its child exited). */
  readonly gone: AbortSignal;
  /** Set for an instance started from its argv: its exit ends or restarts the leg. */
  readonly child?: ChildStdioTransport;
  /** Releases what the picker holds for this leg (its watch subscription). */
  release(): void;
}

/** What to do when a leg is lost: the next leg (already started), or undefined when nothing is left (after waiting). */
export type NextLeg = (lost: Leg, why: string) => Promise<Leg | undefined>;

export interface FailoverOptions {
  /** The local side's byte streams: their end and errors end the bridge. */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  /** One line to stderr. */
  readonly log: (line: string) => void;
  readonly debug?: boolean;
  /** After stdin ends, how long answers to requests already sent are awaited, and a child is given to exit. Default 10 000 ms. */
  readonly drainMs?: number;
  /** How long a re-initialization may take before the new instance counts as failed. Default 10 000 ms. */
  readonly reinitializeMs?: number;
  /** Ends the bridge over HTTP (a signal); a child is sent the signal by the caller instead, and its exit ends the bridge. */
  readonly signal?: AbortSignal;
  /** Picks and opens the next instance. */
  readonly next: NextLeg;
  /** Told of every leg that becomes current (the first one included). */
  readonly onLeg?: (leg: Leg) => void;
  /** What "nothing left" means, for the final message: e.g. ` (project "X") after waiting 5 s`. */
  readonly nothingLeft?: () => string;
}

/** How the bridge ended: the exit code, and the signal a child died of (the caller re-raises it). */
export interface BridgeResult {
  readonly code: number;
  readonly signal?: NodeJS.Signals;
  /** Ended by `options.signal` with no child's status to report: the caller reports its signal (128 + n). */
  readonly interrupted?: boolean;
}

/** JSON-RPC "server error" range: the proxy could not deliver the request. */
const PROXY_ERROR = -32000;

type Id = string | number;

/**
 * A transport-level MCP proxy (ADR 0010) that survives its instance (ADR 0023).
 * Every JSON-RPC message is forwarded unchanged both ways. When the instance is
 * lost — the registry saw it exit, its connection is refused or reset, it
 * answers 404 for our session, its child exited while the client is still
 * there — the bridge:
 * 1. answers every request the client has in flight on it with a JSON-RPC error
 *    (retryable: the client may send it again), and cancels every request the
 *    old server had sent to the client (`notifications/cancelled`);
 * 2. asks `next` for another instance (the caller's rules: same filters, the
 *    same instance when pinned, restarts of a child with back-off);
 * 3. replays the client's `initialize` under an id of its own (the answer is
 *    swallowed: the client already has one) and `notifications/initialized`;
 * 4. tells the client to refresh (`notifications/tools/list_changed`, and
 *    resources/prompts when the new server declares them) and sends what the
 *    client wrote meanwhile.
 * Each switch is one line on stderr. When `next` has nothing, the open requests
 * get their error and the bridge ends with exit 1 (CONNECTION_FAILED).
 *
 * A child that exits after stdin ended, or after a signal was forwarded to it,
 * ends the bridge with its own status; so does the first child when it exits
 * before it ever answered (a server that cannot start, as before failover).
 */
export async function failoverBridge(local: Transport, first: Leg, options: FailoverOptions): Promise<BridgeResult> {
  const { log } = options;
  let leg: Leg | undefined;
  let generation = 0;
  /** 'ready': forward; 'initializing': the client's initialize is out, later messages wait for its answer; 'switching': all wait. */
  let state: 'ready' | 'initializing' | 'switching' = 'ready';
  const queue: JSONRPCMessage[] = [];
  let initialize: JSONRPCRequest | undefined;
  let initializeAnswered = false;
  let initialized: JSONRPCNotification | undefined;
  /** Whether the current leg ever answered an initialize: a child that did not is one that could not start. */
  let legServed = false;
  let firstLeg = true;
  /** The client's requests not yet answered, with the generation they were sent to. */
  const clientOpen = new Map<Id, number>();
  /** Requests the server sent to the client, with the generation that sent them. */
  const serverOpen = new Map<Id, number>();
  /** The answer awaited for a replayed initialize. */
  let reinit: { id: string; resolve: (message: JSONRPCMessage) => void } | undefined;
  let finishing = false;
  let draining = false;
  let settle: (result: BridgeResult) => void = () => {};
  const done = new Promise<BridgeResult>((resolve) => (settle = resolve));

  const toClient = (message: JSONRPCMessage) =>
    local
      .send(message)
      .then(maybeDrained)
      .catch(() => {});

  const finish = async (result: BridgeResult, { endSession = true } = {}) => {
    if (finishing) return;
    finishing = true;
    options.stdin.removeListener('end', onEnd);
    options.stdout.removeListener('error', onStdoutError);
    options.signal?.removeEventListener('abort', onAbort);
    const current = leg;
    if (current) {
      current.release();
      if (current.child) {
        // Its end of input makes an MCP stdio server exit; one that does not is asked to.
        await current.child.close();
        await within(2_000, current.child.exited).catch(() => current.child?.kill('SIGTERM'));
      } else {
        if (endSession) await within(2_000, current.transport.terminateSession?.()).catch(() => {});
        await within(2_000, current.transport.close()).catch(() => {});
      }
    }
    await within(2_000, local.close()).catch(() => {});
    settle(result);
  };

  /** Every open request of the client gets `message` as its error. */
  const failOpen = async (message: string, keepInitialize: boolean) => {
    const owed = [...clientOpen.keys()].filter((id) => !(keepInitialize && initialize !== undefined && !initializeAnswered && id === initialize.id));
    for (const id of owed) clientOpen.delete(id);
    await Promise.all(owed.map((id) => local.send({ jsonrpc: '2.0', id, error: { code: PROXY_ERROR, message, data: { retryable: true } } }).catch(() => {})));
  };

  const maybeDrained = () => {
    if (draining && clientOpen.size === 0 && queue.length === 0 && state === 'ready' && !leg?.child) void finish({ code: EXIT.OK });
  };

  const send = (target: Leg, g: number, message: JSONRPCMessage) => {
    target.transport.send(message).catch((error: unknown) => {
      if (g !== generation || finishing) return;
      // An HTTP status is the server's answer; only a 404 to a session we hold means the session (the instance) is gone.
      const status = (error as { code?: unknown }).code;
      const gone = typeof status === 'number' ? status === 404 && (target.transport as { sessionId?: string }).sessionId !== undefined : isGone(error);
      if (gone) return void lost(target, reasonOf(error));
      // The instance is there but refused this one message (an HTTP 400, a 500): the request fails, the session goes on.
      log(`marcus-registry: ${target.name}: ${reasonOf(error)} [CONNECTION_FAILED]`);
      if ('id' in message && 'method' in message && clientOpen.delete(message.id)) {
        void toClient({ jsonrpc: '2.0', id: message.id, error: { code: PROXY_ERROR, message: `${new ConnectionFailedError(target.target, error).message} [CONNECTION_FAILED]` } });
        if (message.method === 'initialize' && state === 'initializing') {
          // The client has its answer (an error): what it sent after initialize goes on, as the server would have seen it.
          initialize = undefined;
          state = 'ready';
          flush();
        }
      }
    });
  };

  const fromClient = (message: JSONRPCMessage) => {
    if (finishing) return;
    const current = leg;
    if ('method' in message) {
      if (state !== 'ready' || !current) {
        queue.push(message);
        return;
      }
      if ('id' in message) {
        clientOpen.set(message.id, generation);
        if (message.method === 'initialize') {
          initialize = message;
          initializeAnswered = false;
          state = 'initializing';
        }
      } else if (message.method === 'notifications/initialized') {
        initialized = message;
      }
      send(current, generation, message);
      return;
    }
    // An answer to a server's request: only the server that asked may have it (one of an old server was cancelled).
    if ('id' in message && message.id !== undefined && serverOpen.get(message.id) === generation && current && state !== 'switching') {
      serverOpen.delete(message.id);
      send(current, generation, message);
    } else if (options.debug) {
      log(`marcus-registry: dropped an answer to a request of a previous instance`);
    }
  };

  const fromRemote = (message: JSONRPCMessage) => {
    if ('method' in message) {
      if ('id' in message) serverOpen.set(message.id, generation);
      void toClient(message);
      return;
    }
    if ('id' in message && message.id !== undefined) {
      if (reinit && message.id === reinit.id) return reinit.resolve(message);
      clientOpen.delete(message.id);
      if (initialize && !initializeAnswered && message.id === initialize.id) {
        initializeAnswered = true;
        legServed = true;
        const version = 'result' in message ? (message.result as { protocolVersion?: unknown }).protocolVersion : undefined;
        if (typeof version === 'string') leg?.transport.setProtocolVersion?.(version);
        if (state === 'initializing') {
          state = 'ready';
          void toClient(message);
          flush();
          return;
        }
      }
    }
    void toClient(message);
  };

  const flush = () => {
    while (queue.length > 0 && state === 'ready' && !finishing) fromClient(queue.shift() as JSONRPCMessage);
  };

  const attach = (target: Leg, g: number) => {
    target.transport.onmessage = (message) => {
      if (g === generation && !finishing) fromRemote(message);
    };
    target.transport.onerror = (error) => {
      // Also called for what the transport recovers from (a reconnecting event stream); a fatal error also fails a send.
      if (options.debug) log(`marcus-registry: ${target.name}: ${error.message}`);
      if (g === generation && isStreamGone(error)) void lost(target, error.message);
    };
    target.transport.onclose = () => {
      if (g === generation && !finishing && !target.child) void lost(target, 'closed the connection');
    };
    const onGone = () => void lost(target, String(target.gone.reason));
    if (target.gone.aborted) queueMicrotask(onGone);
    else target.gone.addEventListener('abort', onGone, { once: true });
    options.onLeg?.(target);
  };

  const detach = (target: Leg) => {
    target.transport.onmessage = undefined;
    target.transport.onerror = undefined;
    target.transport.onclose = undefined;
    target.release();
  };

  /** The current leg is gone: end (a child whose exit was expected), or switch to another instance. */
  const lost = async (target: Leg, why: string): Promise<void> => {
    if (finishing || target !== leg || state === 'switching') return;
    const child = target.child;
    if (child) {
      const status = await child.exited;
      if (draining || options.signal?.aborted || (firstLeg && !legServed)) return void finish(statusResult(status), { endSession: false });
    } else if (draining || options.signal?.aborted) {
      const failure = new ConnectionFailedError(target.target, new Error(why));
      log(`marcus-registry: ${failure.message} [CONNECTION_FAILED]`);
      await failOpen(`${failure.message} [CONNECTION_FAILED]`, false);
      return void finish({ code: EXIT.ERROR }, { endSession: false });
    }
    await switchFrom(target, why);
  };

  const switchFrom = async (old: Leg, firstWhy: string) => {
    state = 'switching';
    generation++;
    const g = generation;
    leg = undefined;
    detach(old);
    void within(2_000, old.transport.close()).catch(() => {});
    const failure = new ConnectionFailedError(old.target, new Error(firstWhy));
    await failOpen(`${failure.message}; retry the request [CONNECTION_FAILED]`, true);
    const cancelled = [...serverOpen.keys()];
    serverOpen.clear();
    for (const requestId of cancelled) {
      void toClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: `the instance ${old.name} went away` } });
    }
    let failed = old;
    let why = firstWhy;
    for (;;) {
      // The client left, or a signal came, while no instance serves it: nothing to switch for (onEnd/onAbort end the bridge).
      if (finishing || ended()) return;
      const candidate = await options.next(failed, why).catch((error: unknown) => {
        log(`marcus-registry: cannot pick another instance: ${reasonOf(error)}`);
        return undefined;
      });
      if (finishing || g !== generation || ended()) {
        if (candidate) detach(candidate);
        if (candidate) void within(2_000, candidate.child ? candidate.child.close() : candidate.transport.close()).catch(() => {});
        return;
      }
      if (!candidate) {
        log(`marcus-registry: ${failure.message}; no instance left to fail over to${options.nothingLeft?.() ?? ''} [CONNECTION_FAILED]`);
        // Requests the client sent meanwhile were held for the next instance: there is none.
        for (const message of queue.splice(0)) if ('method' in message && 'id' in message) clientOpen.set(message.id, g);
        await failOpen(`${failure.message}; no instance left to fail over to [CONNECTION_FAILED]`, false);
        const status = old.child?.exitStatus;
        return void finish(status && firstLeg && !legServed ? statusResult(status) : { code: EXIT.ERROR }, { endSession: false });
      }
      leg = candidate;
      firstLeg = false;
      legServed = false;
      attach(candidate, g);
      try {
        const capabilities = initialize ? await replay(candidate, g) : undefined;
        if (finishing) return;
        state = 'ready';
        log(`marcus-registry: ${old.name} went away (${firstWhy}); switched to ${candidate.name}`);
        if (initializeAnswered) {
          void toClient({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
          if (capabilities?.['resources']) void toClient({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' });
          if (capabilities?.['prompts']) void toClient({ jsonrpc: '2.0', method: 'notifications/prompts/list_changed' });
        }
        flush();
        return;
      } catch (error) {
        if (finishing) return;
        leg = undefined;
        detach(candidate);
        void within(2_000, candidate.child ? candidate.child.close() : candidate.transport.close()).catch(() => {});
        failed = candidate;
        why = reasonOf(error);
        if (options.debug) log(`marcus-registry: ${candidate.name} failed to take over: ${why}`);
      }
    }
  };

  /** Replays the client's initialize (and initialized) to `target`; resolves with the new server's capabilities. */
  const replay = async (target: Leg, g: number): Promise<Record<string, unknown> | undefined> => {
    const request = initialize as JSONRPCRequest;
    const id = `marcus-registry-reinitialize-${g}`;
    const answer = await new Promise<JSONRPCMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to initialize within ${(options.reinitializeMs ?? 10_000) / 1000} s`)), options.reinitializeMs ?? 10_000);
      timer.unref();
      const onGone = () => reject(new Error(String(target.gone.reason)));
      target.gone.addEventListener('abort', onGone, { once: true });
      reinit = {
        id,
        resolve: (message) => {
          clearTimeout(timer);
          target.gone.removeEventListener('abort', onGone);
          resolve(message);
        },
      };
      target.transport.send({ ...request, id }).catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    }).finally(() => (reinit = undefined));
    if (!('result' in answer)) throw new Error(`it refused initialize: ${JSON.stringify((answer as { error?: unknown }).error)}`);
    const result = answer.result as { protocolVersion?: unknown; capabilities?: Record<string, unknown> };
    if (typeof result.protocolVersion === 'string') target.transport.setProtocolVersion?.(result.protocolVersion);
    legServed = true;
    if (!initializeAnswered) {
      // The client's own initialize was in flight when the old instance went: this answer is its answer.
      initializeAnswered = true;
      clientOpen.delete(request.id);
      await toClient({ ...answer, id: request.id });
    }
    if (initialized) await target.transport.send(initialized);
    return result.capabilities;
  };

  /** Whether the client, gone (stdin ended), is owed no answer: requests open or held for the next instance. */
  const nothingOwed = () => clientOpen.size === 0 && !queue.some((message) => 'id' in message && 'method' in message);
  /** Whether a signal ended the bridge, or the client is gone and owed nothing: no new instance is opened for it. */
  const ended = () => options.signal?.aborted === true || (draining && nothingOwed());

  const onEnd = () => {
    if (options.debug) log(`marcus-registry: stdin ended; ${clientOpen.size} request(s) still open`);
    draining = true;
    const current = leg;
    // Between instances, with nothing owed, there is nothing to drain: a candidate being initialized is stopped by finish().
    if (state === 'switching' && nothingOwed()) return void finish({ code: EXIT.OK });
    if (current?.child?.exitStatus) return void finish(statusResult(current.child.exitStatus), { endSession: false });
    if (current?.child) {
      // An MCP stdio server exits on end of input; its exit ends the bridge with its status. One that
      // does not is stopped after the drain time (finish() ends its input, then sends SIGTERM).
      void current.child.close();
    } else {
      maybeDrained();
    }
    if (!finishing) setTimeout(() => void finish({ code: EXIT.OK }), options.drainMs ?? 10_000).unref();
  };
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    // The client went away: nothing to tell it.
    void finish({ code: error.code === 'EPIPE' ? EXIT.OK : EXIT.ERROR });
  };
  const onAbort = () => {
    // A child was sent the signal by the caller: its exit ends the bridge with its status, unless it already
    // exited or is a candidate still being initialized (between instances), which finish() stops.
    const child = leg?.child;
    if (child?.exitStatus && state !== 'switching') void finish(statusResult(child.exitStatus), { endSession: false });
    else if (!child || state === 'switching') void finish({ code: EXIT.OK, interrupted: true });
  };

  local.onmessage = fromClient;
  local.onerror = (error: Error) => log(`marcus-registry: bad input on stdin: ${error.message}`);
  local.onclose = () => {
    if (!finishing) void finish({ code: EXIT.ERROR });
  };
  options.stdin.once('end', onEnd);
  options.stdout.on('error', onStdoutError);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  leg = first;
  attach(first, generation);
  if (finishing) return done;
  await local.start();
  return done;
}

function statusResult(status: ExitStatus): BridgeResult {
  if (status.signal) return { code: 128 + (signalNumber(status.signal) ?? 0), signal: status.signal };
  return { code: status.code ?? EXIT.ERROR };
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return constants.signals[signal];
}

/**
 * Whether a send failed because the instance is gone: the connection was
 * refused or reset (fetch's TypeError with a cause), an SSE transport whose
 * session is unknown (HTTP 404 to its POST) or lost, a child that exited.
 * (A Streamable HTTP 404 to a session we hold is judged in send().)
 */
export function isGone(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (typeof (error as { code?: unknown }).code === 'number') return false; // an HTTP status: see send()
  if (error instanceof TypeError) return true; // fetch failed: ECONNREFUSED, ECONNRESET, a socket closed
  return /fetch failed|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|Not connected|other side closed|has exited|HTTP 404/i.test(`${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`);
}

/** Errors a transport reports outside any send that mean its stream is gone for good: the legacy SSE stream (its session lives on it). */
function isStreamGone(error: Error): boolean {
  return error.name === 'SseError' || /^SSE error/.test(error.message);
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error && cause.message !== error.message ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
  return `${error.message}${detail}`;
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
