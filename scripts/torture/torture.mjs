#!/usr/bin/env node
// The torture run (issue 7): real registrant processes heartbeating every 100 ms (the floor of heartbeat intervals),
// concurrent discoverer processes, a quarter of the registrants SIGKILLed at
// random moments, on the JSON-directory and SQLite stores one after the other.
// Everything stays in a temp directory on this machine. Uses the compiled code:
// run `npm run build` first (`npm run torture` does).
//
//   node scripts/torture/torture.mjs [--seconds 30] [--store json|sqlite|both]
//        [--registrants 32] [--discoverers 4] [--beat 100] [--json results.json]
//
// Exits 1 when any figure that must be zero is not (or nothing was discovered).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

const USAGE = 'usage: torture.mjs [--seconds N] [--store json|sqlite|both] [--registrants N] [--discoverers N] [--beat MS] [--json FILE]';

export function parseArgs(argv) {
  const options = { seconds: 30, store: 'both', registrants: 32, discoverers: 4, beat: 100, killFraction: 0.25, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    const positive = (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} must be a positive number\n${USAGE}`);
      return n;
    };
    switch (arg) {
      case '--seconds': options.seconds = positive(value()); break;
      case '--store': options.store = value(); break;
      case '--registrants': options.registrants = Math.round(positive(value())); break;
      case '--discoverers': options.discoverers = Math.round(positive(value())); break;
      case '--beat': options.beat = Math.round(positive(value())); break;
      case '--json': options.json = value(); break;
      case '--help': case '-h': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (!['json', 'sqlite', 'both'].includes(options.store)) throw new Error(`--store must be json, sqlite or both\n${USAGE}`);
  return options;
}

/** Spawns a node script whose stdout is one JSON event per line. */
function spawnEvents(script, args, onEvent) {
  const child = spawn(process.execPath, [join(here, script), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      event = { t: 'garbage', line };
    }
    onEvent(event);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  // The exit event can come before the last stdout lines: wait for both.
  const closed = Promise.all([exited, new Promise((resolve) => lines.on('close', resolve))]).then(([exit]) => exit);
  return { child, closed, stderr: () => stderr };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

async function runStore(kind, options) {
  const base = await mkdtemp(join(tmpdir(), `marcus-torture-${kind}-`));
  await chmod(base, 0o700);
  const uri = kind === 'json' ? `json:${join(base, 'services')}` : `sqlite:${join(base, 'registry.db')}`;
  const registrants = [];
  const discoverers = [];
  const discoveries = [];
  const discoveryErrors = [];
  const registrantErrors = [];
  const deletions = [];
  let stopping = false;

  try {
    // 1. Registrants: each reports its registration time itself, after register() resolved.
    for (let i = 0; i < options.registrants; i++) {
      const r = { id: undefined, pid: undefined, registeredAt: undefined, killSentAt: undefined, killConfirmedAt: undefined, exit: undefined, checks: 0 };
      let markRegistered;
      r.registered = new Promise((resolve) => (markRegistered = resolve));
      r.proc = spawnEvents('registrant.mjs', [uri, String(options.beat)], (event) => {
        switch (event.t) {
          case 'registered':
            Object.assign(r, { id: event.id, pid: event.pid, registeredAt: event.at });
            markRegistered();
            break;
          case 'missing':
          case 'self-heal':
            deletions.push({ id: r.id, what: event.t, at: event.at });
            break;
          case 'summary':
            r.checks = event.checks;
            break;
          default:
            registrantErrors.push({ id: r.id, event });
        }
      });
      r.proc.closed.then((exit) => {
        r.exit = exit;
        if (r.killSentAt !== undefined) r.killConfirmedAt = exit.at;
        else if (!stopping) registrantErrors.push({ id: r.id, event: { t: 'unexpected-exit', ...exit, stderr: r.proc.stderr() } });
        markRegistered();
      });
      registrants.push(r);
    }
    await withTimeout(Promise.all(registrants.map((r) => r.registered)), 120_000, 'registrants registering');
    const failed = registrants.filter((r) => r.registeredAt === undefined);
    if (failed.length > 0) throw new Error(`${failed.length} registrants did not register: ${failed[0].proc.stderr()}`);

    // 2. Discoverers, flat out.
    for (let i = 0; i < options.discoverers; i++) {
      let markReady;
      const ready = new Promise((resolve) => (markReady = resolve));
      const d = spawnEvents('discoverer.mjs', [uri, '5'], (event) => {
        if (event.t === 'ready') markReady();
        else if (event.t === 'd') discoveries.push(event);
        else if (event.t === 'derr') discoveryErrors.push(event);
        else discoveryErrors.push({ t: 'unexpected', event });
      });
      d.closed.then((exit) => {
        markReady();
        if (!stopping) discoveryErrors.push({ t: 'unexpected-exit', ...exit, stderr: d.stderr() });
      });
      discoverers.push({ ...d, ready });
    }
    await withTimeout(Promise.all(discoverers.map((d) => d.ready)), 60_000, 'discoverers starting');

    // 3. SIGKILL a quarter of the registrants at random moments in the middle 80 % of the run.
    const durationMs = options.seconds * 1000;
    const startedAt = Date.now();
    const victims = [...registrants].sort(() => Math.random() - 0.5).slice(0, Math.round(options.registrants * options.killFraction));
    const kills = victims.map(async (r) => {
      await sleep(durationMs * (0.1 + 0.8 * Math.random()));
      r.killSentAt = Date.now();
      r.proc.child.kill('SIGKILL');
      await r.proc.closed;
    });
    await sleep(Math.max(0, durationMs - (Date.now() - startedAt)));
    await Promise.all(kills);

    // 4. Stop: discoverers first (so every discovery is over before anyone else stops), then the survivors.
    stopping = true;
    for (const d of discoverers) d.child.kill('SIGTERM');
    await withTimeout(Promise.all(discoverers.map((d) => d.closed)), 30_000, 'discoverers stopping');
    const survivors = registrants.filter((r) => r.killSentAt === undefined);
    for (const r of survivors) r.proc.child.kill('SIGTERM');
    await withTimeout(Promise.all(survivors.map((r) => r.proc.closed)), 30_000, 'registrants stopping');
    for (const r of survivors) {
      if (r.exit?.code !== 0) registrantErrors.push({ id: r.id, event: { t: 'bad-exit', ...r.exit, stderr: r.proc.stderr() } });
    }
    return analyse(kind, options, registrants, discoveries, discoveryErrors, registrantErrors, deletions, Date.now() - startedAt);
  } finally {
    stopping = true;
    for (const p of [...registrants.map((r) => r.proc), ...discoverers]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  }
}

/**
 * The figures, from timestamps on one machine's clock:
 * - missed: (discovery, registrant) pairs where the registrant had registered
 *   before the discovery started, was not sent SIGKILL before it ended, and is
 *   absent from its result;
 * - killed listed: pairs where the kill was confirmed (the process reaped)
 *   before the discovery started, and the discovery still listed it;
 * - live entries deleted: a registrant found its own entry missing, or its
 *   heartbeat had to re-create it;
 * - corrupt reads: problems discoveries reported, except a killed registrant's
 *   stale entry left because the lock it died holding is still held (busy).
 */
function analyse(kind, options, registrants, discoveries, discoveryErrors, registrantErrors, deletions, elapsedMs) {
  const byId = new Map(registrants.map((r) => [r.id, r]));
  let missed = 0;
  let killedListed = 0;
  const killedListedIds = new Set();
  const missedExamples = [];
  let corrupt = 0;
  let busy = 0;
  const corruptExamples = [];
  let maxMs = 0;
  let totalMs = 0;
  let removed = 0;
  for (const d of discoveries) {
    const ids = new Set(d.ids);
    maxMs = Math.max(maxMs, d.e - d.s);
    totalMs += d.e - d.s;
    removed += d.r.length;
    for (const r of registrants) {
      const alive = r.registeredAt < d.s && (r.killSentAt === undefined || r.killSentAt > d.e);
      if (alive && !ids.has(r.id)) {
        missed++;
        if (missedExamples.length < 5) missedExamples.push({ id: r.id, discovery: d });
      }
      if (r.killConfirmedAt !== undefined && r.killConfirmedAt < d.s && ids.has(r.id)) {
        killedListed++;
        killedListedIds.add(r.id);
      }
    }
    for (const [entry, code, action] of d.p) {
      const id = entry.replace(/\.json$/, '');
      if (code === 'LOCK_BUSY' && byId.get(id)?.killSentAt !== undefined) busy++;
      else {
        corrupt++;
        if (corruptExamples.length < 5) corruptExamples.push({ entry, code, action });
      }
    }
  }
  const figures = {
    discoveries: discoveries.length,
    missedLive: missed,
    liveDeleted: deletions.length,
    killedStillListed: killedListed,
    corruptReads: corrupt,
    discoveryErrors: discoveryErrors.length,
    registrantErrors: registrantErrors.length,
  };
  return {
    store: kind,
    seconds: options.seconds,
    registrants: options.registrants,
    discoverers: options.discoverers,
    beatMs: options.beat,
    killed: registrants.filter((r) => r.killSentAt !== undefined).length,
    figures,
    info: {
      elapsedMs,
      discoveryMsMax: maxMs,
      discoveryMsMean: discoveries.length ? Math.round((totalMs / discoveries.length) * 10) / 10 : 0,
      staleRemoved: removed,
      killedListedDistinct: killedListedIds.size,
      staleLeftBusy: busy,
      selfChecks: registrants.reduce((n, r) => n + r.checks, 0),
    },
    examples: {
      missed: missedExamples,
      deleted: deletions.slice(0, 5),
      corrupt: corruptExamples,
      discoveryErrors: discoveryErrors.slice(0, 5),
      registrantErrors: registrantErrors.slice(0, 5),
    },
  };
}

export function mustBeZero(result) {
  const f = result.figures;
  return [f.missedLive, f.liveDeleted, f.killedStillListed, f.corruptReads, f.discoveryErrors, f.registrantErrors].every((n) => n === 0) && f.discoveries > 0;
}

function table(results) {
  const rows = [
    ['figure', ...results.map((r) => r.store)],
    ['discoveries run', ...results.map((r) => r.figures.discoveries)],
    ['live instances missed by a discovery', ...results.map((r) => r.figures.missedLive)],
    ['live entries deleted', ...results.map((r) => r.figures.liveDeleted)],
    ['killed entries listed after the kill', ...results.map((r) => r.figures.killedStillListed)],
    ['corrupt reads (problems reported)', ...results.map((r) => r.figures.corruptReads)],
    ['discoveries that threw', ...results.map((r) => r.figures.discoveryErrors)],
    ['registrant errors', ...results.map((r) => r.figures.registrantErrors)],
    ['  registrants / killed', ...results.map((r) => `${r.registrants} / ${r.killed}`)],
    ['  stale entries removed', ...results.map((r) => r.info.staleRemoved)],
    ['  stale left (lock held by the dead)', ...results.map((r) => r.info.staleLeftBusy)],
    ['  own-entry checks by registrants', ...results.map((r) => r.info.selfChecks)],
    ['  discovery ms, mean / max', ...results.map((r) => `${r.info.discoveryMsMean} / ${r.info.discoveryMsMax}`)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ')).join('\n');
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (!existsSync(join(root, 'dist/index.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (`npm run torture` does)\n');
    process.exit(2);
  }
  const kinds = options.store === 'both' ? ['json', 'sqlite'] : [options.store];
  const results = [];
  for (const kind of kinds) {
    process.stderr.write(`torture: ${kind} store, ${options.registrants} registrants (beat ${options.beat} ms), ${options.discoverers} discoverers, ${options.seconds} s…\n`);
    results.push(await runStore(kind, options));
  }
  const ok = results.every(mustBeZero);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform, date: new Date().toISOString() };
  process.stdout.write(`${table(results)}\n\n${ok ? 'PASS: every figure is zero' : 'FAIL: a figure is not zero'} (${machine.cpus} cores, node ${machine.node}, ${machine.date})\n`);
  if (!ok) {
    for (const r of results) if (!mustBeZero(r)) process.stdout.write(`${r.store} examples: ${JSON.stringify(r.examples, null, 2)}\n`);
  }
  if (options.json) await writeFile(options.json, `${JSON.stringify({ ok, machine, options, results }, null, 2)}\n`);
  process.exit(ok ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    process.stderr.write(`torture failed to run: ${error?.stack ?? error}\n`);
    process.exit(2);
  });
}
