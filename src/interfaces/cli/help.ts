/** The CLI's help texts: the overview (`--help`) and one per command (`help CMD`, `CMD --help`). */

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  list: `Usage: marcus-registry list [--json | --jsonl | --records | -q] [--no-headers] [--all] [filters]

Live instances (healthy and unresponsive), oldest first; stale entries found on the
way are removed, as the Python reader does.
  --all          also stale entries (health "stale"); nothing is removed
  --json         a JSON array of {health, reason?, detail?, record} (as GET /v1/services)
  --jsonl, --ndjson
                 the same, one object per line
  --records      the plain on-disk records instead (an array; one per line with --jsonl)
  -q, --quiet    instance ids only, one per line
  --no-headers   the table without its header line
  filters        --provider P --project P --capability C --status S
`,
  show: `Usage: marcus-registry show ID [--json | --records]

One entry, even a stale one (nothing is removed).
  --json      {health, reason?, detail?, record} (as GET /v1/services/id/ID)
  --records   the plain on-disk record
Exit 0: a live instance; 3: absent, or stale (still printed); 2: an id no entry can have (a/b).
`,
  preferred: `Usage: marcus-registry preferred [--json | --records] [filters] [--instance ID]

The instance a client should use: pin ($MARCUS_INSTANCE_ID) > healthy > same project >
working directory containing the cwd > newest. --instance ID: that instance or none.
Exit 3 when none matches.
`,
  prune: `Usage: marcus-registry prune [--json]

Removes stale entries and prints what it removed ({removed, kept, problems} with --json).
`,
  watch: `Usage: marcus-registry watch [--json] [--verbose] [filters] [--sweep MS]
                             [--probe [--probe-interval S] [--probe-failures K]]

The live instances, then a line per change until ^C: + added, ~ updated (what changed),
- removed (reason: unregistered for a clean stop, process-exited, pid-reused,
heartbeat-expired, lease-expired). Heartbeat-only updates only with --verbose (-v);
--json prints every event, one object per line. --probe pings each instance's
mcp_url every --probe-interval seconds; --probe-failures misses in a row make it
unresponsive (endpoint-down), never removed.
`,
  run: `Usage: marcus-registry run [options] -- CMD ARGS...

Starts CMD, registers it (its pid) while it runs, exits with its code.
  --instance-id ID        default marcus_<pid>; an id a live instance holds is refused
                          (exit 2, INSTANCE_ID_TAKEN) unless --replace
  --replace               take over the id of a live instance
  --project P  --provider X  --capability C (repeatable)  --log-dir D
  --mcp-command C         the command clients run (no shell: pipes etc. are refused,
                          exit 2, UNSAFE_COMMAND); default: CMD ARGS
  --mcp-arg A             its argv, one word per --mcp-arg (--mcp-arg=--flag for a dash)
  --mcp-url URL  --transport streamable-http|sse|stdio
  --heartbeat MS          at least 100 (default 10000)
`,
  connect: `Usage: marcus-registry connect [filters] [--instance ID] [--wait SECONDS]

Be the preferred instance's MCP server on stdio: bridge to its mcp_url, or start its
command. When the instance goes away, fail over to the next one (the client's
initialize replayed; in-flight requests get a retryable error; tools/list_changed
sent). Exit 3 when none matches (after --wait); 1 when none is left to fail over
to; 2 for an id no entry can have.
`,
  serve: `Usage: marcus-registry serve [--host 127.0.0.1] [--port 7321] [--allow-remote] [--token-file PATH] [--sweep MS] [--probe …]

Health, metrics, a JSON API and a live page over HTTP (loopback only unless
--allow-remote and a token; --port 0: any free port). The token comes from
$MARCUS_REGISTRY_TOKEN or --token-file PATH; --token T works but shows T to every
local user (/proc/PID/cmdline), so it warns. --probe: endpoint probes on the event
streams (as watch --probe). The MCP catalog of server cards is at
/.well-known/mcp/catalog.json.
`,
  stop: `Usage: marcus-registry stop ID [--timeout SECONDS] [--force]

Sends SIGTERM to a local instance and waits (default 10 s) for its entry to go.
--force: SIGKILL after the timeout. Refuses an instance of another host, and a pid
whose process is not the one that registered (start time/token differ or cannot be
checked). Exit 0 stopped; 1 refused or still running; 3 no such instance, or not running.
`,
  logs: `Usage: marcus-registry logs ID [--follow]

Prints the newest file in the instance's log_dir; --follow (-f) keeps printing what is
appended until ^C. Exit 3: no such instance; 1: no log file there, or another host's.
`,
};

export const COMMAND_NAMES = Object.keys(COMMAND_HELP);

export const USAGE = `Usage: marcus-registry [--store URI] <command> [options]

Commands:
  list        live instances (--json with health, --records, --jsonl, -q, --all)
  show ID     one instance
  preferred   the instance a client should use
  prune       remove stale entries
  watch       live changes, until ^C
  run         start a command and register it while it runs
  connect     be the preferred instance's MCP server on stdio
  serve       health, metrics, JSON API and a live page over HTTP
  stop ID     SIGTERM a local instance and wait for it to go (--force)
  logs ID     the newest log in its log_dir (--follow)

  marcus-registry help COMMAND  (or COMMAND --help): its options

Options for every command:
  --store URI   json:<dir> | sqlite:<file> | etcd://host:port[,host:port][/prefix] | memory:
                (default: $MARCUS_REGISTRY_STORE, else json:$MARCUS_REGISTRY_DIR,
                else json:~/.marcus/services); etcds://… is etcd over TLS;
                etcd credentials and TLS files only from the environment:
                $MARCUS_REGISTRY_ETCD_USER, _PASSWORD or _PASSWORD_FILE,
                _CA, _CERT, _KEY
  --json        machine-readable output
  --debug       log what the registry does to stderr
  -h, --help    help
  -V, --version the package version

Filters: --provider P --project P --capability C --status S; --instance ID
(preferred, connect) means that instance or none, while $MARCUS_INSTANCE_ID
only ranks an instance first (a warning says when it matches nothing).

Exit codes: 0 ok, 1 error, 2 usage, 3 no matching instance; run, and connect to
a stdio instance: the child's (127: cannot start it).
`;

/** The command name closest to `word` (at most 2 edits away), for "did you mean". */
export function closestCommand(word: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of COMMAND_NAMES) {
    const distance = editDistance(word.toLowerCase(), name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}
