// Measuring and reporting: tinybench runs each case (warm-up first), this keeps
// median and p99 in milliseconds and prints them as a table.
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';

/**
 * @typedef {{ time: number, iterations: number, warmupTime: number, warmupIterations: number }} Budget
 * @typedef {{ name: string, group: string, store?: string, n?: number, median: number, p99: number, mean: number, min: number, max: number, samples: number }} Figure
 */

/** Full runs sample each case for about a second (at least 20 runs); quick runs for 150 ms (at least 5). */
export function budget(quick) {
  return quick
    ? { time: 150, iterations: 5, warmupTime: 30, warmupIterations: 2 }
    : { time: 1000, iterations: 20, warmupTime: 200, warmupIterations: 5 };
}

/**
 * Runs one case: `fn` is timed; `hooks.beforeEach`/`afterEach` run around each
 * iteration outside the timed part (setup of prune's stale entries, a register
 * before each timed unregister). Returns a Figure in milliseconds.
 */
export async function measure(meta, fn, hooks = {}, limits) {
  const bench = new Bench({ ...limits, warmup: true, throws: true, retainSamples: false });
  bench.add(meta.name, fn, hooks);
  await bench.run();
  const task = bench.tasks[0];
  const result = task?.result;
  if (!result || result.state !== 'completed') {
    throw new Error(`benchmark ${meta.name} did not complete: ${String(result?.error ?? result?.state)}`);
  }
  const l = result.latency;
  return { ...meta, median: l.p50, p99: l.p99, mean: l.mean, min: l.min, max: l.max, samples: l.samplesCount };
}

/**
 * Measures two cases that are to be compared, alternating them run by run (after
 * the same warm-up), so a burst of noise from other processes hits both alike
 * and their ratio holds. Returns [figureA, figureB].
 */
export async function measurePair(metaA, fnA, metaB, fnB, limits) {
  const a = [];
  const b = [];
  const timed = async (fn, into) => {
    const t0 = performance.now();
    await fn();
    into?.push(performance.now() - t0);
  };
  const warmupEnd = performance.now() + limits.warmupTime;
  for (let i = 0; i < limits.warmupIterations || performance.now() < warmupEnd; i++) {
    await timed(fnA);
    await timed(fnB);
  }
  const end = performance.now() + limits.time;
  while (a.length < limits.iterations || performance.now() < end) {
    await timed(fnA, a);
    await timed(fnB, b);
  }
  return [summarize(metaA, a), summarize(metaB, b)];
}

/** Median (interpolated), p99 (nearest rank), mean, min and max of samples in ms. */
export function summarize(meta, samples) {
  const sorted = [...samples].sort((x, y) => x - y);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const p99 = sorted[Math.min(n - 1, Math.ceil(0.99 * n) - 1)];
  return { ...meta, median, p99, mean: sorted.reduce((x, y) => x + y, 0) / n, min: sorted[0], max: sorted[n - 1], samples: n };
}

const ms = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** A plain-text table with right-aligned numbers. */
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function figureRow(figure) {
  return [figure.name, ms(figure.median), ms(figure.p99), ms(figure.mean), figure.samples];
}

export const FIGURE_HEADERS = ['case', 'median ms', 'p99 ms', 'mean ms', 'runs'];

export { ms as formatMs };

/**
 * Settings of this shell that tax every Node process start and are not the
 * registry's: NODE_EXTRA_CA_CERTS makes Node read and parse a certificate
 * bundle before it runs any JavaScript (about 40 ms per start on the 2-core
 * machines here, against ~55 ms for all the rest of `node -e 0`). Whole-process
 * figures are taken without them, for the baseline and for us alike, unless
 * `--keep-env` is given; the results say which.
 */
export const START_UP_TAXES = ['NODE_EXTRA_CA_CERTS'];

/** Removes START_UP_TAXES from this process's environment (children inherit it); returns what was removed. */
export function dropStartUpTaxes(keep) {
  const removed = START_UP_TAXES.filter((name) => process.env[name] !== undefined);
  if (!keep) for (const name of removed) delete process.env[name];
  return keep ? [] : removed;
}
