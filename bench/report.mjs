#!/usr/bin/env node
// Markdown tables from a results file of `npm run bench`, as docs/benchmarks.md shows them:
//   node bench/report.mjs bench/results/<timestamp>.json [before.json]
// With a second file (the same benchmark on older code), a before/after table too.
import { readFileSync } from 'node:fs';

const [file, beforeFile] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/report.mjs RESULTS.json [BEFORE.json]');
const load = (path) => JSON.parse(readFileSync(path, 'utf8'));
const run = load(file);
const before = beforeFile ? load(beforeFile) : undefined;

const ms = (v) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const md = (headers, rows) => [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const out = (text = '') => process.stdout.write(`${text}\n`);

const m = run.machine;
out(`Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}; ${m.date}; load average ${m.loadavgAtStart.join(' ')} at start, ${m.loadavgAtEnd?.join(' ')} at end${m.quick ? ' (quick mode)' : ''}.`);
out();
out('All figures, milliseconds (median / p99 over the runs counted):');
out();
out(md(['case', 'median', 'p99', 'runs'], run.figures.map((f) => [f.name, ms(f.median), ms(f.p99), f.samples])));
out();

const ops = ['discover', 'raw-read', 'register', 'heartbeat', 'raw-write', 'unregister'];
const sizes = [...new Set(run.figures.filter((f) => ops.includes(f.group)).map((f) => f.n))].sort((a, b) => a - b);
const stores = [...new Set(run.figures.filter((f) => ops.includes(f.group)).map((f) => f.store))];
out('Median by N (ms):');
out();
const rows = [];
for (const store of stores) {
  for (const op of ops) {
    const cells = sizes.map((n) => run.figures.find((f) => f.store === store && f.group === op && f.n === n));
    if (cells.every((c) => c === undefined)) continue;
    const first = cells[0];
    const last = cells.at(-1);
    const growth = first && last ? `${(last.median / first.median).toFixed(1)}×` : '—';
    rows.push([`${store} ${op}`, ...cells.map((c) => ms(c?.median)), growth]);
  }
}
out(md(['case', ...sizes.map((n) => `N=${n}`), `N=${sizes.at(-1)} ÷ N=${sizes[0]}`], rows));
out();

if (run.ratios?.length) {
  out(md(['ratio (same run)', 'medians', 'p99s'], run.ratios.map((r) => [r.name, `${r.median.toFixed(2)}×`, `${r.p99.toFixed(2)}×`])));
  out();
}
if (run.targets?.length) {
  out(md(['target', 'goal', 'measured (median)', 'verdict'], run.targets.map((t) => [t.name, t.goal, t.measured, t.met ? 'met' : `missed by ${((t.value / t.limit - 1) * 100).toFixed(0)}%`])));
  out();
}
if (run.watch?.length) {
  out(md(['watch latency', 'path', 'changes', 'median', 'p99'], run.watch.map((w) => [w.store, w.path, w.changes, ms(w.median), ms(w.p99)])));
  out();
}
if (before) {
  out(`Before/after (medians, ms; before = the same benchmark on older code, run at ${before.machine.date}):`);
  out();
  const pairs = run.figures
    .map((f) => [f, before.figures.find((b) => b.name === f.name)])
    .filter(([, b]) => b !== undefined)
    .map(([f, b]) => [f.name, ms(b.median), ms(f.median), `${(b.median / f.median).toFixed(1)}×`]);
  out(md(['case', 'before', 'after', 'speed-up'], pairs));
  out();
}
