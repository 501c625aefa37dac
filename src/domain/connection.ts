import { InvalidConnectionError, NoEndpointError, UntrustedCommandError } from './errors.js';
import { foreignFieldsOf } from './foreign-fields.js';
import type { ServiceRecord } from './record.schema.js';
import { parseShellWords } from './shell-words.js';
import { isLocalRecord } from './staleness.js';

/** The transports a listening server may declare. */
export type HttpTransport = 'streamable-http' | 'sse';

/** How an MCP client reaches one instance. */
export type Connection =
  | { readonly kind: 'http'; readonly url: string; readonly transport: HttpTransport }
  | {
      readonly kind: 'stdio';
      /** The program to start (argv[0]); never run through a shell. */
      readonly command: string;
      readonly args: readonly string[];
      /** The instance's working directory, so relative paths in argv mean what they meant to it. */
      readonly cwd?: string;
    };

/**
 * Why `url` cannot be an MCP endpoint, or undefined when it can: an absolute
 * http: or https: URL with a host and no credentials (fetch refuses those).
 */
export function mcpUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `mcp_url ${JSON.stringify(url.slice(0, 200))} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `mcp_url must be an http: or https: URL, got ${JSON.stringify(parsed.protocol)}`;
  }
  if (parsed.hostname === '') return 'mcp_url has no host';
  if (parsed.username !== '' || parsed.password !== '') return 'mcp_url must not carry credentials';
  return undefined;
}

/** What connectionFor may know beyond the record: where it runs, who could have written it, which files exist. */
export interface ConnectionContext {
  /**
   * This host's name. A record of another host is never started: its argv and
   * pid mean nothing here. It is reached through its URL or refused (NO_ENDPOINT).
   */
  readonly localHostname?: string;
  /**
   * Why the record's store may hold records that someone other than this user
   * wrote (etcd, a shared SQLite file), or undefined when only this user (or
   * root) could have. Such records are reached through their URL, never started
   * (UNTRUSTED_COMMAND).
   */
  readonly untrustedWriters?: string;
  /**
   * Whether `path` (absolute, or relative to the instance's working directory)
   * names an existing file here. With it, a path that an unquoted mcp_command
   * split at a space (the Python Marcus writes `sys.executable + " " +
   * " ".join(sys.argv)`) is re-joined. Without it, argv is taken as parsed.
   */
  readonly isFile?: (path: string) => boolean;
}

/**
 * How to reach the instance a record describes, in this order:
 * 1. `transport: 'stdio'` — the writer says it speaks stdio: argv as in 5.
 * 2. `mcp_url` — an http(s) endpoint; `transport: 'sse'` means the legacy SSE
 *    transport, anything else Streamable HTTP.
 * 3. A server that serves HTTP without an mcp_url (`transport` http, multi,
 *    streamable-http or sse; or, with no mcp_args, `--http` / `--multi` in
 *    mcp_command, as the Python Marcus registers itself): the URL is built from
 *    its `host`, `port` and `path` keys (or one of its `endpoints`), else
 *    NoEndpointError. Its command is never started: that would be a second server.
 * 4. A record of another host (context.localHostname): NoEndpointError. A
 *    record from a store others can write (context.untrustedWriters):
 *    UntrustedCommandError.
 * 5. argv: `mcp_args` as written (non-empty), else `mcp_command` split by
 *    `parseShellWords` (never by a shell, never on spaces), with paths split at
 *    a space re-joined when context.isFile says the joined path exists.
 *
 * Throws InvalidConnectionError (a bad mcp_url, an empty program name),
 * UnsafeCommandError (an mcp_command that needs a shell), NoEndpointError or
 * UntrustedCommandError. Pure: the file system is asked through context.isFile only.
 */
export function connectionFor(record: ServiceRecord, context: ConnectionContext = {}): Connection {
  if (typeof record !== 'object' || record === null || typeof record.mcp_command !== 'string') {
    // A plain-JS caller passing get()'s { record, health } or undefined: say so, do not crash inside.
    throw new InvalidConnectionError(String((record as { instance_id?: unknown } | null)?.instance_id ?? record), 'not a service record (pass the record, e.g. (await registry.get(id))?.record)');
  }
  const transport = rawTransport(record);
  const local = context.localHostname === undefined || isLocalRecord(record, context.localHostname);
  const url = record.mcp_url;
  if (url !== undefined && transport !== 'stdio') {
    const problem = typeof url === 'string' ? mcpUrlProblem(url) : 'mcp_url is not a string';
    if (problem !== undefined) throw new InvalidConnectionError(record.instance_id, problem);
    return { kind: 'http', url, transport: transport === 'sse' ? 'sse' : 'streamable-http' };
  }
  const http = transport === 'stdio' ? undefined : servesHttp(record, transport);
  if (http !== undefined) return endpointFromKeys(record, http, local, transport === 'sse' ? 'sse' : 'streamable-http');
  if (!local) {
    throw new NoEndpointError(
      record.instance_id,
      `it runs on host ${String(record.hostname)} and its record ${url === undefined ? 'has no mcp_url' : 'declares transport stdio'}: its command is not started here (its argv and pid mean nothing on this host)`,
    );
  }
  if (context.untrustedWriters !== undefined) throw new UntrustedCommandError(record.instance_id, context.untrustedWriters);
  const fromCommandLine = record.mcp_args === undefined || record.mcp_args.length === 0;
  let argv = fromCommandLine ? parseShellWords(record.mcp_command) : record.mcp_args!;
  if (fromCommandLine && context.isFile) argv = rejoinSplitPaths(argv, context.isFile);
  const [command, ...args] = argv as [string, ...string[]];
  if (command === '') throw new InvalidConnectionError(record.instance_id, 'the command to start is an empty string');
  const cwd = record.working_directory;
  return { kind: 'stdio', command, args, ...(isAbsolutePath(cwd) && { cwd }) };
}

/**
 * `transport` as the writer wrote it: a Python writer's may be any value
 * ("http", "multi", a number), which parseRecord ignores (IGNORED_FIELD) but
 * keeps as the original; what it says about the server still counts here.
 */
function rawTransport(record: ServiceRecord): unknown {
  const ignored = foreignFieldsOf(record).find((field) => field.key === 'transport');
  return ignored === undefined ? (record as Record<string, unknown>)['transport'] : ignored.original;
}

/** The `transport` values that mean "this server listens on HTTP" (ours, and Marcus's own words). */
const HTTP_TRANSPORTS: ReadonlySet<unknown> = new Set(['streamable-http', 'sse', 'http', 'multi']);

/** Why the record's server serves HTTP, or undefined when nothing says so. */
function servesHttp(record: ServiceRecord, transport: unknown): string | undefined {
  if (HTTP_TRANSPORTS.has(transport)) return `its transport is ${JSON.stringify(transport)}`;
  if (record.mcp_args !== undefined && record.mcp_args.length > 0) return undefined;
  let words: string[];
  try {
    words = parseShellWords(record.mcp_command);
  } catch {
    return undefined; // refused later, with the reason, if it is ever to be started
  }
  const flag = words.slice(1).find((word) => word === '--http' || word === '--multi');
  return flag === undefined ? undefined : `it was started with ${flag}`;
}

/** Hosts a server binds to that are no address to connect to. */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]', '*']);
/** Loopback names: on another host's record they mean that host, not this one. */
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/i;

/**
 * The URL of an HTTP server whose record has no mcp_url, from the keys the
 * Python Marcus uses: `host`, `port`, `path` (default `/mcp`, as Marcus's
 * config), or, in multi-endpoint mode, `endpoints: { name: { host, port, path,
 * enabled } }` (the only enabled one, else the one named `human`: the
 * endpoint for an interactive client). A wildcard host (0.0.0.0) means
 * loopback on this host and the record's hostname on another.
 */
function endpointFromKeys(record: ServiceRecord, why: string, local: boolean, transport: HttpTransport): Connection {
  const raw = record as Record<string, unknown>;
  const refuse = (lacks: string): never => {
    throw new NoEndpointError(
      record.instance_id,
      `it serves HTTP (${why}) but its record has ${lacks}; starting its command would start a second server. Register it with an mcp_url (or its port)`,
    );
  };
  let keys: Record<string, unknown> = raw;
  let where = '';
  if (portOf(raw['port']) === undefined && isObject(raw['endpoints'])) {
    const usable = Object.entries(raw['endpoints']).filter(
      (entry): entry is [string, Record<string, unknown>] => isObject(entry[1]) && entry[1]['enabled'] !== false && portOf(entry[1]['port']) !== undefined,
    );
    const chosen = usable.length === 1 ? usable[0] : usable.find(([name]) => name === 'human');
    if (chosen === undefined) {
      const names = usable.map(([name]) => name).join(', ') || 'none with a port';
      refuse(`no mcp_url, and of its endpoints (${names}) none is the one to use (the only one, or "human")`);
    }
    [where, keys] = chosen as [string, Record<string, unknown>];
  }
  const port = portOf(keys['port']);
  if (port === undefined) refuse('no mcp_url and no port key to build one from');
  const declared = typeof keys['host'] === 'string' ? keys['host'].trim() : '';
  let host = declared;
  if (WILDCARD_HOSTS.has(host) || (!local && LOOPBACK.test(host))) {
    if (local) host = '127.0.0.1';
    else if (typeof record.hostname === 'string' && record.hostname !== '') host = record.hostname;
    else refuse(`no mcp_url and no host to reach it at (host ${JSON.stringify(declared)})`);
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const path = typeof keys['path'] === 'string' && keys['path'].startsWith('/') ? keys['path'] : '/mcp';
  const url = `http://${host}:${String(port)}${path}`;
  const problem = mcpUrlProblem(url);
  if (problem !== undefined) throw new InvalidConnectionError(record.instance_id, `${where ? `endpoint ${where}: ` : ''}${problem}`);
  return { kind: 'http', url, transport };
}

/** A TCP port from a record key: an integer, or digits (a config file's string), in 1–65535. */
function portOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65_535 ? n : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The longest run of words re-joined into one path: a path with more spaces is not recovered. */
const MAX_JOINED_WORDS = 16;

/**
 * Re-joins a program or script path that an unquoted command line split at
 * spaces: `python3 /a/My Projects/server.py` → `python3`, `/a/My Projects/server.py`.
 * Looked at: the program (argv[0]) and the script (the first word after it that
 * is not an option). A word that names an existing file stays as it is; one that
 * does not is joined with the words after it, with one space each, into the
 * shortest path that `isFile` says exists and that has a directory separator
 * (a bare word would be looked up in PATH). Nothing found: argv stays as it is.
 * Runs of several spaces or tabs in a path cannot be recovered.
 */
export function rejoinSplitPaths(argv: readonly string[], isFile: (path: string) => boolean): string[] {
  const words = [...argv];
  const join = (at: number) => {
    const word = words[at] as string;
    if (isFile(word)) return;
    const last = Math.min(words.length - 1, at + MAX_JOINED_WORDS - 1);
    for (let end = at + 1; end <= last; end++) {
      const candidate = words.slice(at, end + 1).join(' ');
      if (/[\\/]/.test(candidate) && isFile(candidate)) {
        words.splice(at, end - at + 1, candidate);
        return;
      }
    }
  };
  if (words.length === 0) return words;
  join(0);
  const script = words.findIndex((word, i) => i > 0 && !word.startsWith('-'));
  if (script > 0) join(script);
  return words;
}

/** POSIX `/…`, Windows `C:\…` or `\\server\…`: a relative directory would mean our cwd, not the instance's. */
function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/**
 * What is wrong with a writer's connection fields, or undefined: mcp_url must be
 * an http(s) URL, an HTTP transport needs an mcp_url, and `stdio` contradicts one.
 * Checked on register only; readers get InvalidConnectionError from connectionFor.
 */
export function connectionFieldsProblem(mcpUrl: string | undefined, transport: string | undefined): string | undefined {
  if (mcpUrl !== undefined) {
    const problem = mcpUrlProblem(mcpUrl);
    if (problem !== undefined) return problem;
    if (transport === 'stdio') return 'transport stdio contradicts mcp_url (clients would ignore the URL): drop one of them';
    return undefined;
  }
  if (transport === 'streamable-http' || transport === 'sse') return `transport ${transport} needs an mcp_url to connect to`;
  return undefined;
}
