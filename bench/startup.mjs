// Whole processes, as a user meets them (issue 17): each case is one process
// from spawn to exit, the cases alternated round by round so a burst of noise
// from other processes hits all alike; medians and p99 per case.
//   - `node -e 0`: the floor of any Node program on this machine;
//   - importing the library (`import 'marcus-registry'`, the package's own exports map);
//   - a registrant: import, createRegistry(), register(), exit (the exit hook unregisters);
//   - `marcus-registry list --json` on a JSON registry of 0, 10 and 1 000 live entries;
//   - the seed's Python registry over the same directory: our stdlib peer of
//     lwgray/marcus src/core/service_registry.py (test/fixtures/marcus_service_registry.py,
//     psutil when it imports), `discover` as a whole process.
import { performance } from 'node:perf_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eachBounded } from './stores.mjs';
import { benchRecord } from './records.mjs';
import { summarize } from './harness.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
export const PYTHON_PEER = join(repo, 'test/fixtures/marcus_service_registry.py');
const CLI_MAIN = join(repo, 'dist/interfaces/cli/main.cjs');

/** The Python interpreter and whether psutil imports in it; undefined without python3. */
export function pythonInfo() {
  const probe = spawnSync('python3', ['-c', 'import sys\ntry:\n import psutil; print(sys.version.split()[0], psutil.__version__)\nexcept ImportError:\n print(sys.version.split()[0], "-")'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  const [version, psutil] = probe.stdout.trim().split(' ');
  return { python: version, psutil: psutil === '-' ? undefined : psutil };
}

/** Peer ids: Python's discover globs marcus_*.json. */
export const peerId = (i) => `marcus_bench_${String(i).padStart(5, '0')}`;

/** A HOME whose ~/.marcus/services (the Python registry's directory, and our list's) holds `n` live entries. */
export async function seedHome(root, n, startTimeMs) {
  const home = join(root, `home-${n}`);
  const dir = join(home, '.marcus', 'services');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const ids = Array.from({ length: n }, (_, i) => peerId(i));
  await eachBounded(ids, 64, (id) => writeFile(join(dir, `${id}.json`), `${JSON.stringify(benchRecord(id, { startTimeMs }), null, 2)}\n`, { mode: 0o600 }));
  return { home, dir, n };
}

/** Runs a process to its end; resolves with its stdout, rejects unless it exits 0. */
function runProcess(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repo, ...options, env: { ...process.env, NODE_OPTIONS: '', ...options.env } });
    const out = [];
    let err = '';
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const count = (expected) => (out) => {
  const got = JSON.parse(out).length;
  if (got !== expected) throw new Error(`listed ${got} entries, expected ${expected}`);
};

/**
 * The cases, each { name, group, n?, run(): Promise<void> }. `homes` are seeded
 * registries by N; `scratch` is an empty 0700 directory for the registrant.
 */
export function startupCases({ homes, scratch, python }) {
  const node = (args, check, env) => async () => {
    const out = await runProcess(process.execPath, args, { env });
    check?.(out);
  };
  const registrant = [
    "import { createRegistry } from 'marcus-registry';",
    `const registry = await createRegistry({ store: ${JSON.stringify(`json:${scratch}`)} });`,
    "await registry.register({ mcpCommand: 'node /opt/marcus/server.js --stdio', projectName: 'bench' });",
    'process.exit(0);',
  ].join('\n');
  const cases = [
    { name: 'node -e 0', group: 'proc-node-floor', run: node(['-e', '0']) },
    { name: "import 'marcus-registry'", group: 'proc-lib-import', run: node(['--input-type=module', '-e', "import 'marcus-registry'"]) },
    { name: 'registrant (import, createRegistry, register, exit)', group: 'proc-registrant', run: node(['--input-type=module', '-e', registrant]) },
  ];
  for (const home of homes) {
    cases.push({ name: `cli list --json N=${home.n}`, group: 'proc-cli-list', n: home.n, run: node([CLI_MAIN, '--store', `json:${home.dir}`, 'list', '--json'], count(home.n)) });
    if (python) {
      cases.push({
        name: `python discover (whole process) N=${home.n}`,
        group: 'proc-python-discover',
        n: home.n,
        run: async () => count(home.n)(await runProcess('python3', [PYTHON_PEER, 'discover'], { env: { HOME: home.home } })),
      });
    }
  }
  return cases;
}

/** Runs every case once per round, `warmups` rounds untimed then `rounds` timed; one Figure per case. */
export async function measureRounds(cases, { rounds, warmups }) {
  const samples = cases.map(() => []);
  for (let round = 0; round < warmups + rounds; round++) {
    for (const [i, c] of cases.entries()) {
      const t0 = performance.now();
      await c.run();
      if (round >= warmups) samples[i].push(performance.now() - t0);
    }
  }
  return cases.map((c, i) => summarize({ name: c.name, group: c.group, ...(c.n === undefined ? {} : { n: c.n }) }, samples[i]));
}
