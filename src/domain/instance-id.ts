import { InvalidInstanceIdError } from './errors.js';

/** An instance id becomes a file name and a key: no `/`, no `..`, no NUL, bounded length. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidInstanceId(value: unknown): value is string {
  return typeof value === 'string' && INSTANCE_ID_PATTERN.test(value) && !value.includes('..');
}

export function assertInstanceId(value: unknown): string {
  if (!isValidInstanceId(value)) throw new InvalidInstanceIdError(value);
  return value;
}

/**
 * The id the Python registry uses by default: `marcus_<pid>`. The n-th
 * registration (n > 1) of one pid held at the same time gets `marcus_<pid>_<n>`,
 * which still matches Python's `marcus_*.json` glob.
 */
export function defaultInstanceId(pid: number, n = 1): string {
  return n <= 1 ? `marcus_${pid}` : `marcus_${pid}_${n}`;
}
