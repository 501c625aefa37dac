import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ServiceFilters } from '../../domain/filters.js';
import { MIN_HEARTBEAT_INTERVAL_MS } from '../../app/register-options.js';
import { UsageError } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const FILTER_OPTIONS = {
  provider: { type: 'string' },
  project: { type: 'string' },
  capability: { type: 'string' },
  status: { type: 'string' },
} as const satisfies Options;

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: typeof GLOBAL_OPTIONS & O; allowPositionals: true; strict: true }>>;

/** util.parseArgs with errors turned into UsageError. */
export function parse<O extends Options>(argv: readonly string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals, strict: true }) as Parsed<O>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const option = error instanceof Error ? /Unknown option '([^']+)'/.exec(error.message)?.[1] : undefined;
    // One short line for a typo'd option (parseArgs' own message is three).
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) throw new UsageError(`unknown option '${option}'`);
    throw new UsageError(error instanceof Error ? error.message.replace(/^TypeError \[\w+\]: /, '') : String(error));
  }
}

export function filtersFrom(values: Partial<Record<keyof typeof FILTER_OPTIONS, unknown>>): ServiceFilters {
  const pick = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { provider: pick(values.provider), project: pick(values.project), capability: pick(values.capability), status: pick(values.status) };
}

export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function heartbeatMs(value: string | undefined): number | undefined {
  const n = positiveInt(value, 'heartbeat');
  if (n !== undefined && n < MIN_HEARTBEAT_INTERVAL_MS) throw new UsageError(`--heartbeat must be at least ${MIN_HEARTBEAT_INTERVAL_MS} ms, got ${n}`);
  return n;
}

/**
 * One rule for an instance id given on the command line (show ID, --instance ID
 * of preferred and connect): an id no entry can have — empty, `.`/`..`, or
 * holding `/`, `\\` or NUL, so never a file name in the registry — is a usage
 * error (exit 2, INVALID_INSTANCE_ID); any other id that matches nothing is
 * "no such instance" (exit 3).
 */
export function instanceIdArgument(value: string, what: string): string;
export function instanceIdArgument(value: string | undefined, what: string): string | undefined;
export function instanceIdArgument(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw new UsageError(`${what} ${JSON.stringify(value)} cannot name an instance (an id has no /, \\ or NUL) [INVALID_INSTANCE_ID]`);
  }
  return value;
}
