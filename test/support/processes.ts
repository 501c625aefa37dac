import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/interfaces/cli/main.cjs');
export const FIXTURES = join(ROOT, 'test/fixtures');

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion and collects its output. */
export function runToEnd(command: string, args: readonly string[], options: SpawnOptions & { input?: string } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin?.end(options.input ?? '');
  });
}

/** `marcus-registry ARGS` with the given environment additions. */
export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  return runToEnd(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
}

/**
 * How much slower than an idle machine this one is now: the 1-minute load
 * average per CPU, at least 1, at most 8. Hang guards (waitFor, Child.line)
 * are multiplied by it, so a loaded machine (load 19 on 2 cores) waits longer
 * instead of failing; they guard against hangs, they do not measure speed.
 */
export function loadFactor(): number {
  const perCpu = (loadavg()[0] ?? 0) / Math.max(1, availableParallelism());
  return Math.min(8, Math.max(1, perCpu));
}

/** Children started with Child and not yet exited: reaped before a temp directory they use is removed. */
const LIVE_CHILDREN = new Set<Child>();

/** A long-running child whose stdout lines can be awaited. */
export class Child {
  readonly process: ChildProcess;
  private buffer = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Exited, and its stdout and stderr read to the end: what to await before asserting on
   * its last output ('exit' may come before the last data). A grandchild that holds the
   * pipes (a `run`'s command) delays it until that one exits too.
   */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The command line, environment and cwd, to tell which temp directory the child uses. */
  private readonly mentions: string;

  constructor(command: string, args: readonly string[], options: SpawnOptions = {}) {
    this.process = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    this.mentions = [command, ...args, String(options.cwd ?? ''), ...Object.values(options.env ?? {})].join('\u0000');
    LIVE_CHILDREN.add(this);
    this.process.on('exit', () => LIVE_CHILDREN.delete(this));
    this.process.stdout?.on('data', (d: Buffer) => (this.buffer += d.toString()));
    this.process.stderr?.on('data', (d: Buffer) => (this.stderrText += d.toString()));
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) => this.process.on('close', (code, signal) => resolve({ code, signal })));
  }

  stderrText = '';

  get pid(): number {
    return this.process.pid as number;
  }

  get output(): string {
    return this.buffer;
  }

  /** Waits until stdout contains a line matching `pattern`; returns the match. */
  async line(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    let found: RegExpMatchArray | null = null;
    await waitFor(() => (found = this.buffer.match(pattern)) !== null, {
      timeoutMs,
      message: () => `no line matching ${pattern} in stdout: ${JSON.stringify(this.buffer)} stderr: ${JSON.stringify(this.stderrText)}`,
    });
    return found as unknown as RegExpMatchArray;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.process.kill(signal);
  }

  /** Whether the child was given `path` (in its arguments, environment or cwd). */
  uses(path: string): boolean {
    return this.mentions.includes(path);
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }
}

/**
 * Stops every still-running Child that was given `path` and waits until each
 * has exited: a child still writing into a directory makes its removal fail
 * (ENOTEMPTY). SIGTERM first (so `run` stops its server and unregisters), then
 * SIGKILL after a grace. Children a test stopped itself are already gone.
 */
export async function reapChildrenUsing(path: string): Promise<void> {
  const using = [...LIVE_CHILDREN].filter((child) => child.running && child.uses(path));
  await Promise.all(
    using.map(async (child) => {
      child.kill('SIGTERM');
      child.kill('SIGCONT'); // a SIGSTOPped child handles its SIGTERM only once continued
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([child.exited, new Promise((resolve) => (timer = setTimeout(resolve, 5_000 * loadFactor())))]);
      clearTimeout(timer);
      if (child.running) child.kill('SIGKILL');
      await child.exited;
    }),
  );
}

/** Polls until `check` is true; fails with `message` after the hang-guard timeout. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 25, message = () => 'condition not met' }: { timeoutMs?: number; intervalMs?: number; message?: () => string } = {},
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    // The guard grows with the machine's load, looked at again each time it would fire.
    const limit = timeoutMs * loadFactor();
    if (Date.now() - started > limit) throw new Error(`timed out after ${Math.round(limit)} ms (${timeoutMs} ms × load factor): ${message()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A fresh registry directory (0700) that is removed afterwards: first the
 * children given it are reaped (SIGKILL, then waited for), then it is removed,
 * with retries for what a dying process or a slow filesystem leaves a moment longer.
 */
export async function tempRegistryDir(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'marcus-reg-'));
  await chmod(dir, 0o700);
  return {
    dir,
    [Symbol.asyncDispose]: async () => {
      await reapChildrenUsing(dir);
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
