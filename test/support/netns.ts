import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One simulated machine: a network namespace, its address on the link, and the hostname its processes get. */
export interface Host {
  readonly netns: string;
  readonly address: string;
  readonly hostname: string;
}

export interface TwoHosts {
  readonly a: Host;
  readonly b: Host;
  /** Removes both namespaces (and so the veth pair). Idempotent, never throws. */
  remove(): Promise<void>;
}

/**
 * Two network namespaces joined by a veth pair, 10.231.0.1/24 in A and
 * 10.231.0.2/24 in B (these addresses exist only inside them), each with its
 * loopback up. Names are unique per call: vitest runs files in parallel, and
 * so may another checkout. Needs root and iproute2; throws with the reason
 * otherwise (the caller's test fails, it never skips).
 */
export async function makeTwoHosts(): Promise<TwoHosts> {
  if (process.platform !== 'linux') throw new Error(`the two-host test needs Linux network namespaces (this is ${process.platform})`);
  if (process.getuid?.() !== 0) throw new Error('the two-host test needs root (network and UTS namespaces), as CI runs it');
  const id = randomBytes(3).toString('hex');
  const a: Host = { netns: `mr-a-${id}`, address: '10.231.0.1', hostname: `host-a-${id}` };
  const b: Host = { netns: `mr-b-${id}`, address: '10.231.0.2', hostname: `host-b-${id}` };
  const vethA = `mrva${id}`;
  const vethB = `mrvb${id}`;
  const created: string[] = [];
  const remove = async () => {
    for (const ns of created.splice(0)) await ip(['netns', 'del', ns]).catch(() => undefined);
    // Only left in the root namespace if moving it into A failed.
    await ip(['link', 'del', vethA]).catch(() => undefined);
  };
  try {
    for (const host of [a, b]) {
      await ip(['netns', 'add', host.netns]);
      created.push(host.netns);
    }
    await ip(['link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB]);
    await ip(['link', 'set', vethA, 'netns', a.netns]);
    await ip(['link', 'set', vethB, 'netns', b.netns]);
    for (const [host, dev] of [
      [a, vethA],
      [b, vethB],
    ] as const) {
      await ip(['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', dev]);
      await ip(['-n', host.netns, 'link', 'set', dev, 'up']);
      await ip(['-n', host.netns, 'link', 'set', 'lo', 'up']);
    }
  } catch (error) {
    await remove();
    throw new Error(`cannot create the two hosts' network namespaces (root, iproute2 and netns support are needed): ${String((error as Error).message)}`, { cause: error });
  }
  return { a, b, remove };
}

async function ip(args: readonly string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 20_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('`ip` (iproute2) is not installed: apt-get install iproute2');
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * Starts `command args` on `host`: in its network namespace and in a UTS
 * namespace of its own whose hostname is host.hostname. `ip netns exec` and
 * `unshare` (without --fork) exec, and so does the shell: the child's pid is
 * the command's.
 */
export function spawnOn(host: Host, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('ip', ['netns', 'exec', host.netns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host.hostname, command, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args` on `host` to completion. */
export function runOn(host: Host, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawnOn(host, command, args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
