import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Child, cli, runToEnd, tempRegistryDir, waitFor } from '../support/processes.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { makeRecord } from '../support/records.js';

/**
 * The CLI as a new user meets it (issue 16): through the built dist/, real
 * processes, real registry directories.
 */

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
});

/** `run` a child that ends when its stdin closes. */
function runWrapper(dir: string, args: readonly string[]): Child {
  const script = "process.stdin.resume(); process.stdin.on('end', () => process.exit(0));";
  const child = new Child(process.execPath, [CLI, '--store', `json:${dir}`, 'run', ...args, '--', process.execPath, '-e', script]);
  children.push(child);
  return child;
}

async function listJson(dir: string, ...args: string[]): Promise<Array<Record<string, unknown>>> {
  const result = await cli(['--store', `json:${dir}`, 'list', '--records', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

async function waitForIds(dir: string, ids: readonly string[]): Promise<Array<Record<string, unknown>>> {
  let listed: Array<Record<string, unknown>> = [];
  await waitFor(async () => {
    listed = await listJson(dir);
    return JSON.stringify(listed.map((r) => r['instance_id']).sort()) === JSON.stringify([...ids].sort());
  }, { message: () => JSON.stringify(listed) });
  return listed;
}

describe('run: a duplicate instance id', () => {
  it('a second run --instance-id of a live one exits 2 (INSTANCE_ID_TAKEN) and starts nothing; --replace takes it over', async () => {
    await using tmp = await tempRegistryDir();
    const first = runWrapper(tmp.dir, ['--instance-id', 'marcus_dup']);
    const [entry] = await waitForIds(tmp.dir, ['marcus_dup']);
    const marker = join(tmp.dir, 'second-started');
    const second = await cli(['--store', `json:${tmp.dir}`, 'run', '--instance-id', 'marcus_dup', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`]);
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toMatch(/marcus_dup is held by a live instance .*--replace.*\[INSTANCE_ID_TAKEN\]/);
    expect(existsSync(marker)).toBe(false);
    expect((await listJson(tmp.dir)).map((r) => r['pid'])).toEqual([entry?.['pid']]);

    const replacing = runWrapper(tmp.dir, ['--instance-id', 'marcus_dup', '--replace']);
    // The entry is the new one (an empty listing is not yet a takeover).
    await waitFor(async () => {
      const pid = (await listJson(tmp.dir))[0]?.['pid'];
      return pid !== undefined && pid !== entry?.['pid'];
    });
    first.process.stdin?.end();
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(await listJson(tmp.dir)).toHaveLength(1);
    replacing.process.stdin?.end();
    expect(await replacing.exited).toEqual({ code: 0, signal: null });
  });
});

describe('run: what clients will run is checked at registration', () => {
  it('refuses --mcp-command that needs a shell (UNSAFE_COMMAND, exit 2) before starting anything', async () => {
    await using tmp = await tempRegistryDir();
    const result = await cli(['--store', `json:${tmp.dir}`, 'run', '--mcp-command', 'node x.mjs | tee log', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--mcp-command: refusing to run .*--mcp-arg.*\[UNSAFE_COMMAND\]/);
    expect(await listJson(tmp.dir)).toEqual([]);
  });

  it('registers an argv given with --mcp-arg (repeated), and the words of a safe --mcp-command as mcp_args', async () => {
    await using tmp = await tempRegistryDir();
    const withArgs = runWrapper(tmp.dir, ['--instance-id', 'marcus_argv', '--mcp-arg', 'node', '--mcp-arg', 'my server.mjs', '--mcp-arg=--stdio']);
    const [entry] = await waitForIds(tmp.dir, ['marcus_argv']);
    expect(entry).toMatchObject({ mcp_args: ['node', 'my server.mjs', '--stdio'], mcp_command: "node 'my server.mjs' --stdio" });
    withArgs.process.stdin?.end();
    await withArgs.exited;
    const withCommand = runWrapper(tmp.dir, ['--instance-id', 'marcus_cmd', '--mcp-command', 'python -m marcus --stdio']);
    const [second] = await waitForIds(tmp.dir, ['marcus_cmd']);
    expect(second).toMatchObject({ mcp_args: ['python', '-m', 'marcus', '--stdio'], mcp_command: 'python -m marcus --stdio' });
    withCommand.process.stdin?.end();
    await withCommand.exited;
  });

  it('refuses a --heartbeat below 100 ms (exit 2)', async () => {
    await using tmp = await tempRegistryDir();
    const result = await cli(['--store', `json:${tmp.dir}`, 'run', '--heartbeat', '10', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--heartbeat must be at least 100 ms, got 10/);
  });
});

/** A registry with a live entry (this test process) and a stale one (a pid that has exited). */
async function liveAndStale(dir: string): Promise<{ deadPid: number }> {
  const dead = new Child('true', []);
  await dead.exited;
  // Live first (older); neither started_at before this process started (that would be pid-started-later).
  // No heartbeat comes for it: an interval of an hour keeps it healthy however long a loaded machine takes (10 s would allow 30 s).
  const live = makeRecord({ instance_id: 'marcus_live', pid: process.pid, started_at: formatTimestamp(Date.now() - 30_000), heartbeat_interval_ms: 3_600_000 });
  const stale = makeRecord({ instance_id: 'marcus_stale', pid: dead.pid, started_at: formatTimestamp(Date.now() - 10_000) });
  await writeFile(join(dir, 'marcus_live.json'), JSON.stringify(live, null, 2), { mode: 0o600 });
  await writeFile(join(dir, 'marcus_stale.json'), JSON.stringify(stale, null, 2), { mode: 0o600 });
  return { deadPid: dead.pid };
}

describe('JSON output carries health beside the record', () => {
  it('list --json: [{health, reason?, detail?, record}]; --all shows stale ones as stale; --records: plain records; --jsonl/--ndjson: one per line', async () => {
    await using tmp = await tempRegistryDir();
    const { deadPid } = await liveAndStale(tmp.dir);
    const store = ['--store', `json:${tmp.dir}`];
    const all = await cli([...store, 'list', '--all', '--json']);
    expect(all.code, all.stderr).toBe(0);
    const entries = JSON.parse(all.stdout) as Array<{ health: string; reason?: string; detail?: string; record: Record<string, unknown> }>;
    expect(entries.map((e) => [e.record['instance_id'], e.health, e.reason])).toEqual([
      ['marcus_live', 'healthy', undefined],
      ['marcus_stale', 'stale', 'process-exited'],
    ]);
    expect(entries[1]?.detail).toBe(`pid ${deadPid} is not running`);
    const records = JSON.parse((await cli([...store, 'list', '--all', '--records'])).stdout) as Array<Record<string, unknown>>;
    expect(records.map((r) => r['instance_id'])).toEqual(['marcus_live', 'marcus_stale']);
    expect(records[0]).toEqual(entries[0]?.record);
    for (const flag of ['--jsonl', '--ndjson']) {
      const lines = (await cli([...store, 'list', '--all', flag])).stdout.trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(entries);
    }
    const recordLines = (await cli([...store, 'list', '--all', '--jsonl', '--records'])).stdout.trimEnd().split('\n');
    expect(recordLines.map((l) => JSON.parse(l) as unknown)).toEqual(records);
    // Without --all: the live one only.
    expect((await cli([...store, 'list', '--jsonl'])).stdout).toBe(`${JSON.stringify(entries[0])}\n`);
  });

  it('show: --json carries health; a stale entry is printed and exits 3; --records is the plain record', async () => {
    await using tmp = await tempRegistryDir();
    await liveAndStale(tmp.dir);
    const store = ['--store', `json:${tmp.dir}`];
    const live = await cli([...store, 'show', 'marcus_live', '--json']);
    expect(live.code).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ health: 'healthy', record: { instance_id: 'marcus_live' } });
    const stale = await cli([...store, 'show', 'marcus_stale', '--json']);
    expect(stale.code).toBe(3);
    expect(JSON.parse(stale.stdout)).toMatchObject({ health: 'stale', reason: 'process-exited', record: { instance_id: 'marcus_stale' } });
    expect(stale.stderr).toMatch(/marcus_stale is stale \(process-exited/);
    const plain = await cli([...store, 'show', 'marcus_live', '--records']);
    expect(JSON.parse(plain.stdout)).toMatchObject({ instance_id: 'marcus_live', pid: process.pid });
    expect(JSON.parse(plain.stdout)).not.toHaveProperty('health');
    // show removes nothing.
    expect((await readdir(tmp.dir)).sort()).toEqual(['marcus_live.json', 'marcus_stale.json']);
  });

  it('preferred --json carries health; --records the plain record', async () => {
    await using tmp = await tempRegistryDir();
    await liveAndStale(tmp.dir);
    const store = ['--store', `json:${tmp.dir}`];
    const judged = await cli([...store, 'preferred', '--json']);
    expect(judged.code, judged.stderr).toBe(0);
    expect(JSON.parse(judged.stdout)).toMatchObject({ health: 'healthy', record: { instance_id: 'marcus_live' } });
    expect(JSON.parse((await cli([...store, 'preferred', '--records'])).stdout)).toMatchObject({ instance_id: 'marcus_live' });
  });
});

describe('list for scripts', () => {
  it('-q prints ids only, --no-headers the table without its header', async () => {
    await using tmp = await tempRegistryDir();
    await liveAndStale(tmp.dir);
    const store = ['--store', `json:${tmp.dir}`];
    expect((await cli([...store, 'list', '--all', '-q'])).stdout).toBe('marcus_live\nmarcus_stale\n');
    const table = (await cli([...store, 'list', '--no-headers'])).stdout;
    expect(table).not.toMatch(/INSTANCE/);
    expect(table).toMatch(/^marcus_live\s+\d+\s/);
    expect((await cli([...store, 'list', '-q', '--json'])).code).toBe(2);
  });
});

describe('silent surprises', () => {
  it('warns on stderr when MARCUS_INSTANCE_ID matches no live instance', async () => {
    await using tmp = await tempRegistryDir();
    await liveAndStale(tmp.dir);
    const result = await cli(['--store', `json:${tmp.dir}`, 'preferred', '--records'], { MARCUS_INSTANCE_ID: 'marcus_nothing' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ instance_id: 'marcus_live' });
    expect(result.stderr).toMatch(/warn: MARCUS_INSTANCE_ID=marcus_nothing matches no live instance/);
    const matching = await cli(['--store', `json:${tmp.dir}`, 'preferred'], { MARCUS_INSTANCE_ID: 'marcus_live' });
    expect(matching.stderr).toBe('');
  });

  it('read commands with --store json:relative/dir create nothing', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'marcus-cwd-'));
    try {
      for (const args of [['list'], ['list', '--json'], ['show', 'marcus_x'], ['preferred'], ['prune']]) {
        const result = await runToEnd(process.execPath, [CLI, '--store', 'json:relative/dir', ...args], { cwd });
        expect(result.code === 0 || result.code === 3, `${args.join(' ')}: ${result.stderr}`).toBe(true);
      }
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
  it('read commands with --store sqlite:missing/r.db create nothing: a clear STORE_UNAVAILABLE, not a new empty registry', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'marcus-cwd-'));
    try {
      for (const args of [['list'], ['show', 'marcus_x'], ['preferred'], ['prune']]) {
        const result = await runToEnd(process.execPath, [CLI, '--store', 'sqlite:missing/r.db', ...args], { cwd });
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
        expect(result.stderr).toMatch(/does not exist.*\[STORE_UNAVAILABLE\]/);
      }
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('watch prints what a person cares about', () => {
  function watchProcess(dir: string, ...args: string[]): Child {
    const child = new Child(process.execPath, [CLI, '--store', `json:${dir}`, 'watch', '--sweep', '200', ...args]);
    children.push(child);
    return child;
  }

  it('heartbeats only with --verbose; a status change always, naming what changed; --json every event', async () => {
    await using tmp = await tempRegistryDir();
    const path = join(tmp.dir, 'marcus_w.json');
    const base = makeRecord({ instance_id: 'marcus_w', pid: process.pid, project_name: 'alpha' });
    // Atomic (rename), as our writers do: a watcher never sees a half-written file.
    const write = async (overrides: Record<string, unknown>) => {
      await writeFile(`${path}.tmp`, JSON.stringify({ ...base, ...overrides }, null, 2), { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    };
    await write({});
    const quiet = watchProcess(tmp.dir);
    const verbose = watchProcess(tmp.dir, '--verbose');
    const json = watchProcess(tmp.dir, '--json');
    for (const w of [quiet, verbose]) await w.line(/^\+ marcus_w pid \d+ project alpha healthy$/m);
    await json.line(/"type":"added"/);
    // Three heartbeats: only last_heartbeat moves.
    for (let i = 1; i <= 3; i++) {
      await write({ last_heartbeat: new Date(Date.now() + i).toISOString().replace('Z', '000+00:00') });
      await verbose.line(new RegExp(`(^~ marcus_w .*\\(heartbeat\\)$[\\s\\S]*){${i}}`, 'm'));
    }
    await write({ status: 'busy', last_heartbeat: new Date().toISOString().replace('Z', '000+00:00') });
    await quiet.line(/^~ marcus_w pid \d+ project alpha healthy status busy \(status\)$/m);
    await verbose.line(/^~ marcus_w .* status busy \(status\)$/m);
    // At least the status change (heartbeats written close together may be coalesced into one listing).
    await waitFor(() => /"type":"updated".*"status":"busy"/.test(json.output), { message: () => `${json.output}\nstderr: ${json.stderrText}` });
    expect(quiet.output).not.toMatch(/heartbeat\)/);
    expect(quiet.output.match(/^~ /gm)).toHaveLength(1);
  });
});

describe('one rule for an instance id on the command line', () => {
  it('an id no entry can have (a/b) is a usage error (exit 2) for show, preferred --instance and connect --instance; another absent id is exit 3', async () => {
    await using tmp = await tempRegistryDir();
    await liveAndStale(tmp.dir);
    const store = ['--store', `json:${tmp.dir}`];
    for (const args of [['show', 'a/b'], ['preferred', '--instance', 'a/b'], ['connect', '--instance', 'a/b']]) {
      const result = await cli([...store, ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/"a\/b" cannot name an instance .*\[INVALID_INSTANCE_ID\]/);
    }
    for (const args of [['show', 'marcus absent'], ['show', 'marcus_absent'], ['preferred', '--instance', 'marcus absent']]) {
      expect((await cli([...store, ...args])).code, args.join(' ')).toBe(3);
    }
  });

  it('an instance named `preferred` is reachable over HTTP at /v1/services/id/preferred; /v1/services/preferred stays the picker', async () => {
    await using tmp = await tempRegistryDir();
    const record = makeRecord({ instance_id: 'preferred', pid: process.pid, project_name: 'named' });
    await writeFile(join(tmp.dir, 'preferred.json'), JSON.stringify(record, null, 2), { mode: 0o600 });
    const serve = new Child(process.execPath, [CLI, '--store', `json:${tmp.dir}`, 'serve', '--port', '0']);
    children.push(serve);
    const [, url] = await serve.line(/(http:\/\/127\.0\.0\.1:\d+\/)/);
    const byId = await fetch(`${url}v1/services/id/preferred`);
    expect(byId.status).toBe(200);
    expect(await byId.json()).toMatchObject({ health: 'healthy', record: { instance_id: 'preferred', project_name: 'named' } });
    const picker = await fetch(`${url}v1/services/preferred?project=nope`);
    expect(picker.status).toBe(404);
    expect(((await picker.json()) as { error: { code: string } }).error.code).toBe('NO_MATCHING_INSTANCE');
    expect((await fetch(`${url}v1/services/id/marcus_absent`)).status).toBe(404);
    serve.kill('SIGINT');
    await serve.exited;
  });
});

describe('stop', () => {
  it('SIGTERMs a local instance registered by run and waits for its entry to go', async () => {
    await using tmp = await tempRegistryDir();
    const wrapper = new Child(process.execPath, [CLI, '--store', `json:${tmp.dir}`, 'run', '--instance-id', 'marcus_stopme', '--', 'sleep', '60']);
    children.push(wrapper);
    const [entry] = await waitForIds(tmp.dir, ['marcus_stopme']);
    const result = await cli(['--store', `json:${tmp.dir}`, 'stop', 'marcus_stopme']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('stopped marcus_stopme\n');
    expect(result.stderr).toMatch(new RegExp(`sent SIGTERM to marcus_stopme \\(pid ${entry?.['pid']}\\)`));
    expect(await listJson(tmp.dir)).toEqual([]);
    // run exits as its child did: killed by SIGTERM (or 128 + 15).
    const exit = await wrapper.exited;
    expect(exit.signal === 'SIGTERM' || exit.code === 143, JSON.stringify(exit)).toBe(true);
  });

  it('a process that ignores SIGTERM: exit 1 after --timeout; --force SIGKILLs it', async () => {
    await using tmp = await tempRegistryDir();
    // The child says when it ignores SIGTERM: registered is not yet ready (a SIGTERM before its handler would kill it).
    await using gate = await tempRegistryDir();
    const ready = join(gate.dir, 'ignoring-sigterm');
    const script = `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`;
    const wrapper = new Child(process.execPath, [CLI, '--store', `json:${tmp.dir}`, 'run', '--instance-id', 'marcus_stubborn', '--', process.execPath, '-e', script]);
    children.push(wrapper);
    await waitForIds(tmp.dir, ['marcus_stubborn']);
    await waitFor(() => existsSync(ready), { message: () => `the child never installed its SIGTERM handler: ${wrapper.stderrText}` });
    const polite = await cli(['--store', `json:${tmp.dir}`, 'stop', 'marcus_stubborn', '--timeout', '0.5']);
    expect(polite.code).toBe(1);
    expect(polite.stderr).toMatch(/still running after 0.5 s; stop it with --force/);
    const forced = await cli(['--store', `json:${tmp.dir}`, 'stop', 'marcus_stubborn', '--timeout', '0.5', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/sent SIGKILL/);
    const exit = await wrapper.exited;
    expect(exit.signal === 'SIGKILL' || exit.code === 137, JSON.stringify(exit)).toBe(true);
  });

  it('refuses another host, a reused pid and an unverifiable one (STOP_REFUSED), never signalling; exit 3 for absent or not running', async () => {
    await using tmp = await tempRegistryDir();
    const victim = new Child('sleep', ['60']);
    children.push(victim);
    const put = (id: string, overrides: Record<string, unknown>) =>
      writeFile(join(tmp.dir, `${id}.json`), JSON.stringify(makeRecord({ instance_id: id, pid: victim.pid, ...overrides }), null, 2), { mode: 0o600 });
    await put('marcus_remote', { hostname: 'elsewhere.example', process_start_token: 'x' });
    await put('marcus_reused', { process_start_token: 'not-this-process', process_start_time: '2001-01-01T00:00:00.000000+00:00' });
    await put('marcus_unknown', {});
    const store = ['--store', `json:${tmp.dir}`];
    for (const [id, why] of [['marcus_remote', /runs on elsewhere\.example/], ['marcus_reused', /now belongs to another process/], ['marcus_unknown', /cannot be proved/]] as const) {
      const result = await cli([...store, 'stop', id, '--force', '--timeout', '0']);
      expect(result.code, id).toBe(1);
      expect(result.stderr).toMatch(why);
      expect(result.stderr).toMatch(/\[STOP_REFUSED\]/);
    }
    expect(victim.process.exitCode).toBeNull();
    expect(victim.process.signalCode).toBeNull();
    expect((await cli([...store, 'stop', 'marcus_absent'])).code).toBe(3);
    victim.kill('SIGKILL');
    await victim.exited;
    await put('marcus_dead', { process_start_token: 'x' });
    const dead = await cli([...store, 'stop', 'marcus_dead']);
    expect(dead.code).toBe(3);
    expect(dead.stderr).toMatch(/is not running/);
  });
});

describe('logs', () => {
  it('prints the newest file of the log_dir; --follow prints what is appended', async () => {
    await using tmp = await tempRegistryDir();
    const logDir = join(tmp.dir, 'logs');
    await import('node:fs/promises').then((fs) => fs.mkdir(logDir));
    await writeFile(join(logDir, 'old.log'), 'old\n');
    await new Promise((r) => setTimeout(r, 20));
    const newest = join(logDir, 'marcus_2026.log');
    await writeFile(newest, 'line one\n');
    await import('node:fs/promises').then((fs) => fs.utimes(join(logDir, 'old.log'), new Date(2000, 0, 1), new Date(2000, 0, 1)));
    const registry = join(tmp.dir, 'registry');
    await import('node:fs/promises').then((fs) => fs.mkdir(registry, { mode: 0o700 }));
    await writeFile(join(registry, 'marcus_logs.json'), JSON.stringify(makeRecord({ instance_id: 'marcus_logs', log_dir: logDir }), null, 2), { mode: 0o600 });
    const store = ['--store', `json:${registry}`];
    const once = await cli([...store, 'logs', 'marcus_logs']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toBe('line one\n');
    expect(once.stderr).toContain(newest);
    const follow = new Child(process.execPath, [CLI, ...store, 'logs', 'marcus_logs', '--follow']);
    children.push(follow);
    await follow.line(/^line one$/m);
    await import('node:fs/promises').then((fs) => fs.appendFile(newest, 'line two\n'));
    await follow.line(/^line two$/m);
    follow.kill('SIGINT');
    expect(await follow.exited).toEqual({ code: 0, signal: null });
    expect((await cli([...store, 'logs', 'marcus_none'])).code).toBe(3);
  });
});

describe('help, version, typos', () => {
  it('per-command help, -V, an unknown option line, did you mean', async () => {
    for (const args of [['list', '--help'], ['help', 'list']]) {
      const result = await cli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: marcus-registry list .*--jsonl/);
      expect(result.stdout).toMatch(/-q, --quiet/);
    }
    expect((await cli(['help', 'run'])).stdout).toMatch(/--mcp-arg A/);
    expect((await cli(['stop', '--help'])).stdout).toMatch(/^Usage: marcus-registry stop ID/);
    const version = await cli(['-V']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await cli(['--version'])).stdout).toBe(version.stdout);
    const typo = await cli(['lst']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'lst' — did you mean `list`\?/);
    const option = await cli(['list', '--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe("marcus-registry: unknown option '--bogus'\n(see marcus-registry list --help)\n");
    // Before any command: the option is named, then the usage.
    const early = await cli(['--bogus']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/^marcus-registry: unknown option '--bogus'\nUsage: marcus-registry /);
    expect((await cli([])).stderr).toMatch(/^Usage: marcus-registry /);
  });
});
