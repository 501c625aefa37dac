import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_BINARY } from '../support/etcd-cluster.js';
import { makeTwoHosts, runOn, spawnOn, type Host, type TwoHosts } from '../support/netns.js';
import { CLI, FIXTURES, isAlive, waitFor } from '../support/processes.js';

const HTTP_SERVER = join(FIXTURES, 'fixture-http-server.mjs');
const REGISTRANT = join(FIXTURES, 'registrant.mjs');
const CONNECT_CLIENT = join(FIXTURES, 'connect-client.mjs');
/** Heartbeat of both of A's records: their lease TTL is 3 beats, 3 s. */
const HEARTBEAT_MS = 1_000;
const TTL_MS = 3 * HEARTBEAT_MS;

interface Listed {
  /** The health B judged (from `list --json`), beside the record's keys. */
  readonly health: string;
  readonly instance_id: string;
  readonly hostname?: string;
  readonly pid: number;
  readonly mcp_url?: string;
}

/** Collects a child's output and lets a test wait for a line. */
function output(child: ChildProcess): { text: () => string; line: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray> } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return {
    text: () => text,
    async line(pattern, timeoutMs) {
      let found: RegExpMatchArray | null = null;
      await waitFor(() => (found = pattern.exec(text)) !== null || child.exitCode !== null, { timeoutMs, message: () => `no ${pattern} in: ${text.slice(-3_000)}` });
      if (!found) throw new Error(`exited (${child.exitCode}) before printing ${pattern}: ${text.slice(-3_000)}`);
      return found;
    },
  };
}

/** A pid that was a process a moment ago and is none now (on every host: the namespaces share the pid space). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/**
 * Two machines on a private link: network and UTS namespaces made by the test
 * (10.231.0.1 = host A, 10.231.0.2 = host B, each with its own hostname), etcd
 * on A's address. Nothing here listens on or talks to any other address.
 * Linux and root, as CI runs it: without them this fails, it never skips.
 */
describe('two hosts (network + UTS namespaces) sharing an etcd', () => {
  let hosts: TwoHosts | undefined;
  let dataDir: string | undefined;
  const children: ChildProcess[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} is missing: run \`bash scripts/ci/setup-etcd-container.sh\` (installs etcd-server)`);
    hosts = await makeTwoHosts();
    dataDir = await mkdtemp(join(tmpdir(), 'marcus-netns-etcd-'));
    const a = hosts.a.address;
    const etcd = spawnOn(hosts.a, ETCD_BINARY, [
      '--name=netns',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://${a}:2379`,
      `--advertise-client-urls=http://${a}:2379`,
      `--listen-peer-urls=http://${a}:2380`,
      `--initial-advertise-peer-urls=http://${a}:2380`,
      `--initial-cluster=netns=http://${a}:2380`,
    ]);
    children.push(etcd);
    await output(etcd).line(/ready to serve client requests/, 60_000);
  });

  afterAll(async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await hosts?.remove();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function listOn(host: Host, store: string): Promise<Listed[]> {
    const result = await runOn(host, process.execPath, [CLI, 'list', '--json', '--store', store]);
    if (result.code !== 0) throw new Error(`list on ${host.hostname} exited ${result.code}: ${result.stderr}`);
    const entries = JSON.parse(result.stdout) as Array<{ health: string; record: Omit<Listed, 'health'> }>;
    return entries.map((entry) => ({ ...entry.record, health: entry.health }));
  }

  it('B lists A\u2019s instances by their leases, never by pid, bridges to A\u2019s MCP server, and loses it within the TTL once A is SIGKILLed', async () => {
    const { a, b } = hosts!;
    const store = `etcd://${a.address}:2379/marcus-netns/`;
    const url = `http://${a.address}:8765/mcp`;

    // Host A: `run` starts a real MCP server on A's address and registers it with that URL.
    const runA = spawnOn(a, process.execPath, [
      CLI, 'run', '--store', store, '--instance-id', 'marcus_on_a', '--project', 'netns', '--mcp-url', url,
      '--heartbeat', String(HEARTBEAT_MS), '--', process.execPath, HTTP_SERVER, '8765', 'served-on-a',
    ], { ...process.env, FIXTURE_HOST: a.address });
    children.push(runA);
    const runOutput = output(runA);
    await runOutput.line(/listening 8765/, 30_000);
    // Host A: a record whose pid is dead (here and on B), on a lease A keeps alive.
    const dead = await deadPid();
    expect(isAlive(dead)).toBe(false);
    const ghost = spawnOn(a, process.execPath, [REGISTRANT, store, 'marcus_dead_pid_on_a', String(HEARTBEAT_MS)], { ...process.env, FIXTURE_PID: String(dead) });
    children.push(ghost);
    await output(ghost).line(/registered marcus_dead_pid_on_a/, 30_000);

    // Host B lists both as host A's records, alive: by lease (a pid judgement would
    // find the ghost's pid dead and `list` would remove it).
    let listed: Listed[] = [];
    await waitFor(async () => (listed = await listOn(b, store)).length === 2, { timeoutMs: 30_000, intervalMs: 250, message: () => JSON.stringify(listed) });
    const byId = new Map(listed.map((r) => [r.instance_id, r]));
    expect(byId.get('marcus_on_a')).toMatchObject({ hostname: a.hostname, mcp_url: url });
    expect(byId.get('marcus_dead_pid_on_a')).toMatchObject({ hostname: a.hostname, pid: dead, health: 'healthy' });
    pids.push(byId.get('marcus_on_a')!.pid);
    // Several TTLs of listings later, both are still there: B never removed the ghost.
    const until = Date.now() + 2 * TTL_MS;
    while (Date.now() < until) {
      expect((await listOn(b, store)).map((r) => r.instance_id).sort()).toEqual(['marcus_dead_pid_on_a', 'marcus_on_a']);
    }

    // Host B: a real MCP SDK client spawns `connect`, which bridges to A's URL.
    const connected = await runOn(b, process.execPath, [CONNECT_CLIENT, store, 'marcus_on_a']);
    const report = JSON.parse(connected.stdout.trim().split('\n').pop() ?? 'null') as { hostname: string; whoami?: unknown; echo?: string; error?: string; stderr: string };
    expect(connected.code, `${connected.stdout}\n${connected.stderr}`).toBe(0);
    expect(report).toMatchObject({
      hostname: b.hostname,
      whoami: { name: 'served-on-a', pid: byId.get('marcus_on_a')!.pid, transport: 'streamable-http' },
      echo: 'across hosts',
    });
    expect(report.stderr).toContain(url);

    // Host A's registrant dies without a word: B stops listing it once its lease runs out.
    runA.kill('SIGKILL');
    const killedAt = Date.now();
    // Hang guard only (the lease TTL is 3 s).
    await waitFor(async () => !(await listOn(b, store)).some((r) => r.instance_id === 'marcus_on_a'), {
      timeoutMs: 10 * TTL_MS,
      intervalMs: 100,
      message: () => 'marcus_on_a still listed on B',
    });
    console.log(`two-hosts figures: marcus_on_a gone from B's listing ${Date.now() - killedAt} ms after SIGKILL on A (lease TTL ${TTL_MS} ms)`);
    expect((await listOn(b, store)).map((r) => r.instance_id)).toEqual(['marcus_dead_pid_on_a']);
  });
});
