import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { connectionFieldsProblem } from '../../../domain/connection.js';
import { InvalidInstanceIdError, isRegistryError } from '../../../domain/errors.js';
import { isValidInstanceId } from '../../../domain/instance-id.js';
import { parseShellWords } from '../../../domain/shell-words.js';
import { heartbeatMs, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';
import { shellJoin } from '../shell-quote.js';
import { buildRecord, type RegisterOptions } from '../../../app/register-options.js';
import { resolveStoreConfig } from '../../../app/store-uri.js';
import { KeepRegistered } from './run-registration.js';

const FORWARDED: readonly NodeJS.Signals[] =
  process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Starts CMD, registers it under the child's pid (with its start time, so a
 * reused pid is never mistaken for it), heartbeats for it, forwards signals,
 * unregisters when it exits and exits as it did.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      'instance-id': { type: 'string' },
      project: { type: 'string' },
      provider: { type: 'string' },
      'mcp-command': { type: 'string' },
      'mcp-arg': { type: 'string', multiple: true },
      replace: { type: 'boolean' },
      'mcp-url': { type: 'string' },
      transport: { type: 'string' },
      'log-dir': { type: 'string' },
      capability: { type: 'string', multiple: true },
      heartbeat: { type: 'string' },
    },
    true,
  );
  if (positionals.length === 0) throw new UsageError('run needs a command: marcus-registry run [options] -- CMD ARGS...');
  const transport = values.transport;
  if (transport !== undefined && transport !== 'stdio' && transport !== 'streamable-http' && transport !== 'sse') {
    throw new UsageError(`--transport must be stdio, streamable-http or sse, got ${JSON.stringify(transport)}`);
  }
  const connectionProblem = connectionFieldsProblem(values['mcp-url'], transport);
  if (connectionProblem !== undefined) throw new UsageError(connectionProblem.replace(/^mcp_url/, '--mcp-url'));
  const heartbeatIntervalMs = heartbeatMs(values.heartbeat);
  const mcpArgs = values['mcp-arg'];
  const mcpCommand = values['mcp-command'];
  if (mcpArgs !== undefined && mcpArgs[0] === '') throw new UsageError('--mcp-arg: the program (the first --mcp-arg) must not be empty');
  // What clients will run must make sense without a shell: refused now, not when a client connects.
  const commandWords = mcpCommand === undefined ? undefined : refuseUnsafe(() => parseShellWords(mcpCommand));
  if (commandWords === null) return EXIT.USAGE;
  const [command, ...args] = positionals as [string, ...string[]];
  const registration: RunRegistration = {
    instanceId: values['instance-id'],
    replace: values.replace === true,
    mcpArgs: mcpArgs ?? commandWords,
    projectName: values.project,
    provider: values.provider,
    mcpCommand,
    mcpUrl: values['mcp-url'],
    transport,
    logDir: values['log-dir'],
    capabilities: values.capability,
    heartbeatIntervalMs,
  };
  // Bad input stops here, before the child starts; a store failure later is retried.
  assertValidInput(registration, positionals, values.store);
  if (registration.instanceId !== undefined && !registration.replace) {
    // Checked before the child starts: a live holder of the id means we start nothing.
    const holder = await liveHolder(values, registration.instanceId);
    if (holder !== undefined) {
      process.stderr.write(
        `marcus-registry: instance id ${registration.instanceId} is held by a live instance (pid ${holder.pid}${holder.hostname ? ` on ${holder.hostname}` : ''}); ` +
          'choose another --instance-id, or take it over with --replace [INSTANCE_ID_TAKEN]\n',
      );
      return EXIT.USAGE;
    }
  }

  const child = spawn(command, args, { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  const stopForwarding = () => {
    for (const signal of FORWARDED) process.off(signal, forward);
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (started) {
    stopForwarding();
    process.stderr.write(`marcus-registry: cannot start ${command}: ${started.message}\n`);
    return 127;
  }

  // The child runs on while registering fails (it is retried); it is never killed for a registry problem,
  // only when another live instance took its id between the check above and the write (exit 2).
  let taken = false;
  const keeper = new KeepRegistered({
    // The child owns the terminal; we handle signals ourselves, so no exit hooks of the facade.
    open: () => openRegistry(values, { settings: { exitHooks: false } }),
    registration: registerOptions(child.pid as number, positionals, registration),
    name: command,
    write: (line) => process.stderr.write(`${line}\n`),
    onIdTaken: () => {
      taken = true;
      child.kill('SIGTERM');
    },
  });
  // Only the entry this run registered: a newer registration of the same id stays.
  const onExitSync = () => keeper.removeOwnEntrySync();
  process.on('exit', onExitSync);

  const { code, signal } = await exited;
  stopForwarding();
  await keeper.stop();
  process.off('exit', onExitSync);
  if (taken) return EXIT.USAGE;
  if (signal) {
    // Die of the same signal, so our parent sees what its grandchild did.
    process.kill(process.pid, signal);
    return 128 + (constants.signals[signal] ?? 0);
  }
  return code ?? EXIT.ERROR;
}

/** The words of a command line that needs no shell; null (after saying why on stderr) for one that does. */
function refuseUnsafe(split: () => string[]): string[] | null {
  try {
    return split();
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    process.stderr.write(`marcus-registry: --mcp-command: ${error.message} (or give the argv with --mcp-arg, once per word) [${error.code}]\n`);
    return null;
  }
}

/**
 * The live instance holding `instanceId`, if the store can say now. A store
 * that cannot be read yet says nothing here: registration is retried later,
 * and register() itself refuses a live holder then.
 */
async function liveHolder(values: Parameters<typeof openRegistry>[0], instanceId: string): Promise<{ pid: number; hostname?: string } | undefined> {
  try {
    const registry = await openRegistry(values, { settings: { exitHooks: false } });
    try {
      const holder = await registry.get(instanceId);
      return holder && holder.health !== 'stale' ? { pid: holder.record.pid, hostname: holder.record.hostname } : undefined;
    } finally {
      await registry.close();
    }
  } catch {
    return undefined;
  }
}

interface RunRegistration {
  readonly instanceId: string | undefined;
  readonly replace: boolean;
  readonly mcpArgs: readonly string[] | undefined;
  readonly projectName: string | undefined;
  readonly provider: string | undefined;
  readonly mcpCommand: string | undefined;
  readonly mcpUrl: string | undefined;
  readonly transport: 'stdio' | 'streamable-http' | 'sse' | undefined;
  readonly logDir: string | undefined;
  readonly capabilities: string[] | undefined;
  readonly heartbeatIntervalMs: number | undefined;
}

function registerOptions(pid: number, argv: readonly string[], o: RunRegistration): RegisterOptions {
  return {
    pid,
    instanceId: o.instanceId,
    replace: o.replace,
    projectName: o.projectName,
    provider: o.provider,
    // Given a command (or an argv), it is what clients run; else the wrapped command line is.
    mcpCommand: o.mcpCommand ?? shellJoin(o.mcpArgs ?? argv),
    mcpArgs: o.mcpArgs ?? (o.mcpCommand === undefined ? argv : undefined),
    mcpUrl: o.mcpUrl,
    transport: o.transport ?? (o.mcpUrl ? 'streamable-http' : undefined),
    logDir: o.logDir,
    capabilities: o.capabilities,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
  };
}

/**
 * Whatever registering would refuse whatever the store's state: an invalid
 * instance id or record, a malformed store URI. Checked on a stand-in record
 * (this process's pid), so it fails before anything starts: exit 2 with the
 * error's code (an unusable store URI: exit 1, as every command).
 */
function assertValidInput(o: RunRegistration, argv: readonly string[], store: string | boolean | undefined): void {
  if (o.instanceId !== undefined && !isValidInstanceId(o.instanceId)) {
    const error = new InvalidInstanceIdError(o.instanceId);
    throw new UsageError(`--instance-id: ${error.message}`, error.code);
  }
  try {
    buildRecord(registerOptions(process.pid, argv, o), { now: Date.now(), hostname: 'localhost', processStart: undefined, defaultHeartbeatIntervalMs: 10_000 });
  } catch (error) {
    if (isRegistryError(error)) throw new UsageError(error.message, error.code);
    throw error;
  }
  resolveStoreConfig(typeof store === 'string' ? store : undefined);
}
