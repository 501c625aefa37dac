import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import type { Connection } from '../../../domain/connection.js';
import type { ServiceFilters } from '../../../domain/filters.js';
import type { ServiceRecord } from '../../../domain/record.schema.js';
import type { ServiceRegistry } from '../../service-registry.js';
import { FILTER_OPTIONS, filtersFrom, instanceIdArgument, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';


/**
 * How long an instance's endpoint may refuse connections before we bridge anyway
 * (and fail with its error): `run` registers a server as soon as it starts, before
 * it listens. With --wait, the rest of the wait counts too.
 */
const READY_GRACE_MS = 3_000;

const FORWARDED: readonly NodeJS.Signals[] =
  process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * `marcus-registry connect [filters] [--instance ID] [--wait SECONDS]`: an MCP
 * server on stdio that is the preferred running Marcus. An instance with an
 * mcp_url is bridged to over Streamable HTTP (or SSE); a stdio-only one is
 * started from its argv. stdout carries MCP traffic and nothing else.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, instance: { type: 'string' }, wait: { type: 'string' } });
  const waitMs = seconds(values.wait);
  const debug = values.debug === true || Boolean(process.env['MARCUS_REGISTRY_DEBUG']);
  keepStdoutForMcp();

  // An explicit --instance is strict: that instance or none (and --wait waits for it).
  const filters = { ...filtersFrom(values), instanceId: instanceIdArgument(values.instance, '--instance') };
  const waitDeadline = Date.now() + waitMs;
  let record: ServiceRecord | undefined;
  let connection: Connection;
  {
    await using registry = await openRegistry(values, { settings: { exitHooks: false } });
    const find = () => registry.preferred({ filters, project: filters.project });
    record = waitMs > 0 ? await waitForInstance(registry, filters, find, waitMs) : await find();
    if (!record) {
      const wanted = describeFilters(filters);
      const waited = waitMs > 0 ? ` after waiting ${waitMs / 1000} s` : '';
      process.stderr.write(`marcus-registry: no running instance matches${wanted}${waited}\n`);
      return EXIT.NONE;
    }
    connection = await registry.connection(record);
  }
  if (connection.kind === 'http') await untilListening(new URL(connection.url), Math.max(waitDeadline - Date.now(), READY_GRACE_MS));
  const to = connection.kind === 'http' ? `${connection.url} (${connection.transport})` : [connection.command, ...connection.args].join(' ');
  process.stderr.write(`marcus-registry: connecting to ${record.instance_id}: ${to}\n`);
  return connection.kind === 'http' ? bridgeHttp(connection, debug) : startStdio(connection);
}

/** Everything a library prints with console.log/info/debug goes to stderr: stdout is the MCP stream. */
function keepStdoutForMcp(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

async function bridgeHttp(connection: Extract<Connection, { kind: 'http' }>, debug: boolean): Promise<number> {
  // The SDK loads only here: other commands never pay for it.
  const [{ bridge }, { StdioServerTransport }] = await Promise.all([import('../mcp-bridge.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
  const url = new URL(connection.url);
  const remote =
    connection.transport === 'sse'
      ? new (await import('@modelcontextprotocol/sdk/client/sse.js')).SSEClientTransport(url)
      : new (await import('@modelcontextprotocol/sdk/client/streamableHttp.js')).StreamableHTTPClientTransport(url);
  const local = new StdioServerTransport(process.stdin, process.stdout);

  let signalled: NodeJS.Signals | undefined;
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = signal;
    interrupted.abort();
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);
  try {
    const code = await bridge(local, remote, {
      target: connection.url,
      stdin: process.stdin,
      stdout: process.stdout,
      log: (line) => process.stderr.write(`${line}\n`),
      debug,
      signal: interrupted.signal,
    });
    return signalled ? 128 + (constants.signals[signalled] ?? 0) : code;
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignal);
    forceExitIfStuck();
  }
}

/** Starts the instance's argv with our stdio, forwards signals, exits as it does. */
async function startStdio(connection: Extract<Connection, { kind: 'stdio' }>): Promise<number> {
  const { command, args, cwd } = connection;
  let where = cwd;
  if (where !== undefined && !existsSync(where)) {
    // A record of another host, or a directory since removed: absolute argv still works from here.
    process.stderr.write(`marcus-registry: the instance's working directory ${where} does not exist here; starting ${command} in ${process.cwd()}\n`);
    where = undefined;
  }
  const child = spawn(command, [...args], { stdio: 'inherit', cwd: where });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      child.once('error', resolve);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (outcome instanceof Error) {
      process.stderr.write(`marcus-registry: cannot start ${command}: ${outcome.message}\n`);
      return 127;
    }
    if (outcome.signal) {
      for (const signal of FORWARDED) process.off(signal, forward);
      // Die of the same signal, so our parent sees what the server did.
      process.kill(process.pid, outcome.signal);
      return 128 + (constants.signals[outcome.signal] ?? 0);
    }
    return outcome.code ?? EXIT.ERROR;
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}

/**
 * The preferred instance, or the first that appears within `ms`: the registry's
 * watch wakes us on every change, so nothing is polled.
 */
async function waitForInstance(
  registry: ServiceRegistry,
  filters: ServiceFilters,
  find: () => Promise<ServiceRecord | undefined>,
  ms: number,
): Promise<ServiceRecord | undefined> {
  const signal = AbortSignal.timeout(ms);
  try {
    for await (const event of registry.watch({ signal, filters })) {
      if (event.type === 'removed') continue;
      const found = await find();
      if (found) return found;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return undefined;
}

function seconds(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--wait must be a number of seconds, got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

function describeFilters(filters: ServiceFilters): string {
  const parts = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k === 'instanceId' ? 'instance' : k} ${JSON.stringify(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** Resolves once `url`'s host accepts a TCP connection, or after `ms` (the bridge then reports the real error). */
async function untilListening(url: URL, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  for (;;) {
    const left = deadline - Date.now();
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, timeout: Math.max(left, 1) });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });
    if (open || Date.now() + 100 >= deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A lingering socket or stream must not keep a finished proxy alive: the timer only fires if something does. */
function forceExitIfStuck(): void {
  setTimeout(() => process.exit(), 3_000).unref();
}
