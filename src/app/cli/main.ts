#!/usr/bin/env node
import { isRegistryError } from '../../domain/errors.js';
import { EXIT, UsageError } from './exit-codes.js';

const USAGE = `Usage: marcus-registry [--store URI] <command> [options]

Commands:
  list [--json] [--all] [--provider P] [--project P] [--capability C] [--status S]
                       live instances, oldest first (--all: stale ones too, nothing removed)
  show ID [--json]     one instance (exit 3 when absent)
  preferred [--json] [filters] [--instance ID]
                       the instance a client should use (exit 3 when none)
  prune [--json]       remove stale entries and print what was removed
  watch [--json] [filters] [--sweep MS] [--probe [--probe-interval S] [--probe-failures K]]
                       the live instances, then a line (NDJSON with --json) per
                       change: + added, ~ updated, - removed (reason); until ^C
  run [--instance-id ID] [--project P] [--provider X] [--mcp-command C]
      [--mcp-url URL] [--transport streamable-http|sse|stdio] [--log-dir D]
      [--capability C]... [--heartbeat MS] -- CMD ARGS...
                       start CMD, register it while it runs, exit with its code
  connect [filters] [--instance ID] [--wait SECONDS]
                       be the preferred instance's MCP server on stdio: bridge to
                       its mcp_url, or start its command (exit 3 when none)
  serve [--host 127.0.0.1] [--port 7321] [--allow-remote] [--token T] [--sweep MS] [--probe …]
                       health, metrics, JSON API and a live page over HTTP
                       (loopback only unless --allow-remote and a token;
                       --port 0: any free port; MARCUS_REGISTRY_TOKEN = --token)

Options for every command:
  --store URI   json:<dir> | sqlite:<file> | etcd://host:port[,host:port][/prefix] | memory:
                (default: $MARCUS_REGISTRY_STORE, else json:$MARCUS_REGISTRY_DIR,
                else json:~/.marcus/services)
  --json        machine-readable output
  --debug       log what the registry does to stderr
  -h, --help    this text
  --version     the package version

Filters: --provider P --project P --capability C --status S; --instance ID
(preferred, connect) means that instance or none, while $MARCUS_INSTANCE_ID
only ranks an instance first.

Exit codes: 0 ok, 1 error, 2 usage, 3 no matching instance; run, and connect to
a stdio instance: the child's (127: cannot start it).
`;

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
};

export async function main(argv: readonly string[]): Promise<number> {
  const index = commandIndex(argv);
  const name = index === -1 ? undefined : argv[index];
  if (name === undefined || name === 'help') {
    const wanted = argv.includes('--help') || argv.includes('-h') || name === 'help';
    (wanted ? process.stdout : process.stderr).write(USAGE);
    return wanted ? EXIT.OK : EXIT.USAGE;
  }
  if (name === '--version' || name === 'version') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`${(createRequire(import.meta.url)('../../../package.json') as { version: string }).version}\n`);
    return EXIT.OK;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`marcus-registry: unknown command '${name}'\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  if (rest.includes('--help') || rest.includes('-h')) {
    if (name !== 'run' || rest.indexOf('--') === -1 || rest.indexOf('--help') < rest.indexOf('--')) {
      process.stdout.write(USAGE);
      return EXIT.OK;
    }
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    return report(error);
  }
}

/** The command is the first word that is not a global option or its value. */
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--store') i++;
    else if (arg === '--version') return i;
    else if (!arg.startsWith('-')) return i;
  }
  return -1;
}

function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`marcus-registry: ${error.message}\n(see marcus-registry --help)\n`);
    return EXIT.USAGE;
  }
  if (isRegistryError(error)) {
    process.stderr.write(`marcus-registry: ${error.message} [${error.code}]\n`);
    return EXIT.ERROR;
  }
  process.stderr.write(`marcus-registry: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
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
