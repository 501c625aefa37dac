import { InvalidInstanceIdError } from '../../domain/errors.js';
import type { ServiceFilters } from '../../domain/filters.js';
import { isReadableInstanceId } from '../../domain/python-instance-id.js';
import { HttpError } from './responses.js';

const FILTER_KEYS = ['provider', 'project', 'capability', 'status'] as const;

/**
 * The query string as a map of single values. Unknown, repeated and empty
 * parameters are refused (400 INVALID_QUERY): a typo like `projet=alpha` must
 * not silently widen a filter.
 */
export function queryOf(url: URL, allowed: readonly string[]): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) throw new HttpError(400, 'INVALID_QUERY', `unknown query parameter ${JSON.stringify(key)}; allowed here: ${allowed.join(', ') || 'none'}`);
    if (values.has(key)) throw new HttpError(400, 'INVALID_QUERY', `query parameter ${JSON.stringify(key)} is given more than once`);
    if (value === '') throw new HttpError(400, 'INVALID_QUERY', `query parameter ${JSON.stringify(key)} is empty`);
    values.set(key, value);
  }
  return values;
}

export const FILTER_PARAMS: readonly string[] = FILTER_KEYS;

export function filtersOf(query: ReadonlyMap<string, string>): ServiceFilters {
  return Object.fromEntries(FILTER_KEYS.filter((k) => query.has(k)).map((k) => [k, query.get(k)]));
}

/** `all=1|true|0|false`. */
export function flagOf(query: ReadonlyMap<string, string>, name: string): boolean {
  const value = query.get(name);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new HttpError(400, 'INVALID_QUERY', `query parameter ${JSON.stringify(name)} must be 1, true, 0 or false`);
}

export function instanceIdOf(value: string): string {
  if (!isReadableInstanceId(value)) throw new InvalidInstanceIdError(value);
  return value;
}
