import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { repoRoot } from './compiled.js';

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code once the child exits, rejects with its stderr on a non-zero code. */
  exited: Promise<number>;
}

/** Runs an ES module script in a fresh `node`, from the repository root. */
export function runNode(script: string, args: readonly string[] = [], options: SpawnOptions = {}): Child {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options,
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...waiters]) {
      const line = stdout.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(0);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr.trim()}\nstdout: ${stdout.trim()}`));
    });
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const line = stdout.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return resolve(line);
      waiters.push({ pattern, resolve });
      exited.then(
        () => reject(new Error(`child exited before printing ${pattern}: ${stdout}`)),
        reject,
      );
    });
  return { process: child, waitFor, exited };
}
