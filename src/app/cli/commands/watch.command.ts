import type { RegistryEvent } from '../../../domain/changes.js';
import { FILTER_OPTIONS, filtersFrom, parse, positiveInt } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';
import { PROBE_OPTIONS, probeFrom } from '../probe-args.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * `marcus-registry watch [--json] [filters] [--sweep MS] [--probe …]`: the current state as
 * added events, then one line per change until SIGINT/SIGTERM (or stdout
 * closing), after which every watcher is closed and it exits 0.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, sweep: { type: 'string' }, ...PROBE_OPTIONS });
  const sweepIntervalMs = positiveInt(values.sweep, 'sweep');
  const probe = probeFrom(values);
  const json = values.json === true;
  const controller = new AbortController();
  const stop = () => controller.abort();
  // on, not once: a signal-exit copy (proper-lockfile's) re-raises a signal it believes nobody else handles.
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  // A closed pipe (`watch | head -1`) ends the watch instead of crashing it.
  process.stdout.on('error', stop);
  try {
    await using registry = await openRegistry(values);
    for await (const event of registry.watch({ signal: controller.signal, filters: filtersFrom(values), sweepIntervalMs, ...(probe && { probe }) })) {
      process.stdout.write(json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    process.stdout.off('error', stop);
  }
  return EXIT.OK;
}

/** `+ marcus_123 pid 123 project alpha healthy`, `~ …`, `- marcus_123 pid 123 project alpha (process-exited)`. */
export function eventLine(event: RegistryEvent): string {
  const r = event.record;
  const who = `${r.instance_id} pid ${r.pid} project ${r.project_name ?? '-'}`;
  switch (event.type) {
    case 'added':
      return `+ ${who} ${event.health}${event.reason ? ` (${event.reason})` : ''}`;
    case 'updated':
      return `~ ${who} ${event.health}${event.reason ? ` (${event.reason})` : ''} status ${r.status}`;
    case 'removed':
      return `- ${who} (${event.reason})`;
  }
}
