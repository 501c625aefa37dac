// The record format's keys and limits that both the zod schema
// (record.schema.ts) and the hand-written check (record.fast-check.ts) use:
// one list, so the two cannot drift apart on them.

/** The record format version this code writes. Absent on disk means a seed-era Python record. */
export const SCHEMA_VERSION = 1;

/** The format's keys, in the schema's order: the schema's output lists present known keys in this order, then unknown keys as read. */
export const RECORD_KEYS = [
  'instance_id',
  'pid',
  'mcp_command',
  'mcp_args',
  'mcp_url',
  'transport',
  'log_dir',
  'project_name',
  'provider',
  'status',
  'started_at',
  'last_heartbeat',
  'platform',
  'working_directory',
  'runtime',
  'runtime_version',
  'schema_version',
  'hostname',
  'process_start_time',
  'process_start_token',
  'heartbeat_interval_ms',
  'capabilities',
  'supported_providers',
  'load_metrics',
  'api_version',
] as const;

export type RecordKey = (typeof RECORD_KEYS)[number];

/**
 * The keys a record is unusable without, each in its type: who it is
 * (instance_id, pid), how to reach it (mcp_command), when it started and beat
 * (ordering, ownership, liveness), and the rest of what Python's
 * `register_service` always writes with these types. A record that lacks one,
 * or has it in another type, is refused (INVALID_RECORD). Every other key —
 * `status` and the optional keys — in an unexpected type is kept, noted and
 * ignored (see parseRecord).
 */
export const REQUIRED_KEYS: ReadonlySet<string> = new Set<RecordKey>([
  'instance_id',
  'pid',
  'mcp_command',
  'log_dir',
  'project_name',
  'provider',
  'started_at',
  'last_heartbeat',
  'platform',
  'working_directory',
]);

/** Highest pid any supported OS hands out fits in a signed 32-bit int (what kill(2) takes). */
export const MAX_PID = 2 ** 31 - 1;
