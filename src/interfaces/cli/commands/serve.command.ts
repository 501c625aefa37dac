import { readFileSync } from 'node:fs';
import { isRegistryError } from '../../../domain/errors.js';
import { resolveMonitorConfig, type MonitorOptions } from '../../http/monitor-options.js';
import { startMonitor } from '../../http/start-monitor.js';
import { parse, positiveInt } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';
import { PROBE_OPTIONS, probeFrom } from '../probe-args.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** The port `serve` listens on when --port is not given. */
export const DEFAULT_SERVE_PORT = 7321;

/**
 * `marcus-registry serve [--host 127.0.0.1] [--port N] [--allow-remote] [--token-file PATH] [--sweep MS]`:
 * the monitor (health, metrics, JSON API, live page) until SIGINT/SIGTERM,
 * then every stream and connection is closed and it exits 0. Prints
 * `marcus-registry: serving http://HOST:PORT/` on stdout once listening.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    'allow-remote': { type: 'boolean' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    sweep: { type: 'string' },
    ...PROBE_OPTIONS,
  });
  const probe = probeFrom(values);
  const options: MonitorOptions = {
    host: values.host,
    port: portOf(values.port),
    allowRemote: values['allow-remote'] === true,
    token: tokenOf(values.token, values['token-file']),
    sweepIntervalMs: positiveInt(values.sweep, 'sweep'),
    ...(probe && { probe }),
    processMetrics: true,
  };
  // Bad or unsafe flags are refused before the store is opened or anything listens.
  try {
    resolveMonitorConfig(options);
  } catch (error) {
    if (isRegistryError(error) && error.code === 'INVALID_MONITOR_OPTIONS') throw new UsageError(error.message);
    throw error;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  // on, not once, and kept until closed: a signal-exit copy (a locking library's) re-raises a signal it believes nobody handles.
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  try {
    await using registry = await openRegistry(values);
    await using monitor = await startMonitor(registry, options);
    process.stdout.write(`marcus-registry: serving ${monitor.url}\n`);
    if (!controller.signal.aborted) await new Promise((resolve) => controller.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
  return EXIT.OK;
}

/**
 * The monitor's token: --token-file, else MARCUS_REGISTRY_TOKEN, else --token
 * (which every local user can read in /proc/PID/cmdline or `ps`: it still
 * works, with a warning on stderr that never repeats the token).
 */
function tokenOf(flag: string | undefined, file: string | undefined): string | undefined {
  if (flag !== undefined && file !== undefined) throw new UsageError('give either --token or --token-file, not both');
  if (file !== undefined) return readTokenFile(file);
  if (flag !== undefined) {
    process.stderr.write(
      'marcus-registry: warning: --token puts the token on the command line, visible to every local user (ps, /proc/PID/cmdline); use MARCUS_REGISTRY_TOKEN or --token-file PATH\n',
    );
    return flag;
  }
  return process.env['MARCUS_REGISTRY_TOKEN'] || undefined;
}

/** The file's content without one trailing newline (as `echo T > file` writes it). */
function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--token-file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token === '') throw new UsageError(`--token-file ${path} is empty`);
  return token;
}

function portOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SERVE_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  return port;
}
