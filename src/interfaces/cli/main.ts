#!/usr/bin/env node
import { isRegistryError } from '../../domain/errors.js';
import { EXIT, UsageError } from './exit-codes.js';
import { closestCommand, COMMAND_HELP, USAGE } from './help.js';
import { sourceMappedStack } from './mapped-stack.js';

export interface Command {
  run(argv: readonly string[]): Promise<number>;
}

/** Each command is imported only when used: start-up cost is what `list` pays. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  list: () => import('./commands/list.command.js'),
  show: () => import('./commands/show.command.js'),
  preferred: () => import('./commands/preferred.command.js'),
  prune: () => import('./commands/prune.command.js'),
  watch: () => import('./commands/watch.command.js'),
  run: () => import('./commands/run.command.js'),
  connect: () => import('./commands/connect.command.js'),
  serve: () => import('./commands/serve.command.js'),
  stop: () => import('./commands/stop.command.js'),
  logs: () => import('./commands/logs.command.js'),
};

export async function main(argv: readonly string[]): Promise<number> {
  const index = commandIndex(argv);
  const name = index === -1 ? undefined : argv[index];
  if (name === '--version' || name === '-V' || name === 'version') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`${(createRequire(import.meta.url)('../../../package.json') as { version: string }).version}\n`);
    return EXIT.OK;
  }
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? argv[index + 1] : undefined;
    if (topic !== undefined) {
      const text = COMMAND_HELP[topic];
      if (text === undefined) return unknownCommand(topic);
      process.stdout.write(text);
      return EXIT.OK;
    }
    const wanted = argv.includes('--help') || argv.includes('-h') || name === 'help';
    const unknown = wanted ? undefined : unknownGlobalOption(argv);
    if (unknown !== undefined) process.stderr.write(`marcus-registry: unknown option '${unknown}'\n`);
    (wanted ? process.stdout : process.stderr).write(USAGE);
    return wanted ? EXIT.OK : EXIT.USAGE;
  }
  const load = COMMANDS[name];
  if (!load) return unknownCommand(name);
  const rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  if (rest.includes('--help') || rest.includes('-h')) {
    const dashDash = rest.indexOf('--');
    const helpAt = Math.max(rest.indexOf('--help'), rest.indexOf('-h'));
    if (name !== 'run' || dashDash === -1 || (helpAt !== -1 && helpAt < dashDash)) {
      process.stdout.write(COMMAND_HELP[name] ?? USAGE);
      return EXIT.OK;
    }
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    return report(error, name);
  }
}

function unknownCommand(name: string): number {
  const guess = closestCommand(name);
  process.stderr.write(`marcus-registry: unknown command '${name}'${guess ? ` — did you mean \`${guess}\`?` : ''}\n(see marcus-registry --help)\n`);
  return EXIT.USAGE;
}

/** Options every command takes, so they may come before it (--store takes a value). */
const GLOBAL_OPTIONS = new Set(['--store', '--json', '--debug', '-h', '--help', '-V', '--version']);

/** The first word given before any command that is not a global option (nor --store's value). */
function unknownGlobalOption(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--store') i++;
    else if (!GLOBAL_OPTIONS.has(arg.split('=')[0] as string)) return arg;
  }
  return undefined;
}

/** The command is the first word that is not a global option or its value. */
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--store') i++;
    else if (arg === '--version' || arg === '-V') return i;
    else if (!arg.startsWith('-')) return i;
  }
  return -1;
}

function report(error: unknown, command?: string): number {
  if (error instanceof UsageError) {
    process.stderr.write(`marcus-registry: ${error.message}${error.code ? ` [${error.code}]` : ''}\n(see marcus-registry ${command ? `${command} --help` : '--help'})\n`);
    return EXIT.USAGE;
  }
  if (isRegistryError(error)) {
    process.stderr.write(`marcus-registry: ${error.message} [${error.code}]\n`);
    return EXIT.ERROR;
  }
  // Not one of ours: a bug. Its trace names source files, not the bundle's minified code.
  process.stderr.write(`marcus-registry: ${error instanceof Error ? sourceMappedStack(error.stack ?? error.message) : String(error)}\n`);
  return EXIT.ERROR;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
