import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/app/cli/main.js');
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

/** A long-running child whose stdout lines can be awaited. */
export class Child {
  readonly process: ChildProcess;
  private buffer = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string, args: readonly string[], options: SpawnOptions = {}) {
    this.process = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout?.on('data', (d: Buffer) => (this.buffer += d.toString()));
    this.process.stderr?.on('data', (d: Buffer) => (this.stderrText += d.toString()));
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
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
}

/** Polls until `check` is true; fails with `message` after the hang-guard timeout. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 25, message = () => 'condition not met' }: { timeoutMs?: number; intervalMs?: number; message?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A fresh registry directory (0700) that is removed afterwards. */
export async function tempRegistryDir(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'marcus-reg-'));
  await chmod(dir, 0o700);
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
