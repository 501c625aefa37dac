import type { JudgedEntry } from '../../app/discovery.service.js';
import type { ServiceRecord } from '../../domain/record.schema.js';
import type { StoreProblem } from '../../ports/store.port.js';
import { foreignFieldsOf } from '../../domain/foreign-fields.js';
import { parseTimestamp } from '../../domain/timestamp.js';

/** "4s", "3m", "2h", "5d": how long ago, for people. */
export function age(timestamp: string, now: number): string {
  const at = parseTimestamp(timestamp);
  if (at === undefined) return '?';
  const s = Math.round((now - at) / 1000);
  if (s < 0) return `in ${-s}s`;
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[], options: { readonly headers?: boolean } = {}): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [...(options.headers === false ? [] : [line(headers)]), ...rows.map(line)].join('\n') + '\n';
}

export function servicesTable(entries: readonly JudgedEntry[], now: number, options: { readonly headers?: boolean } = {}): string {
  const rows = entries.map(({ record: r, health, reason }) => [
    r.instance_id,
    String(r.pid),
    r.project_name ?? '-',
    r.provider ?? '-',
    r.status ?? '-',
    reason ? `${health} (${reason})` : health,
    age(r.started_at, now),
    age(r.last_heartbeat, now),
    r.hostname ?? '-',
  ]);
  return table(['INSTANCE', 'PID', 'PROJECT', 'PROVIDER', 'STATUS', 'HEALTH', 'UP', 'BEAT', 'HOST'], rows, options);
}

/** Every key of a record, one per line, for `show` and `preferred`. */
export function recordDetails(record: ServiceRecord, health?: string): string {
  const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const lines = Object.entries(record).map(([k, v]) => `${k.padEnd(22)} ${shown(v)}`);
  // Keys whose type we do not use are not in the typed record: show what the file has.
  for (const f of foreignFieldsOf(record)) if (f.used === undefined) lines.push(`${f.key.padEnd(22)} ${shown(f.original)} (ignored: not the type this reader uses)`);
  if (health) lines.push(`${'health'.padEnd(22)} ${health}`);
  return lines.join('\n') + '\n';
}

/**
 * One stderr line per problem. Notes about entries that were listed all the
 * same (a Python key of a type we do not use: IGNORED_FIELD) only with
 * `notes` (--debug): a Python instance would otherwise add lines to every
 * `list`; `show ID` marks such keys too.
 */
export function problemLines(problems: readonly StoreProblem[], { notes = false }: { readonly notes?: boolean } = {}): string {
  return problems
    .filter((p) => notes || p.action !== 'noted')
    .map((p) => `marcus-registry: ${p.action} ${p.entry}: ${p.message} [${p.code}]\n`)
    .join('');
}
