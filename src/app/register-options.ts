import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectionFieldsProblem } from '../domain/connection.js';
import { InvalidRecordError } from '../domain/errors.js';
import { defaultInstanceId } from '../domain/instance-id.js';
import { assertRecord, RECORD_KEYS, SCHEMA_VERSION, type ServiceRecord } from '../domain/record.schema.js';
import type { ProcessStart } from '../domain/staleness.js';
import { formatTimestamp } from '../domain/timestamp.js';

/** What a server says about itself when it registers. camelCase here, snake_case on disk. */
export interface RegisterOptions {
  /** The command a client runs to reach this server (kept for the Python clients). Required. */
  readonly mcpCommand: string;
  /** The same command as argv; clients prefer it over splitting mcpCommand. */
  readonly mcpArgs?: readonly string[];
  /** For servers that listen: the http(s) URL of their MCP endpoint. Anything else throws InvalidRecordError. */
  readonly mcpUrl?: string;
  /** The transport at mcpUrl: 'streamable-http' or 'sse'; 'stdio' (no mcpUrl) says clients start mcpArgs. Default: none written. */
  readonly transport?: 'stdio' | 'streamable-http' | 'sse';
  /** Default: ~/.marcus/logs. Stored absolute. */
  readonly logDir?: string;
  /** Default: null. */
  readonly projectName?: string | null;
  /** Default: null. */
  readonly provider?: string | null;
  /**
   * The entry's key (a file name in a json: store): ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$.
   * Default: marcus_<pid>, as the Python registry names instances; a second
   * registration of the same pid held at the same time (two registries in one
   * process) gets marcus_<pid>_2, then _3, … An id a live instance holds (another
   * process's, or another registry's in this process) is refused with
   * InstanceIdTakenError (INSTANCE_ID_TAKEN) unless `replace` is true; an id whose
   * holder is stale (its process gone) is taken over without a word.
   */
  readonly instanceId?: string;
  /**
   * Take the instance id over even if a live instance holds it (a restarted server
   * that knows its predecessor is going away). The old holder's own cleanup never
   * removes the new entry. Default: false.
   */
  readonly replace?: boolean;
  /** The registered process. Default: this process (`run` passes its child's). */
  readonly pid?: number;
  /** Default: 'running'. */
  readonly status?: string;
  /** Default: process.cwd(). */
  readonly workingDirectory?: string;
  readonly capabilities?: readonly string[];
  readonly supportedProviders?: readonly string[];
  readonly loadMetrics?: Readonly<Record<string, unknown>>;
  readonly apiVersion?: string;
  /**
   * How often the record's last_heartbeat is refreshed; the record declares it so
   * readers derive its TTL. Default: the registry's (10 000 ms). `false`: no heartbeat,
   * the record is judged by its pid alone.
   */
  readonly heartbeatIntervalMs?: number | false;
  /** More keys written as they are (the Python API's **kwargs). Keys of the record format itself are ignored here: set them through their options. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The smallest heartbeat interval register() accepts: each beat is a store write, and a faster one is a mistake. */
export const MIN_HEARTBEAT_INTERVAL_MS = 100;

/** Python's platform.system() names. */
export function platformName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'linux' ? 'Linux' : platform === 'darwin' ? 'Darwin' : platform === 'win32' ? 'Windows' : platform;
}

export interface RecordFacts {
  readonly now: number;
  readonly hostname: string;
  /** From the liveness probe: written as process_start_time / process_start_token. */
  readonly processStart: ProcessStart | undefined;
  readonly defaultHeartbeatIntervalMs: number;
}

/** Builds and validates the v1 record for a registration. */
export function buildRecord(options: RegisterOptions, facts: RecordFacts): ServiceRecord {
  const pid = options.pid ?? process.pid;
  const connectionProblem = connectionFieldsProblem(options.mcpUrl, options.transport);
  if (connectionProblem !== undefined) {
    throw new InvalidRecordError(`invalid record: ${connectionProblem}`, { details: { issues: [connectionProblem] } });
  }
  const asked = options.heartbeatIntervalMs;
  if (typeof asked === 'number' && Number.isFinite(asked) && asked > 0 && asked < MIN_HEARTBEAT_INTERVAL_MS) {
    const issue = `heartbeatIntervalMs must be at least ${MIN_HEARTBEAT_INTERVAL_MS} ms (or false for none), got ${asked}`;
    throw new InvalidRecordError(`invalid record: ${issue}`, { details: { issues: [issue] } });
  }
  const now = formatTimestamp(facts.now);
  const interval = options.heartbeatIntervalMs === false ? undefined : (options.heartbeatIntervalMs ?? facts.defaultHeartbeatIntervalMs);
  const record: Record<string, unknown> = {
    ...unknownKeysOf(options.extra),
    instance_id: options.instanceId ?? defaultInstanceId(pid),
    pid,
    mcp_command: options.mcpCommand,
    ...(options.mcpArgs && { mcp_args: [...options.mcpArgs] }),
    ...(options.mcpUrl !== undefined && { mcp_url: options.mcpUrl }),
    ...(options.transport !== undefined && { transport: options.transport }),
    log_dir: resolve(options.logDir ?? join(homedir(), '.marcus', 'logs')),
    project_name: options.projectName ?? null,
    provider: options.provider ?? null,
    status: options.status ?? 'running',
    started_at: now,
    last_heartbeat: now,
    platform: platformName(),
    working_directory: resolve(options.workingDirectory ?? process.cwd()),
    runtime: 'node',
    runtime_version: process.versions.node,
    schema_version: SCHEMA_VERSION,
    hostname: facts.hostname,
    ...(facts.processStart?.timeMs !== undefined && { process_start_time: formatTimestamp(facts.processStart.timeMs) }),
    ...(facts.processStart?.token !== undefined && { process_start_token: facts.processStart.token }),
    ...(interval !== undefined && { heartbeat_interval_ms: interval }),
    ...(options.capabilities && { capabilities: [...options.capabilities] }),
    ...(options.supportedProviders && { supported_providers: [...options.supportedProviders] }),
    ...(options.loadMetrics && { load_metrics: { ...options.loadMetrics } }),
    ...(options.apiVersion !== undefined && { api_version: options.apiVersion }),
  };
  return assertRecord(record);
}

const FORMAT_KEYS: ReadonlySet<string> = new Set(RECORD_KEYS);

/** `extra` carries keys outside the format only: it must not forge pid, hostname, timestamps or the TTL. */
function unknownKeysOf(extra: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extra ?? {})) if (!FORMAT_KEYS.has(key)) kept[key] = value;
  return kept;
}

/** What update() may change on a registered record. */
export interface UpdatePatch {
  readonly status?: string;
  readonly loadMetrics?: Readonly<Record<string, unknown>>;
  readonly projectName?: string | null;
  readonly provider?: string | null;
  readonly capabilities?: readonly string[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

export function applyPatch(record: ServiceRecord, patch: UpdatePatch, now: number): ServiceRecord {
  return {
    ...record,
    ...unknownKeysOf(patch.extra),
    ...(patch.status !== undefined && { status: patch.status }),
    ...(patch.loadMetrics !== undefined && { load_metrics: { ...patch.loadMetrics } }),
    ...(patch.projectName !== undefined && { project_name: patch.projectName }),
    ...(patch.provider !== undefined && { provider: patch.provider }),
    ...(patch.capabilities !== undefined && { capabilities: [...patch.capabilities] }),
    instance_id: record.instance_id,
    last_heartbeat: formatTimestamp(now),
  };
}
