import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { connectionFieldsProblem } from '../../../domain/connection.js';
import { isRegistryError } from '../../../domain/errors.js';
import { parseShellWords } from '../../../domain/shell-words.js';
import { heartbeatMs, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRegistry } from '../open-registry.js';
import { shellJoin } from '../shell-quote.js';
import type { ServiceRegistry } from '../../service-registry.js';

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
  // The child owns the terminal; we handle signals ourselves, so no exit hooks of the facade.
  const registry = await openRegistry(values, { settings: { exitHooks: false } });
  const instanceId = values['instance-id'];
  if (instanceId !== undefined && values.replace !== true) {
    // Checked before the child starts: a live holder of the id means we start nothing.
    const holder = await registry.get(instanceId).catch(async (error: unknown) => {
      await registry.close();
      throw error;
    });
    if (holder && holder.health !== 'stale') {
      await registry.close();
      process.stderr.write(
        `marcus-registry: instance id ${instanceId} is held by a live instance (pid ${holder.record.pid}${holder.record.hostname ? ` on ${holder.record.hostname}` : ''}); ` +
          'choose another --instance-id, or take it over with --replace [INSTANCE_ID_TAKEN]\n',
      );
      return EXIT.USAGE;
    }
  }

  const [command, ...args] = positionals as [string, ...string[]];
  const child = spawn(command, args, { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  const stopForwarding = () => {
    for (const signal of FORWARDED) process.off(signal, forward);
  };
  // Only the entry this run registered: a newer registration of the same id stays.
  const onExitSync = () => void registry.removeOwnEntrySync();
  process.on('exit', onExitSync);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (started) {
    stopForwarding();
    process.off('exit', onExitSync);
    await registry.close();
    process.stderr.write(`marcus-registry: cannot start ${command}: ${started.message}\n`);
    return 127;
  }

  let taken = false;
  const registering = register(registry, child, positionals, {
    instanceId,
    replace: values.replace === true,
    projectName: values.project,
    provider: values.provider,
    mcpCommand,
    mcpArgs: mcpArgs ?? commandWords,
    mcpUrl: values['mcp-url'],
    transport,
    logDir: values['log-dir'],
    capabilities: values.capability,
    heartbeatIntervalMs,
  }).catch((error: unknown) => {
    if (isRegistryError(error) && error.code === 'INSTANCE_ID_TAKEN') {
      // Another instance took the id between our check and our write: ours does not run unregistered under it.
      taken = true;
      process.stderr.write(`marcus-registry: ${error.message} [${error.code}]\n`);
      child.kill('SIGTERM');
      return;
    }
    // The child runs on unregistered rather than being killed for a registry problem.
    process.stderr.write(`marcus-registry: could not register ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  });

  const { code, signal } = await exited;
  await registering;
  stopForwarding();
  await registry.close().catch((error: unknown) => {
    process.stderr.write(`marcus-registry: could not unregister: ${error instanceof Error ? error.message : String(error)}\n`);
  });
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

async function register(registry: ServiceRegistry, child: ChildProcess, argv: readonly string[], o: RunRegistration): Promise<void> {
  await registry.register({
    pid: child.pid as number,
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
  });
}
