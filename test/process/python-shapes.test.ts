import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultLivenessProbe } from '../../src/adapters/liveness/select-liveness.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { CLI, Child, FIXTURES, cli, runToEnd, tempRegistryDir, waitFor } from '../support/processes.js';

/** Our Python peer (stdlib; psutil when importable), behaving like lwgray/marcus service_registry.py. */
const SHAPES = join(FIXTURES, 'python_shapes.py');
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

/** A Python locale without UTF-8: open() without an encoding decodes ASCII, as on a C-locale server. */
function asciiLocaleEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C', PYTHONUTF8: '0' };
  delete env['PYTHONIOENCODING'];
  delete env['LC_CTYPE'];
  return env;
}

async function pythonWrite(dir: string, id: string, pid: number, kwargs: Record<string, unknown>): Promise<void> {
  const result = await runToEnd('python3', [SHAPES, 'write', dir, id, String(pid), JSON.stringify(kwargs)]);
  expect(result.code, result.stderr).toBe(0);
}

async function pythonDiscover(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ids: string[]; preferred: string | null }> {
  const result = await runToEnd('python3', [SHAPES, 'discover', dir], { env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { ids: string[]; preferred: string | null };
}

function sleeper(): Child {
  const child = new Child('sleep', ['60']);
  children.push(child);
  return child;
}

describe('Python record shapes and readers (python3, our stdlib peer)', () => {
  it('a Python reader under LC_ALL=C without UTF-8 mode lists a record we wrote with a non-ASCII project name', async () => {
    await using tmp = await tempRegistryDir();
    const project = 'Café 项目 🚀';
    const run = new Child(process.execPath, [CLI, 'run', '--project', project, '--', 'sleep', '30'], {
      env: { ...process.env, MARCUS_REGISTRY_DIR: tmp.dir },
    });
    children.push(run);
    await waitFor(async () => (await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir })).stdout.includes('marcus_'));
    const listed = JSON.parse((await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir })).stdout) as Array<Record<string, unknown>>;
    const id = listed[0]?.['instance_id'] as string;
    const bytes = await readFile(join(tmp.dir, `${id}.json`));
    expect(bytes.every((b) => b < 0x80)).toBe(true);
    expect(JSON.parse(bytes.toString('utf8'))['project_name']).toBe(project);
    const found = await pythonDiscover(tmp.dir, asciiLocaleEnv());
    expect(found.ids).toEqual([id]);
    expect(found.preferred).toBe(id);
  });

  it('records 300 µs apart are ordered, and the newest preferred, as Python sorts started_at', async () => {
    const alive = sleeper();
    for (const [first, second] of [
      ['marcus_a', 'marcus_b'],
      ['marcus_b', 'marcus_a'],
    ] as const) {
      await using tmp = await tempRegistryDir();
      // Within one millisecond, now (after the pid's process started: both healthy), as Python's isoformat() writes it.
      const ms = formatTimestamp(Date.now()).slice(0, 23);
      await pythonWrite(tmp.dir, first, alive.pid, { started_at: `${ms}100+00:00` });
      await pythonWrite(tmp.dir, second, alive.pid, { started_at: `${ms}400+00:00` });
      const python = await pythonDiscover(tmp.dir);
      expect(python.ids).toEqual([first, second]);
      const listed = await cli(['list', '--records', '--debug'], { MARCUS_REGISTRY_DIR: tmp.dir });
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ instance_id: string }>).map((r) => r.instance_id)).toEqual(python.ids);
      expect((await cli(['list'], { MARCUS_REGISTRY_DIR: tmp.dir })).stdout.match(/\bhealthy\b/g)).toHaveLength(2);
      const preferred = await cli(['preferred', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
      expect(preferred.code, preferred.stderr).toBe(0);
      expect((JSON.parse(preferred.stdout) as { instance_id: string }).instance_id).toBe(python.preferred);
    }
  });

  it('a Python record whose pid belongs to a process started after its started_at is unresponsive (pid-started-later), ranked after a healthy one, never removed', async () => {
    await using tmp = await tempRegistryDir();
    const now = Date.now();
    // The healthy one: started_at 20 minutes ago, with the process_start_time of its (real) process.
    const healthy = sleeper();
    const start = await defaultLivenessProbe().startOf(healthy.pid);
    expect(start?.timeMs).toBeDefined();
    await pythonWrite(tmp.dir, 'marcus_healthy', healthy.pid, {
      started_at: formatTimestamp(now - 20 * 60_000),
      process_start_time: formatTimestamp(start?.timeMs as number),
    });
    // The suspect: Python-shaped (no process_start_time, no token), newer started_at
    // (10 minutes ago), but its pid is a process that started just now.
    const stranger = sleeper();
    await pythonWrite(tmp.dir, 'marcus_suspect', stranger.pid, { started_at: formatTimestamp(now - 10 * 60_000) });
    // Python's own reader keeps it and prefers it (the newest).
    expect(await pythonDiscover(tmp.dir)).toEqual({ ids: ['marcus_healthy', 'marcus_suspect'], preferred: 'marcus_suspect' });

    const table = await cli(['list'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/marcus_healthy\s.*\shealthy\s/);
    expect(table.stdout).toMatch(/marcus_suspect\s.*\sunresponsive \(pid-started-later\)/);
    const shown = await cli(['show', 'marcus_suspect'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(shown.stdout).toMatch(/unresponsive \(pid-started-later: pid \d+ belongs to a process started at .*after the record's started_at/);
    const preferred = await cli(['preferred', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(preferred.code, preferred.stderr).toBe(0);
    expect((JSON.parse(preferred.stdout) as { instance_id: string }).instance_id).toBe('marcus_healthy');
    // prune never removes it: the rule rests on wall-clock times, not a verified start.
    const pruned = await cli(['prune', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { removed: unknown[] }).removed).toEqual([]);
    await readFile(join(tmp.dir, 'marcus_suspect.json'));
  });

  it('umask 002: the directory Python creates (0775) works for its user; it is made owner-only with a warning', async () => {
    await using tmp = await tempRegistryDir();
    const dir = join(tmp.dir, 'home', '.marcus', 'services');
    // What the Python registry does at import: mkdir(parents=True, exist_ok=True), under the user-private-group umask.
    const made = await runToEnd('python3', ['-c', 'import os, sys; os.umask(0o002); from pathlib import Path; Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)', dir]);
    expect(made.code, made.stderr).toBe(0);
    expect((await stat(dir)).mode & 0o7777).toBe(0o775);
    const alive = sleeper();
    const wrote = await runToEnd('python3', ['-c', `import os, sys, runpy; os.umask(0o002); sys.argv = ${JSON.stringify([SHAPES, 'write', dir, 'marcus_py', String(alive.pid), '{}'])}; runpy.run_path(sys.argv[0], run_name="__main__")`]);
    expect(wrote.code, wrote.stderr).toBe(0);

    const listed = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ instance_id: string }>).map((r) => r.instance_id)).toEqual(['marcus_py']);
    expect(listed.stderr).toContain(`registry directory ${dir} was writable by its group (mode 775); made it owner-only (now 700)`);
    expect((await stat(dir)).mode & 0o7777).toBe(0o700);
    // Writes work too, and the Python side still reads and writes there.
    const run = new Child(process.execPath, [CLI, 'run', '--instance-id', 'marcus_ts', '--', 'sleep', '30'], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir } });
    children.push(run);
    await waitFor(async () => (await pythonDiscover(dir)).ids.length === 2);
    await pythonWrite(dir, 'marcus_py2', alive.pid, {});
    const again = await cli(['list', '--records'], { MARCUS_REGISTRY_DIR: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('writable by its group');
    expect(JSON.parse(again.stdout)).toHaveLength(3);
  });

  it("Python's other types for optional keys: listed, shown, preferred, with a note; the file is never rewritten", async () => {
    await using tmp = await tempRegistryDir();
    const alive = sleeper();
    const start = await defaultLivenessProbe().startOf(alive.pid);
    const kwargs = {
      transport: 'http',
      capabilities: { board: true },
      api_version: 1.0,
      schema_version: '1',
      status: null,
      // As psutil.Process().create_time() gives it: epoch seconds, a float.
      process_start_time: (start?.timeMs as number) / 1000 + 0.25,
      supported_providers: 'planka',
    };
    await pythonWrite(tmp.dir, 'marcus_odd', alive.pid, kwargs);
    await pythonWrite(tmp.dir, 'marcus_multi', alive.pid, { transport: 'multi', started_at: '2001-01-01T00:00:00+00:00' });
    const path = join(tmp.dir, 'marcus_odd.json');
    const before = await readFile(path, 'utf8');
    const onDisk = JSON.parse(before) as Record<string, unknown>;

    const listed = await cli(['list', '--records', '--debug'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(listed.code, listed.stderr).toBe(0);
    const records = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(records.map((r) => r['instance_id'])).toEqual(['marcus_multi', 'marcus_odd']);
    // Kept untouched in what we print.
    expect(records[1]).toEqual(onDisk);
    expect(records[0]?.['transport']).toBe('multi');
    // Each ignored key is noted, not a skip; the meaning of "1" is clear and not noted.
    for (const key of ['transport', 'capabilities', 'api_version', 'status', 'supported_providers']) {
      expect(listed.stderr).toMatch(new RegExp(`noted marcus_odd\\.json: ${key} = .*\\[IGNORED_FIELD\\]`));
    }
    expect(listed.stderr).toMatch(/noted marcus_multi\.json: transport = "multi"/);
    expect(listed.stderr).not.toMatch(/schema_version|process_start_time|INVALID_RECORD/);

    const table = await cli(['list'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(table.stdout).toMatch(/marcus_odd\s+\d+\s+-\s+-\s+-\s+healthy/);
    // Without --debug the notes stay quiet: every list would repeat them.
    expect(table.stderr).not.toMatch(/IGNORED_FIELD/);
    const shown = await cli(['show', 'marcus_odd', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(onDisk);
    const preferred = await cli(['preferred', '--records'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(preferred.code, preferred.stderr).toBe(0);
    expect(JSON.parse(preferred.stdout)).toEqual(onDisk);
    expect(await readFile(path, 'utf8')).toBe(before);
    // The epoch-seconds process_start_time is used: an hour off, the pid is judged reused (stale) and pruned.
    await pythonWrite(tmp.dir, 'marcus_reused', alive.pid, { process_start_time: (start?.timeMs as number) / 1000 - 3600 });
    const pruned = await cli(['prune', '--json'], { MARCUS_REGISTRY_DIR: tmp.dir });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { removed: Array<{ instance_id: string; reason: string }> }).removed).toEqual([
      expect.objectContaining({ instance_id: 'marcus_reused', reason: 'pid-reused' }),
    ]);
    expect((await pythonDiscover(tmp.dir)).ids).toEqual(['marcus_multi', 'marcus_odd']);
  });
});
