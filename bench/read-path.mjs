// In-process discovery against the floor of reading the same files (issue 17):
//   - the C loop: readdir + open + read + close of every file, no parsing
//     (bench/read-loop.c, compiled here with `cc -O2`; without a C compiler the
//     synchronous Node loop below stands in, and the results say so);
//   - a synchronous Node loop: readdirSync + readFileSync of every file;
//   - discover() of entries the registry has not read before (a new registry
//     object each run: nothing cached), with a timer-lag probe measuring the
//     longest stretch the event loop was held during it;
//   - discover() of a settled registry (the same object again, files older than 2 s);
//   - the seed's Python discovery in-process (bench/python-discover.py over
//     our peer of service_registry.py), when python3 is present.
// All over one directory per N, alternated round by round. The C loop and
// Python run from a spawner process (spawner.mjs): a fork of this one would tax
// what it times next with a page fault per page it writes. Before each section
// it times, the event loop turns (settle): V8 runs a scavenge as a task posted
// when the young generation fills, and a task left by one section would run at
// the next one's first yield, charged to it (ADR 0033).
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry } from '../dist/index.js';
import { summarize } from './harness.mjs';
import { startSpawner } from './spawner.mjs';
import { PYTHON_PEER } from './startup.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Compiles the C loop into `scratch`; undefined (and why) when there is no C compiler. */
export function compileReadLoop(scratch) {
  const out = join(scratch, 'read-loop');
  const cc = spawnSync('cc', ['-O2', '-o', out, join(repo, 'bench/read-loop.c')], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return { binary: undefined, why: cc.error ? String(cc.error.message) : cc.stderr.trim() };
  return { binary: out };
}

/** The synchronous Node read loop: readdirSync + readFileSync of every *.json file. */
export function syncReadAll(dir) {
  let bytes = 0;
  for (const name of readdirSync(dir)) if (name.endsWith('.json')) bytes += readFileSync(join(dir, name)).length;
  return bytes;
}

/** A few turns of the event loop: what the last measurement left to run (V8's GC tasks) runs now, untimed. */
export async function settle() {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs `fn` with a 1 ms interval timer; resolves with its duration and the longest gap between ticks beyond 1 ms. */
async function withLagProbe(fn) {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const end = performance.now();
  worst = Math.max(worst, end - last - 1); // a stretch held up to the end
  return { elapsed: end - t0, lag: Math.max(0, worst) };
}

/**
 * @param {{ home: string, dir: string, n: number }} seeded a registry of n live entries (startup.mjs seedHome)
 * @returns {Promise<import('./harness.mjs').Figure[]>}
 */
export async function benchReadPath(seeded, { rounds, warmups, cLoop, python }) {
  const { dir, n } = seeded;
  const meta = (group, name) => ({ name: `${name} N=${n}`, group, store: 'json', n });
  const samples = { c: [], sync: [], fresh: [], lag: [], settled: [], py: [] };
  // The baselines run from a spawner process: this one is never forked between its measurements (spawner.mjs).
  const spawner = cLoop || python ? startSpawner() : undefined;
  let settled;
  try {
    settled = await createRegistry({ store: `json:${dir}`, settings: { exitHooks: false } });
    // Files younger than 2 s are never cached (SETTLED_MS): wait, then fill the cache.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    if ((await settled.discover()).length !== n) throw new Error(`settled registry found the wrong count at N=${n}`);
    for (let round = 0; round < warmups + rounds; round++) {
      const timed = round >= warmups;
      if (cLoop) {
        // Three passes in one process; their median is this round's figure.
        const passes = (await spawner.run(cLoop, [dir, '3'])).trim().split('\n').map((line) => line.split(' ').map(Number));
        for (const [, files] of passes) if (files !== n) throw new Error(`C loop read ${files} files, expected ${n}`);
        if (timed) samples.c.push(passes.map(([ms]) => ms).sort((a, b) => a - b)[1]);
      }
      await settle();
      let t0 = performance.now();
      syncReadAll(dir);
      if (timed) samples.sync.push(performance.now() - t0);

      const fresh = await createRegistry({ store: `json:${dir}`, settings: { exitHooks: false } });
      await settle();
      let found;
      const probe = await withLagProbe(async () => {
        found = await fresh.discover();
      });
      await fresh.close();
      if (found.length !== n) throw new Error(`fresh discover found ${found.length}, expected ${n}`);
      if (timed) {
        samples.fresh.push(probe.elapsed);
        samples.lag.push(probe.lag);
      }

      await settle();
      t0 = performance.now();
      const again = await settled.discover();
      if (timed) samples.settled.push(performance.now() - t0);
      if (again.length !== n) throw new Error(`settled discover found ${again.length}, expected ${n}`);

      if (python && timed) {
        const out = await spawner.run('python3', [join(repo, 'bench/python-discover.py'), PYTHON_PEER, '1', String(n)], { ...process.env, HOME: seeded.home });
        samples.py.push(Number(out.trim()));
      }
    }
  } finally {
    spawner?.close();
    await settled?.close();
  }
  const figures = [];
  if (cLoop) figures.push(summarize(meta('c-loop', 'C read loop (readdir+open+read+close)'), samples.c));
  figures.push(summarize(meta('sync-read', 'node sync read loop'), samples.sync));
  figures.push(summarize(meta('discover-fresh', 'json discover, nothing cached'), samples.fresh));
  figures.push(summarize(meta('discover-lag', 'event-loop lag during it (longest stretch)'), samples.lag));
  figures.push(summarize(meta('discover-settled', 'json discover, settled'), samples.settled));
  if (python) figures.push(summarize(meta('python-discover-inproc', 'python discover_services() in-process'), samples.py));
  return figures;
}
