import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SpawnFailedError } from './cli.errors.js';
import { JsonRpcLineReader } from './jsonrpc-lines.js';

/** How a child ended: its code, or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * An MCP client transport over a child started from an argv (never a shell):
 * its stdin and stdout are pipes carrying newline-delimited JSON-RPC, its
 * stderr is ours. Unlike the SDK's StdioClientTransport it keeps the whole
 * environment (the child is the user's server, started as `run` started it)
 * and says how the child ended (`exited`), which `connect` needs for its exit code.
 * Its output is read as the SDK reads it, without loading the SDK for plain
 * messages (JsonRpcLineReader, ADR 0028): the child starts on a core of its own.
 */
export class ChildStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private child?: ChildProcess;
  private readonly reader = new JsonRpcLineReader(
    (message) => this.onmessage?.(message),
    (error) => this.onerror?.(error),
  );
  private settleExit: (status: ExitStatus) => void = () => {};
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitStatus> = new Promise((resolve) => (this.settleExit = resolve));
  private status?: ExitStatus;

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly cwd?: string,
  ) {}

  /** How the child ended, once it has. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  async start(): Promise<void> {
    const child = spawn(this.command, [...this.args], { cwd: this.cwd, stdio: ['pipe', 'pipe', 'inherit'], windowsHide: true });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => reject(new SpawnFailedError(`cannot start ${this.command}: ${error.message}`)));
    });
    child.on('error', (error) => this.onerror?.(error));
    child.once('exit', (code, signal) => {
      this.status = { code, signal };
      this.settleExit(this.status);
      this.onclose?.();
    });
    child.stdin?.on('error', () => {}); // EPIPE after the child exited: its exit says it all.
    child.stdout?.on('data', (chunk: Buffer) => void this.reader.push(chunk));
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded || this.status) return Promise.reject(new Error('the server process has exited'));
    // Settled by the write's own callback: a write that fails (EPIPE: the child closed its input, or died and
    // is not reaped yet) returns false and never drains; waiting for 'drain' would wait forever (ADR 0029).
    return new Promise((resolve, reject) => {
      stdin.write(`${JSON.stringify(message)}\n`, (error) => {
        if (error) reject(new Error(`the server process has exited (${(error as NodeJS.ErrnoException).code ?? error.message})`));
        else resolve();
      });
    });
  }

  /** Ends the child's stdin (an MCP stdio server exits on end of input); `exited` says when it did. */
  async close(): Promise<void> {
    this.child?.stdin?.end();
  }

  /** Sends `signal` to the child if it still runs. */
  kill(signal: NodeJS.Signals): void {
    if (!this.status) this.child?.kill(signal);
  }
}
