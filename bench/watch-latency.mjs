// Watch latency per store: the time from a change (update() resolving in one
// registry) to its 'updated' event in a watch of another registry on another
// store object over the same data (another connection, another etcd client,
// the same directory), as another process would see it. Loopback only.
//
//   npm run build && node bench/watch-latency.mjs [--quick] [--stores json,sqlite,etcd] [--changes N]
//
// As a module: `await watchLatency({ quick, stores, changes })` returns the rows.
// The sweep is set to a minute so that only the native path (fs.watch,
// PRAGMA data_version polling, the etcd watch) is measured.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRegistry } from '../dist/index.js';
import { startEtcd } from './etcd.mjs';

/** @typedef {{ store: string, path: string, changes: number, median: number, p99: number, mean: number, min: number, max: number }} LatencyRow */

const PATHS = { json: 'fs.watch, 20 ms debounce', sqlite: 'data_version poll, 100 ms', etcd: 'prefix watch', memory: 'direct call' };
const HANG_GUARD_MS = 10_000;

/** An exit-hook-free registry for this process. */
async function registryOn(store) {
  const { ExitHooks } = await import('../dist/app/exit-hooks.js');
  return createRegistry({ store, exitHooks: new ExitHooks(), settings: { exitHooks: false } });
}

/** Opens the writer's and the watcher's store URIs for one kind, and what to clean up. */
async function storeUris(kind) {
  if (kind === 'etcd') {
    const etcd = await startEtcd();
    const uri = `etcd://${etcd.hosts}/marcus-bench/watch-${process.pid}/`;
    return { uri, cleanup: () => etcd.stop() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'marcus-watch-bench-'));
  const uri = kind === 'json' ? `json:${join(dir, 'services')}` : `sqlite:${join(dir, 'registry.db')}`;
  return { uri, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Milliseconds from each update() resolving to the watcher's 'updated' event carrying it. */
async function measureStore(kind, { warmup, changes }) {
  const { uri, cleanup } = await storeUris(kind);
  const writer = await registryOn(uri);
  const watcher = await registryOn(uri);
  const emitter = watcher.watchEvents({ sweepIntervalMs: 60_000 });
  let waiting;
  emitter.on('updated', (event) => {
    if (waiting && event.record.status === waiting.status) waiting.resolve(performance.now());
  });
  emitter.on('error', (error) => waiting?.reject(error));
  try {
    await writer.register({ mcpCommand: 'node bench.js', instanceId: 'marcus_bench_watch', heartbeatIntervalMs: false });
    await new Promise((resolve) => emitter.once('added', resolve));
    const samples = [];
    for (let i = 0; i < warmup + changes; i++) {
      const status = `s${i}`;
      const seen = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${kind}: no event for change ${i} within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
        waiting = { status, resolve: (t) => (clearTimeout(timer), resolve(t)), reject };
      });
      // Changes arrive at random moments, not in step with a poll or debounce timer.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
      await writer.update({ status });
      const changed = performance.now();
      const at = await seen;
      if (i >= warmup) samples.push(Math.max(0, at - changed));
    }
    return summarize(kind, samples);
  } finally {
    await emitter.close();
    await watcher.close();
    await writer.close();
    await cleanup();
  }
}

function summarize(store, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { store, path: PATHS[store], changes: sorted.length, median: at(0.5), p99: at(0.99), mean, min: sorted[0], max: sorted.at(-1) };
}

/**
 * Measures every store in `stores` (default json, sqlite, etcd) and returns one
 * row each. `quick`: 5 warm-up and 30 measured changes; else 20 and 300.
 * @returns {Promise<LatencyRow[]>}
 */
export async function watchLatency({ quick = false, stores = ['json', 'sqlite', 'etcd'], changes } = {}) {
  const plan = { warmup: quick ? 5 : 20, changes: changes ?? (quick ? 30 : 300) };
  const rows = [];
  for (const kind of stores) rows.push(await measureStore(kind, plan));
  return rows;
}

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** @param {LatencyRow[]} rows */
export function latencyTable(rows) {
  const headers = ['store', 'path', 'changes', 'median ms', 'p99 ms', 'mean ms', 'max ms'];
  const cells = rows.map((r) => [r.store, r.path, String(r.changes), ms(r.median), ms(r.p99), ms(r.mean), ms(r.max)]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, stores: { type: 'string', default: 'json,sqlite,etcd' }, changes: { type: 'string' } },
  });
  const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
  const rows = await watchLatency({ quick: values.quick, stores, changes: values.changes ? Number(values.changes) : undefined });
  process.stdout.write(`watch latency: update() resolved → 'updated' event in another store object (${process.platform}, node ${process.versions.node})\n`);
  process.stdout.write(`${latencyTable(rows)}\n`);
}
