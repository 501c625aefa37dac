import { InvalidConnectionError } from './errors.js';
import type { ServiceRecord } from './record.schema.js';
import { parseShellWords } from './shell-words.js';

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

/**
 * How to reach the instance a record describes, in this order:
 * 1. `transport: 'stdio'` — the writer says it speaks stdio: argv as in 3–4.
 * 2. `mcp_url` — an http(s) endpoint; `transport: 'sse'` means the legacy SSE
 *    transport, anything else Streamable HTTP.
 * 3. `mcp_args` — argv, as written (non-empty).
 * 4. `mcp_command` — split into argv by `parseShellWords`, never by a shell and
 *    never on spaces.
 *
 * Throws InvalidConnectionError (a bad mcp_url, an empty program name) or
 * UnsafeCommandError (an mcp_command that needs a shell). Pure: nothing is
 * checked on the network or the file system.
 */
export function connectionFor(record: ServiceRecord): Connection {
  if (typeof record !== 'object' || record === null || typeof record.mcp_command !== 'string') {
    // A plain-JS caller passing get()'s { record, health } or undefined: say so, do not crash inside.
    throw new InvalidConnectionError(String((record as { instance_id?: unknown } | null)?.instance_id ?? record), 'not a service record (pass the record, e.g. (await registry.get(id))?.record)');
  }
  const url = record.mcp_url;
  if (url !== undefined && record.transport !== 'stdio') {
    const problem = mcpUrlProblem(url);
    if (problem !== undefined) throw new InvalidConnectionError(record.instance_id, problem);
    return { kind: 'http', url, transport: record.transport === 'sse' ? 'sse' : 'streamable-http' };
  }
  const argv = record.mcp_args !== undefined && record.mcp_args.length > 0 ? record.mcp_args : parseShellWords(record.mcp_command);
  const [command, ...args] = argv as [string, ...string[]];
  if (command === '') throw new InvalidConnectionError(record.instance_id, 'the command to start is an empty string');
  const cwd = record.working_directory;
  return { kind: 'stdio', command, args, ...(isAbsolutePath(cwd) && { cwd }) };
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
