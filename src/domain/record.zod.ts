import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { INSTANCE_ID_PATTERN, isValidInstanceId } from './instance-id.js';
import { MAX_PID, SCHEMA_VERSION } from './record.keys.js';
import { parseTimestamp } from './timestamp.js';

// The record format as zod schemas, apart from record.schema.ts so that the
// bundles initialise zod only when a schema is first built (ADR 0031).

/**
 * Record format v1, shared with the Python registry (snake_case keys), as zod
 * schemas: `write` is what we write; `read`, what a reader accepts, differs
 * only in that `status` may be absent (a Python `update_heartbeat(status=None)`
 * writes null, which is ignored). Unknown keys are kept and written back
 * untouched: the Python side passes `**kwargs` straight into the file.
 *
 * Built with zod/mini (the same checks and messages as zod's full API, at a
 * fraction of its start-up cost) and only on first use (ADR 0026): the common
 * well-formed record passes the hand-written check (record.fast-check.ts)
 * without it, so a `list` or a `connect` need not build it at all.
 */
export function buildSchemas() {
  // English messages, as zod's full API configures on import.
  z.config(en());

  /** The schema, with a description for the generated JSON Schema (`npm run schema`). */
  function described<T extends z.ZodMiniType>(schema: T, description: string): T {
    z.globalRegistry.add(schema, { description });
    return schema;
  }
  const maxString = (max: number) => z.string().check(z.maxLength(max));

  const timestamp = described(
    z.string().check(
      z.maxLength(64),
      z.refine((s) => parseTimestamp(s) !== undefined, { message: 'not an ISO 8601 date-time' }),
    ),
    'ISO 8601 date-time: with Z or an offset, or naive (local time, as older Python writers)',
  );

  const stringList = () => z.array(maxString(4096)).check(z.maxLength(1024));

  /**
   * Record format v1, shared with the Python registry (snake_case keys). Unknown
   * keys are kept and written back untouched: the Python side passes `**kwargs`
   * straight into the file.
   */
  const write = z.looseObject({
    instance_id: z.string().check(
      z.regex(INSTANCE_ID_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
      z.refine(isValidInstanceId, { message: 'must not contain ".."' }),
    ),
    pid: z.int().check(z.minimum(1), z.maximum(MAX_PID)),
    mcp_command: described(
      maxString(65_536),
      'The command line a client runs to start a stdio connection, kept for the Python clients. Readers that can, use mcp_args instead; a reader that must split it does so as a POSIX shell would, without running one, and refuses operators, expansions and unbalanced quotes.',
    ),
    mcp_args: z.optional(
      described(stringList(), 'The same command as argv (program first), for stdio servers. When present and non-empty, clients run it as is instead of splitting mcp_command.'),
    ),
    mcp_url: z.optional(
      described(
        maxString(4096),
        'For servers that listen: the absolute http:// or https:// URL of their MCP endpoint (e.g. http://127.0.0.1:8765/mcp). When present, clients connect to it rather than start a process.',
      ),
    ),
    transport: z.optional(
      described(
        z.enum(['stdio', 'streamable-http', 'sse']),
        'The MCP transport at mcp_url: streamable-http (the default when mcp_url is set) or sse (the legacy HTTP+SSE transport); stdio means clients start mcp_args / mcp_command and ignore mcp_url.',
      ),
    ),
    log_dir: maxString(4096),
    project_name: z.nullable(maxString(1024)),
    provider: z.nullable(maxString(1024)),
    status: maxString(256),
    started_at: timestamp,
    last_heartbeat: timestamp,
    platform: maxString(256),
    working_directory: maxString(4096),
    runtime: z.optional(maxString(256)),
    runtime_version: z.optional(maxString(256)),
    schema_version: z.optional(z.literal(SCHEMA_VERSION)),
    hostname: z.optional(maxString(255)),
    process_start_time: z.optional(timestamp),
    process_start_token: z.optional(
      described(
        z.string().check(z.minLength(1), z.maxLength(128)),
        'Names the registered process incarnation exactly, unlike process_start_time it does not move when the wall clock is stepped. Opaque: readers only compare it for equality with what their own probe reports for the pid (Linux: <boot_id>:<start time in clock ticks>, from /proc/sys/kernel/random/boot_id and field 22 of /proc/<pid>/stat). Equal means the same process; different means the pid was reused. Absent: process_start_time is compared instead.',
      ),
    ),
    heartbeat_interval_ms: z.optional(z.int().check(z.minimum(1), z.maximum(24 * 3600_000))),
    capabilities: z.optional(stringList()),
    supported_providers: z.optional(stringList()),
    load_metrics: z.optional(z.record(z.string(), z.unknown())),
    api_version: z.optional(maxString(256)),
  });
  return { write, read: z.extend(write, { status: z.optional(write.shape.status) }) };
}

export type RecordSchemas = ReturnType<typeof buildSchemas>;
