import { mkdir, readdir, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openJsonDirStore } from '../../src/adapters/json-dir/json-dir.store.js';
import { createRegistry } from '../../src/app/create-registry.js';
import { parsePythonJson } from '../../src/domain/python-json.js';
import { CLI, Child, FIXTURES, runToEnd, tempRegistryDir, waitFor, type Finished } from '../support/processes.js';

/**
 * The Python registry as the real Marcus runs it (our stdlib peer behaving like
 * lwgray/marcus src/core/service_registry.py), in its real directory
 * $HOME/.marcus/services, against our CLI and library: with psutil and without.
 */
const PEER = join(FIXTURES, 'marcus_service_registry.py');
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.kill('SIGKILL');
});

type Json = Record<string, unknown>;

/** What the tests parse: Python's output (NaN and Infinity included). */
function pythonJson(text: string): unknown {
  const parsed = parsePythonJson(text);
  if (!parsed.ok) throw new Error(`not Python JSON: ${JSON.stringify(text)}`);
  return parsed.value;
}

const psutilInstalled = (await runToEnd('python3', ['-c', 'import psutil'])).code === 0;
const flavours = [{ name: 'stdlib (os.kill)', env: { MARCUS_PEER_NO_PSUTIL: '1' } }, ...(psutilInstalled ? [{ name: 'psutil', env: {} }] : [])];
if (process.env['CI'] && !psutilInstalled) throw new Error('CI installs psutil (.ci/run): python3 -c "import psutil" failed');

async function home(): Promise<{ home: string; dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const tmp = await tempRegistryDir();
  return { home: tmp.dir, dir: join(tmp.dir, '.marcus', 'services'), [Symbol.asyncDispose]: () => tmp[Symbol.asyncDispose]() };
}

for (const flavour of flavours) {
  describe(`the Python registry (${flavour.name}) beside ours`, () => {
    const peerEnv = (homeDir: string) => ({ ...process.env, ...flavour.env, HOME: homeDir });
    const peer = (homeDir: string, args: readonly string[]) => runToEnd('python3', [PEER, ...args], { env: peerEnv(homeDir) });
    const start = async (homeDir: string, args: readonly string[]): Promise<{ child: Child; id: string }> => {
      const child = new Child('python3', [PEER, 'register', ...args], { env: peerEnv(homeDir) });
      children.push(child);
      const [, id] = await child.line(/registered (.+)\n/);
      return { child, id: id as string };
    };
    // Our CLI with the same HOME: the default directory is the one Python uses.
    const ours = (homeDir: string, args: readonly string[]): Promise<Finished> =>
      runToEnd(process.execPath, [CLI, ...args], { env: { ...process.env, HOME: homeDir, MARCUS_REGISTRY_DIR: '', MARCUS_REGISTRY_STORE: '' } });
    const discoverPy = async (homeDir: string): Promise<Json[]> => {
      const result = await peer(homeDir, ['discover']);
      expect(result.code, result.stderr).toBe(0);
      return pythonJson(result.stdout) as Json[];
    };
    const listOurs = async (homeDir: string): Promise<Json[]> => {
      const result = await ours(homeDir, ['list', '--records']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Json[];
    };

    it('finds an instance we registered (`marcus-registry run`), in discover_services() and get_preferred_service()', async () => {
      await using tmp = await home();
      const run = new Child(process.execPath, [CLI, 'run', '--project', 'ts-project', '--', 'sleep', '60'], { env: { ...process.env, HOME: tmp.home } });
      children.push(run);
      let services: Json[] = [];
      await waitFor(async () => (services = await discoverPy(tmp.home)).length > 0);
      expect(services).toHaveLength(1);
      expect(services[0]).toMatchObject({ project_name: 'ts-project', mcp_command: 'sleep 60', instance_id: `marcus_${String(services[0]?.['pid'])}` });
      const preferred = await peer(tmp.home, ['preferred']);
      expect(preferred.code, preferred.stderr).toBe(0);
      expect(pythonJson(preferred.stdout)).toMatchObject({ instance_id: services[0]?.['instance_id'] });
    });

    it('NaN and ±Infinity from json.dump: listed, shown, preferred, never quarantined, and written back as Python wrote them', async () => {
      await using tmp = await home();
      const metrics = '{"load_metrics": {"cpu_usage": NaN, "peak": Infinity, "floor": -Infinity, "active_agents": 2}}';
      const { child, id } = await start(tmp.home, ['--kwargs', metrics]);
      const path = join(tmp.dir, `${id}.json`);
      expect(await readFile(path, 'utf8')).toContain('"cpu_usage": NaN');
      // Old enough that an unparsable file would be moved aside at once (past the grace period).
      const old = new Date(Date.now() - 60_000);
      await utimes(path, old, old);

      const listed = await listOurs(tmp.home);
      expect(listed.map((r) => r['instance_id'])).toEqual([id]);
      expect(listed[0]).toMatchObject({ pid: child.pid, load_metrics: { active_agents: 2 } });
      const shown = await ours(tmp.home, ['show', id, '--records']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ instance_id: id });
      const preferred = await ours(tmp.home, ['preferred', '--records']);
      expect(preferred.code, preferred.stderr).toBe(0);
      expect(JSON.parse(preferred.stdout)).toMatchObject({ instance_id: id });
      // Never moved aside: the file is where Python left it, and Python still lists it.
      expect(await readdir(tmp.dir)).toEqual([`${id}.json`]);
      const [python] = await discoverPy(tmp.home);
      expect(python?.['load_metrics']).toEqual({ cpu_usage: NaN, peak: Infinity, floor: -Infinity, active_agents: 2 });

      // Our library sees the floats Python sees.
      await using registry = await createRegistry({ store: `json:${tmp.dir}` });
      const [record] = await registry.discover();
      expect(record?.['load_metrics']).toEqual({ cpu_usage: NaN, peak: Infinity, floor: -Infinity, active_agents: 2 });

      // We rewrite it (a store update, as a heartbeat would): the non-finite values go back as Python's tokens.
      const store = await openJsonDirStore({ dir: tmp.dir });
      await store.update(id, (r) => ({ ...r, status: 'draining' }));
      const text = await readFile(path, 'utf8');
      expect(text).toMatch(/"cpu_usage": NaN,\s+"peak": Infinity,\s+"floor": -Infinity/);
      const [back] = await discoverPy(tmp.home);
      expect(back).toMatchObject({ instance_id: id, status: 'draining', load_metrics: { cpu_usage: NaN, peak: Infinity, floor: -Infinity } });
      // And Python's own heartbeat still reads our rewrite.
      const beat = await peer(tmp.home, ['heartbeat', '--id', id, '--updates', '{"status": "running"}']);
      expect(beat.code, beat.stderr).toBe(0);
      expect(pythonJson(await readFile(path, 'utf8'))).toMatchObject({ status: 'running', load_metrics: { cpu_usage: NaN } });
    });

    it('instance ids Python allows (a space, a colon): listed and shown by us, still listed by Python, removed when stale', async () => {
      await using tmp = await home();
      const spaced = await start(tmp.home, ['--id', 'marcus_my project']);
      const colon = await start(tmp.home, ['--id', 'marcus_a:b']);
      expect((await readdir(tmp.dir)).sort()).toEqual(['marcus_a:b.json', 'marcus_my project.json']);

      const listed = await listOurs(tmp.home);
      expect(listed.map((r) => r['instance_id']).sort()).toEqual(['marcus_a:b', 'marcus_my project']);
      expect(listed.find((r) => r['instance_id'] === 'marcus_a:b')).toMatchObject({ pid: colon.child.pid });
      const shown = await ours(tmp.home, ['show', 'marcus_my project', '--records']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ instance_id: 'marcus_my project', pid: spaced.child.pid });
      expect((await discoverPy(tmp.home)).map((r) => r['instance_id']).sort()).toEqual(['marcus_a:b', 'marcus_my project']);

      // Stale: its process is gone. Our discovery removes it (compare-and-delete under its lock), nothing else.
      spaced.child.kill('SIGKILL');
      await spaced.child.exited;
      expect((await listOurs(tmp.home)).map((r) => r['instance_id'])).toEqual(['marcus_a:b']);
      expect(await readdir(tmp.dir)).toEqual(['marcus_a:b.json']);
      // Our own writes stay strict.
      const store = await openJsonDirStore({ dir: tmp.dir });
      await expect(store.update('marcus_a:b', (r) => r)).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
    });
  });
}

describe('Python heartbeating in a tight loop (open "w" + json.dump, not atomic)', () => {
  it('is never missed by a listing and never reported removed by watch', async () => {
    await using tmp = await home();
    await mkdir(tmp.dir, { recursive: true });
    const env = { ...process.env, HOME: tmp.home };
    const seconds = 10;
    const python = new Child('python3', [PEER, 'register', '--heartbeat-loop', String(seconds)], { env });
    children.push(python);
    const [, id] = await python.line(/registered (.+)\n/);

    const watch = new Child(process.execPath, [CLI, 'watch', '--json'], { env: { ...env, MARCUS_REGISTRY_DIR: tmp.dir } });
    children.push(watch);
    await watch.line(/"type":"added"/);

    // Listings while Python rewrites: in this process (one registry, as a long-running client)
    // and fresh CLI processes (`preferred`, nothing remembered between runs).
    let listings = 0;
    let missed = 0;
    let cliRuns = 0;
    let cliMissed = 0;
    const done = python.line(/heartbeats (\d+)/, (seconds + 60) * 1000);
    let finished = false;
    void done.then(() => (finished = true));
    await using registry = await createRegistry({ store: `json:${tmp.dir}` });
    const inProcess = (async () => {
      while (!finished) {
        const found = await registry.discover();
        listings++;
        if (!found.some((r) => r.instance_id === id)) missed++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const viaCli = (async () => {
      while (!finished) {
        const result = await runToEnd(process.execPath, [CLI, 'preferred', '--records'], { env: { ...env, MARCUS_REGISTRY_DIR: tmp.dir } });
        cliRuns++;
        if (result.code !== 0 || (JSON.parse(result.stdout) as Json)['instance_id'] !== id) cliMissed++;
      }
    })();
    const [, beats] = await done;
    await Promise.all([inProcess, viaCli]);
    // The loop is over and the file complete: whatever watch reports now, it has seen the whole loop.
    await waitFor(async () => (await listOursOnce(tmp.dir)) === id);
    watch.kill('SIGTERM');
    await watch.closed; // its output read to the end: every line whole
    const events = watch.output
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; record: Json });
    const removed = events.filter((e) => e.type === 'removed').length;
    console.log(
      `tight loop: ${beats} Python heartbeats in ${seconds} s; in-process listings ${listings}, missed ${missed}; CLI preferred runs ${cliRuns}, missed ${cliMissed}; watch events ${events.length}, false removals ${removed}`,
    );
    expect(Number(beats)).toBeGreaterThan(0);
    expect(listings).toBeGreaterThan(0);
    expect(cliRuns).toBeGreaterThan(0);
    expect({ missed, cliMissed, removed }).toEqual({ missed: 0, cliMissed: 0, removed: 0 });
  }, 180_000);
});

async function listOursOnce(dir: string): Promise<string | undefined> {
  const result = await runToEnd(process.execPath, [CLI, 'preferred', '--records'], { env: { ...process.env, MARCUS_REGISTRY_DIR: dir } });
  return result.code === 0 ? ((JSON.parse(result.stdout) as Json)['instance_id'] as string) : undefined;
}
