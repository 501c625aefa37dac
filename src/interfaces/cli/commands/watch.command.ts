import type { RegistryEvent } from '../../../domain/changes.js';
import type { ServiceRecord } from '../../../domain/record.schema.js';
import { FILTER_OPTIONS, filtersFrom, parse, positiveInt } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';
import { PROBE_OPTIONS, probeFrom } from '../probe-args.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * `marcus-registry watch [--json] [--verbose] [filters] [--sweep MS] [--probe …]`:
 * the current state as added events, then one line per change until
 * SIGINT/SIGTERM (or stdout closing), after which every watcher is closed and
 * it exits 0. Lines for people leave out updates that only moved
 * last_heartbeat (--verbose shows them); --json prints every event.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, sweep: { type: 'string' }, verbose: { type: 'boolean', short: 'v' }, ...PROBE_OPTIONS });
  const sweepIntervalMs = positiveInt(values.sweep, 'sweep');
  const probe = probeFrom(values);
  const json = values.json === true;
  const controller = new AbortController();
  const stop = () => controller.abort();
  // on, not once: a signal-exit copy (a locking library's) re-raises a signal it believes nobody else handles.
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  // A closed pipe (`watch | head -1`) ends the watch instead of crashing it.
  process.stdout.on('error', stop);
  try {
    await using registry = await openRegistry(values);
    const shown = new ShownState();
    for await (const event of registry.watch({ signal: controller.signal, filters: filtersFrom(values), sweepIntervalMs, ...(probe && { probe }) })) {
      if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
      else {
        const changed = shown.changes(event);
        if (changed === undefined || changed.length > 0 || values.verbose) process.stdout.write(`${eventLine(event, changed)}\n`);
      }
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    process.stdout.off('error', stop);
  }
  return EXIT.OK;
}

/**
 * What each instance last looked like on screen: an update is worth a line
 * when its health or any key but last_heartbeat changed since.
 */
class ShownState {
  private readonly last = new Map<string, { health: string; record: ServiceRecord }>();

  /** The keys (and `health`) an event changed; [] for a heartbeat only; undefined for added and removed, always shown. */
  changes(event: RegistryEvent): string[] | undefined {
    const id = event.record.instance_id;
    if (event.type === 'removed') {
      this.last.delete(id);
      return undefined;
    }
    const before = this.last.get(id);
    this.last.set(id, { health: event.health, record: event.record });
    if (event.type === 'added' || !before) return undefined;
    const changed = before.health === event.health ? [] : ['health'];
    const keys = new Set([...Object.keys(before.record), ...Object.keys(event.record)]);
    for (const key of keys) {
      if (key === 'last_heartbeat') continue;
      const a = (before.record as Record<string, unknown>)[key];
      const b = (event.record as Record<string, unknown>)[key];
      if (JSON.stringify(a) !== JSON.stringify(b)) changed.push(key);
    }
    return changed;
  }
}

/**
 * `+ marcus_123 pid 123 project alpha healthy`, `~ marcus_123 … healthy status busy (status, load_metrics)`,
 * `- marcus_123 pid 123 project alpha (process-exited)`.
 */
export function eventLine(event: RegistryEvent, changed: readonly string[] = []): string {
  const r = event.record;
  const who = `${r.instance_id} pid ${r.pid} project ${r.project_name ?? '-'}`;
  switch (event.type) {
    case 'added':
      return `+ ${who} ${event.health}${event.reason ? ` (${event.reason})` : ''}`;
    case 'updated':
      return `~ ${who} ${event.health}${event.reason ? ` (${event.reason})` : ''} status ${r.status ?? '-'}${changed.length > 0 ? ` (${changed.join(', ')})` : ' (heartbeat)'}`;
    case 'removed':
      return `- ${who} (${event.reason})`;
  }
}
