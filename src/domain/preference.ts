import { compareInstanceIds, compareStartedAt } from './filters.js';
import type { ServiceRecord } from './record.schema.js';
import type { Health } from './staleness.js';

/** Who is asking: the client's situation that makes one instance a better fit. */
export interface PreferenceContext {
  /** An explicit pin (e.g. from MARCUS_INSTANCE_ID): that instance comes first. */
  readonly pin?: string;
  readonly project?: string;
  /** The client's working directory: an instance started in it or above it fits better. */
  readonly cwd?: string;
}

export interface Candidate {
  readonly record: ServiceRecord;
  readonly health: Exclude<Health, 'stale'>;
  /** Why it is unresponsive, when known: `endpoint-down` (its MCP endpoint does not answer probes) ranks last; `pid-started-later` (probably a reused pid, ADR 0017) after every healthy one. */
  readonly reason?: string;
}

/**
 * The preference order, most preferred first: pin → an endpoint that answers
 * probes (one `endpoint-down` ranks last) → healthy → not a probably reused pid
 * (`pid-started-later`) → same project →
 * working directory containing the client's cwd (the deepest such first) →
 * newest started_at (to the microsecond, as Python's string sort) → instance_id.
 * Total and deterministic.
 */
export function comparePreference(context: PreferenceContext): (a: Candidate, b: Candidate) => number {
  return (a, b) =>
    flag(b.record.instance_id === context.pin) - flag(a.record.instance_id === context.pin) ||
    flag(a.reason === 'endpoint-down') - flag(b.reason === 'endpoint-down') ||
    flag(b.health === 'healthy') - flag(a.health === 'healthy') ||
    flag(a.reason === 'pid-started-later') - flag(b.reason === 'pid-started-later') ||
    flag(context.project !== undefined && b.record.project_name === context.project) -
      flag(context.project !== undefined && a.record.project_name === context.project) ||
    containmentDepth(b.record.working_directory, context.cwd) - containmentDepth(a.record.working_directory, context.cwd) ||
    compareStartedAt(b.record, a.record) ||
    compareInstanceIds(a.record, b.record);
}

export function rankByPreference<T extends Candidate>(candidates: readonly T[], context: PreferenceContext = {}): T[] {
  return [...candidates].sort(comparePreference(context));
}

function flag(value: boolean): number {
  return value ? 1 : 0;
}

/** Path segments of `dir` when it is `cwd` or an ancestor of it, else 0. Handles / and \ separators. */
export function containmentDepth(dir: string, cwd: string | undefined): number {
  if (cwd === undefined || dir === '') return 0;
  const d = segments(dir), c = segments(cwd);
  if (d.length > c.length) return 0;
  const caseless = /^[a-z]:$/i.test(d[0] ?? '');
  for (let i = 0; i < d.length; i++) {
    const x = d[i] as string, y = c[i] as string;
    if (caseless ? x.toLowerCase() !== y.toLowerCase() : x !== y) return 0;
  }
  return d.length + 1; // + 1 so that the filesystem root still counts as containing
}

function segments(path: string): string[] {
  return path.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
}
