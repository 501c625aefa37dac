import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A child that sleeps until killed. */
export function sleeper(): ChildProcess {
  return spawn('sleep', ['60'], { stdio: 'ignore' });
}

/** Kills the child and waits until node has reaped it, so its pid is truly gone. */
export async function killAndReap(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * A zombie: `sh` starts `sleep 0.1` in the background, prints its pid, then
 * execs a long `sleep`, which never reaps the short one. Returns the parent
 * (to kill afterwards) and the zombie's pid once /proc shows it as Z.
 */
export async function zombie(): Promise<{ parent: ChildProcess; pid: number }> {
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout?.setEncoding('utf8').once('data', (chunk: string) => resolve(Number(chunk.trim())));
    parent.once('error', reject);
  });
  const deadline = Date.now() + 10_000;
  while (stateOf(pid) !== 'Z') {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not become a zombie (state ${stateOf(pid)})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { parent, pid };
}

function stateOf(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** When this process started, by its own account. */
export function ownStartMs(): number {
  return Date.now() - process.uptime() * 1000;
}
