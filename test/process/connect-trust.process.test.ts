import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/sqlite/sqlite.store.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { startEtcd, type EtcdContainer } from '../support/etcd-container.js';
import { CLI, Child, FIXTURES, cli, tempRegistryDir } from '../support/processes.js';
import { makeRecord } from '../support/records.js';

/**
 * What `connect` may start or reach (ADR 0018): Python-registered servers
 * (unquoted commands, --http without a URL), records of other hosts, and
 * stores that others can write to (etcd, a shared SQLite file).
 */

const HTTP_SERVER = join(FIXTURES, 'fixture-http-server.mjs');
const PYTHON_SERVER = join(FIXTURES, 'python_stdio_mcp_server.py');
/** Python's sys.executable: the absolute interpreter path the Python Marcus puts first in mcp_command. */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

const children: Child[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A real MCP server on Streamable HTTP at http://127.0.0.1:PORT/mcp. */
async function httpServer(name: string): Promise<{ child: Child; port: number }> {
  const child = new Child(process.execPath, [HTTP_SERVER, '0', name]);
  children.push(child);
  const [, port] = await child.line(/listening (\d+)/);
  return { child, port: Number(port) };
}

/** A real SDK Client whose server is `marcus-registry connect ARGS`. */
async function connectClient(env: Record<string, string>, args: readonly string[] = []) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'connect', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'connect-trust-test', version: '1.0.0' });
  clients.push(client);
  await client.connect(transport).catch((error: unknown) => {
    throw new Error(`connect failed: ${String(error)}; stderr: ${stderr}`);
  });
  return { client, stderr: () => stderr };
}

async function whoami(client: Client): Promise<{ name: string; pid: number; transport: string; argv0?: string }> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return JSON.parse((result.content as Array<{ text: string }>)[0]?.text ?? 'null');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * A record as the Python Marcus writes it: `mcp_command = sys.executable + " " +
 * " ".join(sys.argv)`, no mcp_args, no hostname, no schema_version, plus kwargs.
 */
function pythonRecord(mcpCommand: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString().replace('Z', '000+00:00');
  return {
    instance_id: `marcus_${process.pid}`,
    pid: process.pid,
    mcp_command: mcpCommand,
    log_dir: '/tmp/marcus/logs',
    project_name: 'py',
    provider: 'planka',
    status: 'running',
    started_at: now,
    last_heartbeat: now,
    platform: 'Linux',
    python_version: '3.11.7',
    working_directory: '/',
    ...extra,
  };
}

/** A script that leaves a marker file when started: proof that connect started something. */
async function markerScript(dir: string, marker: string): Promise<string> {
  const script = join(dir, 'leaves-a-marker.py');
  await writeFile(script, `open(${JSON.stringify(marker)}, "w").close()\n`);
  return script;
}

describe('connect to Python-registered servers (issue 12, point 9)', () => {
  it('starts `python3 …/My Projects/server.py`: the path split at its space is re-joined into the existing file', async () => {
    await using tmp = await tempRegistryDir();
    const projects = join(tmp.dir, 'x', 'My Projects');
    await mkdir(projects, { recursive: true });
    const script = join(projects, 'server.py');
    await copyFile(PYTHON_SERVER, script);
    await writeFile(join(tmp.dir, `marcus_${process.pid}.json`), JSON.stringify(pythonRecord(`${PYTHON} ${script} beta`)), { mode: 0o600 });

    const { client, stderr } = await connectClient({ MARCUS_REGISTRY_DIR: tmp.dir });
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    const me = await whoami(client);
    expect(me).toMatchObject({ name: 'beta', transport: 'stdio', argv0: script });
    expect(me.pid).not.toBe(process.pid);
    expect(stderr()).toContain(`connecting to marcus_${process.pid}: ${PYTHON} ${script} beta`);
  });

  it('a --http server whose record has no URL: exit 1 with [NO_ENDPOINT] saying what is missing, and nothing is started', async () => {
    await using tmp = await tempRegistryDir();
    const marker = join(tmp.dir, 'second-server-started');
    const script = await markerScript(tmp.dir, marker);
    await writeFile(join(tmp.dir, `marcus_${process.pid}.json`), JSON.stringify(pythonRecord(`${PYTHON} ${script} --http`)), { mode: 0o600 });

    const result = await cli(['connect'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/serves HTTP.*no mcp_url.*port.*\[NO_ENDPOINT\]/s);
    expect(result.stdout).toBe('');
    expect(await exists(marker)).toBe(false);
  });

  it('a --http server whose record carries its port (and host, path keys): bridged, never started', async () => {
    await using tmp = await tempRegistryDir();
    const marker = join(tmp.dir, 'second-server-started');
    const script = await markerScript(tmp.dir, marker);
    const server = await httpServer('py-http');
    // As Marcus's modular entry point registers it: the port only (it listens on 0.0.0.0, path /mcp).
    const record = pythonRecord(`${PYTHON} ${script} --http`, { pid: server.child.pid, instance_id: `marcus_${server.child.pid}`, port: server.port });
    await writeFile(join(tmp.dir, `marcus_${server.child.pid}.json`), JSON.stringify(record), { mode: 0o600 });

    const { client, stderr } = await connectClient({ MARCUS_REGISTRY_DIR: tmp.dir });
    expect(await whoami(client)).toMatchObject({ name: 'py-http', pid: server.child.pid, transport: 'streamable-http' });
    expect(stderr()).toContain(`http://127.0.0.1:${server.port}/mcp`);
    await client.close();

    // host and path keys, as Marcus's config names them.
    await writeFile(join(tmp.dir, `marcus_${server.child.pid}.json`), JSON.stringify({ ...record, host: '127.0.0.1', path: '/mcp' }), { mode: 0o600 });
    const again = await connectClient({ MARCUS_REGISTRY_DIR: tmp.dir });
    expect((await whoami(again.client)).name).toBe('py-http');
    expect(await exists(marker)).toBe(false);
  });
});

describe('connect never starts a command of another host (issue 13, point 3)', () => {
  it('JSON store: a record of another host is refused with [NO_ENDPOINT] and nothing runs; with an mcp_url it is bridged', async () => {
    await using tmp = await tempRegistryDir();
    const marker = join(tmp.dir, 'pwned');
    const env = { MARCUS_REGISTRY_DIR: tmp.dir };
    const remote = makeRecord({ instance_id: 'marcus_remote', hostname: 'elsewhere.example', mcp_args: ['/bin/sh', '-c', `touch ${marker}`], working_directory: tmp.dir });
    await writeFile(join(tmp.dir, 'marcus_remote.json'), JSON.stringify(remote), { mode: 0o600 });

    const refused = await cli(['connect'], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/instance marcus_remote: it runs on host elsewhere\.example.*not started here.*\[NO_ENDPOINT\]/s);
    expect(refused.stdout).toBe('');
    expect(await exists(marker)).toBe(false);

    const server = await httpServer('remote-http');
    await writeFile(join(tmp.dir, 'marcus_remote.json'), JSON.stringify({ ...remote, mcp_url: `http://127.0.0.1:${server.port}/mcp` }), { mode: 0o600 });
    const { client } = await connectClient(env);
    expect((await whoami(client)).name).toBe('remote-http');
    expect(await exists(marker)).toBe(false);
  });
});

describe('etcd: records any client of the prefix could have planted', () => {
  let etcd: EtcdContainer;
  let client: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
  });

  /** A record written with a plain etcd client, no lease: what anyone with write access to the prefix can do. */
  async function plant(prefix: string, record: ServiceRecord): Promise<void> {
    await client.put(`${prefix}${record.instance_id}`).value(JSON.stringify(record));
  }

  it('a planted record of another host with mcp_args ["/bin/sh","-c",…] is refused and nothing runs; with an mcp_url it is bridged', async () => {
    await using tmp = await tempRegistryDir();
    const prefix = `/marcus-trust/${randomUUID()}/`;
    const store = `etcd://${etcd.hosts}${prefix}`;
    const marker = join(tmp.dir, 'pwned');
    const now = formatTimestamp(Date.now());
    const planted = makeRecord({
      instance_id: 'marcus_planted',
      pid: 4242,
      hostname: 'attacker.example',
      mcp_args: ['/bin/sh', '-c', `touch ${marker}; id`],
      mcp_command: `/bin/sh -c 'touch ${marker}; id'`,
      last_heartbeat: now,
      heartbeat_interval_ms: 60_000,
    });
    await plant(prefix, planted);

    const refused = await cli(['connect', '--store', store], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/instance marcus_planted: it runs on host attacker\.example.*\[NO_ENDPOINT\]/s);
    expect(refused.stdout).toBe('');
    expect(await exists(marker)).toBe(false);

    const server = await httpServer('etcd-remote');
    await plant(prefix, { ...planted, mcp_url: `http://127.0.0.1:${server.port}/mcp` });
    const bridged = await connectClient({ MARCUS_REGISTRY_DIR: tmp.dir }, ['--store', store]);
    expect(await whoami(bridged.client)).toMatchObject({ name: 'etcd-remote', pid: server.child.pid });
    expect(await exists(marker)).toBe(false);
  });

  it('a record of THIS host in etcd is not started either: [UNTRUSTED_COMMAND], nothing runs', async () => {
    await using tmp = await tempRegistryDir();
    const prefix = `/marcus-trust/${randomUUID()}/`;
    const marker = join(tmp.dir, 'pwned');
    // This host's name and a live pid of this user (the test runner): all a planter can copy from `ps`.
    await plant(prefix, makeRecord({ instance_id: 'marcus_local', mcp_args: ['/bin/sh', '-c', `touch ${marker}`], working_directory: tmp.dir }));

    const refused = await cli(['connect', '--store', `etcd://${etcd.hosts}${prefix}`], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/any client with write access.*\[UNTRUSTED_COMMAND\]/s);
    expect(refused.stdout).toBe('');
    expect(await exists(marker)).toBe(false);
  });
});

describe('SQLite: a database file others can write to', () => {
  it('a group-writable database: [UNTRUSTED_COMMAND] and nothing runs; the same file private to its owner: started', async () => {
    await using tmp = await tempRegistryDir();
    const path = join(tmp.dir, 'registry.db');
    const marker = join(tmp.dir, 'pwned');
    const store = await openSqliteStore({ path });
    await store.put(makeRecord({ instance_id: 'marcus_sq', mcp_args: ['/bin/sh', '-c', `touch ${marker}; exit 7`], working_directory: tmp.dir }));
    await store.close();

    await chmod(path, 0o664);
    const refused = await cli(['connect', '--store', `sqlite:${path}`]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/writable by other users.*\[UNTRUSTED_COMMAND\]/s);
    expect(await exists(marker)).toBe(false);

    await chmod(path, 0o600);
    const started = await cli(['connect', '--store', `sqlite:${path}`]);
    expect(started.code, started.stderr).toBe(7);
    expect(await exists(marker)).toBe(true);
  });
});
