import type { ProbeOptions } from '../../app/probe/endpoint-probe.js';
import { UsageError } from './exit-codes.js';

/** `--probe [--probe-interval SECONDS] [--probe-failures K]` (watch, serve): endpoint probes, ADR 0023. */
export const PROBE_OPTIONS = {
  probe: { type: 'boolean' },
  'probe-interval': { type: 'string' },
  'probe-failures': { type: 'string' },
} as const;

/** The probe options the flags ask for, or undefined without --probe (the other two flags then are a usage error). */
export function probeFrom(values: { probe?: boolean | string; 'probe-interval'?: string | boolean; 'probe-failures'?: string | boolean }): ProbeOptions | undefined {
  const interval = values['probe-interval'];
  const failures = values['probe-failures'];
  if (values.probe !== true) {
    if (interval !== undefined || failures !== undefined) throw new UsageError('--probe-interval and --probe-failures need --probe');
    return undefined;
  }
  let intervalMs: number | undefined;
  if (typeof interval === 'string') {
    const n = Number(interval);
    if (interval.trim() === '' || !Number.isFinite(n) || n < 0.1) throw new UsageError(`--probe-interval must be a number of seconds (at least 0.1), got ${JSON.stringify(interval)}`);
    intervalMs = Math.round(n * 1000);
  }
  let count: number | undefined;
  if (typeof failures === 'string') {
    count = Number(failures);
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`--probe-failures must be a positive integer, got ${JSON.stringify(failures)}`);
  }
  return { ...(intervalMs !== undefined && { intervalMs }), ...(count !== undefined && { failures: count }) };
}
