#!/usr/bin/env node
import { performance } from 'node:perf_hooks';
// `npm run bench`: the registry's figures for each store, with baselines measured
// in the same run. Options:
//   --stores json,sqlite,etcd   which stores (default: all three)
//   --sizes 10,100,1000,10000   how many live entries discovery sees (default: these)
//   --quick                     short budgets (a smoke run, not figures to quote)
//   --no-cli  --no-prune  --no-watch  --no-startup  --no-read-path  --no-connect   leave a part out
//   --startup-sizes 0,10,1000   registries the whole-process cases list (default: these)
//   --dir DIR                   scratch space (default: .tmp/ in the repository, on its disk)
// Prints tables and writes bench/results/<timestamp>.json. See docs/benchmarks.md.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release, platform } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultLivenessProbe } from '../dist/adapters/liveness/select-liveness.js';
import { rawAtomicWrite, rawReadAll } from './baselines.mjs';
import { emptyRegistry, listArgs, nodeFloorArgs, runNode } from './cli.mjs';
import { budget, dropStartUpTaxes, FIGURE_HEADERS, figureRow, formatMs, measure, measurePair, summarize, table } from './harness.mjs';
import { liveId, staleId } from './records.mjs';
import { openFixture, openRegistry, removeScratch, STORE_KINDS } from './stores.mjs';
import { benchConnect } from './connect.mjs';
import { benchReadPath, compileReadLoop } from './read-path.mjs';
import { measureRounds, pythonInfo, seedHome, startupCases } from './startup.mjs';
import { evaluateTargets, ratios } from './targets.mjs';
import { runWatchLatency } from './watch.mjs';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: STORE_KINDS.join(',') },
    sizes: { type: 'string', default: '10,100,1000,10000' },
    quick: { type: 'boolean', default: false },
    'no-cli': { type: 'boolean', default: false },
    'no-prune': { type: 'boolean', default: false },
    'no-watch': { type: 'boolean', default: false },
    'no-startup': { type: 'boolean', default: false },
    'no-read-path': { type: 'boolean', default: false },
    'no-connect': { type: 'boolean', default: false },
    'startup-sizes': { type: 'string', default: '0,10,1000' },
    dir: { type: 'string' },
    'keep-env': { type: 'boolean', default: false },
  },
});

const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of stores) if (!STORE_KINDS.includes(s)) throw new Error(`unknown store ${s} (choose from ${STORE_KINDS.join(', ')})`);
const sizes = [...new Set(values.sizes.split(',').map(Number))].sort((a, b) => a - b);
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes takes positive integers');
const limits = budget(values.quick);
const PRUNE_COUNT = 1000;
const repo = fileURLToPath(new URL('..', import.meta.url));

const log = (text = '') => process.stdout.write(`${text}\n`);
const figures = [];
const record = (figure) => {
  figures.push(figure);
  log(`  ${figure.name.padEnd(34)} median ${formatMs(figure.median).padStart(7)} ms   p99 ${formatMs(figure.p99).padStart(7)} ms   (${figure.samples} runs)`);
  return figure;
};

const scratchParent = values.dir ?? join(repo, '.tmp');
await mkdir(scratchParent, { recursive: true });
const root = await mkdtemp(join(scratchParent, 'bench-'));
const machine = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${platform()} ${release()}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadavgAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  quick: values.quick,
  scratch: root,
  // Whole processes run without these (harness.mjs START_UP_TAXES), unless --keep-env.
  environmentRemoved: dropStartUpTaxes(values['keep-env']),
};
log(`marcus-registry benchmarks — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadavgAtStart.join(' ')}${values.quick ? ' (quick)' : ''}`);
if (machine.environmentRemoved.length > 0) log(`(without ${machine.environmentRemoved.join(', ')}, which this shell sets and which taxes every Node start alike; --keep-env keeps it)`);

const startTimeMs = (await (await defaultLivenessProbe()).startOf(process.pid))?.timeMs;
if (startTimeMs === undefined) throw new Error('cannot read this process start time: live records need it');

try {
  if (!values['no-startup']) await benchStartup();
  if (!values['no-read-path']) await benchReads();
  if (!values['no-connect']) (await benchConnect({ root, quick: values.quick, log, startTimeMs })).forEach(record);
  for (const kind of stores) await benchStore(kind);
  if (!values['no-cli']) await benchCli();
} finally {
  await removeScratch(root);
}

const computed = ratios(figures);
const targets = evaluateTargets(figures, computed);
machine.loadavgAtEnd = loadavg().map((l) => Number(l.toFixed(2)));

log('\nAll figures (milliseconds)');
log(table(FIGURE_HEADERS, figures.map(figureRow)));
if (computed.length) {
  log('\nRatios (medians, measured in the same run)');
  log(table(['ratio', 'value', 'p99 ratio'], computed.map((r) => [r.name, `${r.median.toFixed(2)}×`, `${r.p99.toFixed(2)}×`])));
}
if (targets.length) {
  log('\nTargets');
  log(table(['target', 'goal', 'measured', 'verdict'], targets.map((t) => [t.name, t.goal, t.measured, t.met ? 'met' : 'MISSED'])));
}
log(`\nload average at start ${machine.loadavgAtStart.join(' ')}, at end ${machine.loadavgAtEnd.join(' ')}`);

const watch = values['no-watch'] ? undefined : await runWatchLatency(repo, { quick: values.quick, stores }, log);

const resultsDir = join(repo, 'bench', 'results');
await mkdir(resultsDir, { recursive: true });
const out = join(resultsDir, `${machine.date.replace(/[:.]/g, '-')}.json`);
await writeFile(out, `${JSON.stringify({ machine, figures, ratios: computed, targets, watch }, null, 2)}\n`);
log(`\nresults: ${out}`);

async function benchStore(kind) {
  log(`\n${kind}`);
  const fixture = await openFixture(kind, root, startTimeMs);
  const registry = await openRegistry(fixture.uri);
  const registerOptions = { instanceId: 'bench_own', mcpCommand: 'node /opt/marcus/server.js --stdio', projectName: 'bench', heartbeatIntervalMs: 3_600_000 };
  try {
    let seeded = 0;
    for (const n of sizes) {
      await fixture.seedLive(Array.from({ length: n - seeded }, (_, i) => liveId(seeded + i)));
      seeded = n;
      const found = await registry.discover();
      if (found.length !== n) throw new Error(`${kind}: discovery found ${found.length} live entries, expected ${n}`);
      const meta = (op, extra = {}) => ({ name: `${kind} ${op} N=${n}`, group: op, store: kind, n, ...extra });

      if (kind === 'json') {
        const pair = await measurePair(meta('discover'), () => registry.discover(), { ...meta('raw-read'), name: `json raw read loop N=${n}` }, () => rawReadAll(fixture.dir), limits);
        pair.forEach(record);
      } else {
        record(await measure(meta('discover'), () => registry.discover(), {}, limits));
      }

      record(await measure(meta('register'), () => registry.register(registerOptions), { afterEach: () => registry.unregister().then(() => undefined) }, limits));

      await registry.register(registerOptions);
      if (kind === 'json') {
        const bytes = `${JSON.stringify(registry.registered, null, 2)}\n`;
        const path = join(fixture.dir, 'baseline.raw'); // not <id>.json: discovery ignores it
        const raw = { ...meta('raw-write'), name: `json raw write-file-atomic N=${n}` };
        (await measurePair(meta('heartbeat'), () => registry.heartbeat(), raw, () => rawAtomicWrite(path, bytes), limits)).forEach(record);
      } else {
        record(await measure(meta('heartbeat'), () => registry.heartbeat(), {}, limits));
      }
      await registry.unregister();

      record(await measure(meta('unregister'), () => registry.unregister(), { beforeEach: () => registry.register(registerOptions).then(() => undefined) }, limits));
    }

    if (!values['no-prune']) {
      const pruner = await openRegistry(fixture.pruneUri);
      const ids = Array.from({ length: PRUNE_COUNT }, (_, i) => staleId(i));
      try {
        const pruneLimits = { ...limits, time: values.quick ? 0 : 1, iterations: values.quick ? 3 : 15, warmupTime: 0, warmupIterations: 1 };
        record(
          await measure(
            { name: `${kind} prune ${PRUNE_COUNT} stale`, group: 'prune', store: kind, n: PRUNE_COUNT },
            async () => {
              const report = await pruner.prune();
              if (report.removed.length !== PRUNE_COUNT) throw new Error(`${kind}: prune removed ${report.removed.length}, expected ${PRUNE_COUNT} (kept ${report.kept})`);
            },
            { beforeEach: () => fixture.seedStale(ids) },
            pruneLimits,
          ),
        );
      } finally {
        await pruner.close();
      }
    }
  } finally {
    await registry.close();
    await fixture.close();
  }
}

/** Whole processes (bench/startup.mjs): node -e 0, import, a registrant, list and Python's discover at 0/10/1000. */
async function benchStartup() {
  const python = pythonInfo();
  machine.python = python ?? 'not found: no Python baseline';
  log(`\nwhole processes (python3 ${python ? `${python.python}, psutil ${python.psutil ?? 'not installed'}` : 'not found'})`);
  const startupSizes = values['startup-sizes'].split(',').map(Number);
  const homes = [];
  for (const n of startupSizes) homes.push(await seedHome(join(root, 'startup'), n, startTimeMs));
  const scratch = await emptyRegistry(join(root, 'registrant'));
  const cases = startupCases({ homes, scratch, python });
  (await measureRounds(cases, { rounds: values.quick ? 5 : 30, warmups: values.quick ? 1 : 3 })).forEach(record);
}

/** In-process discovery against the C read loop (bench/read-path.mjs), at every size. */
async function benchReads() {
  const compiled = compileReadLoop(root);
  machine.cLoop = compiled.binary ? 'cc -O2 bench/read-loop.c' : `no C compiler (${compiled.why}): the synchronous Node loop is the floor`;
  log(`\nread path (${machine.cLoop})`);
  const python = pythonInfo() !== undefined;
  for (const n of sizes) {
    const seeded = await seedHome(join(root, 'read-path'), n, startTimeMs);
    const rounds = values.quick ? 5 : n >= 10_000 ? 10 : 30;
    (await benchReadPath(seeded, { rounds, warmups: values.quick ? 1 : 3, cLoop: compiled.binary, python })).forEach(record);
  }
}

/** Alternates the two commands so both see the same noise; medians and p99 of each. */
async function benchCli() {
  log('\ncli');
  const dir = await emptyRegistry(root);
  const runs = values.quick ? 8 : 40;
  const warmups = values.quick ? 1 : 3;
  const floor = [];
  const list = [];
  for (let i = 0; i < warmups + runs; i++) {
    const t0 = performance.now();
    await runNode(nodeFloorArgs);
    const t1 = performance.now();
    await runNode(listArgs(dir), '[]');
    const t2 = performance.now();
    if (i >= warmups) {
      floor.push(t1 - t0);
      list.push(t2 - t1);
    }
  }
  record(summarize({ name: 'node -e 0', group: 'node-floor' }, floor));
  record(summarize({ name: 'cli list --json (empty json dir)', group: 'cli-list' }, list));
}
