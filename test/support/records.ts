import { hostname } from 'node:os';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';

/** A valid v1 record with everything a writer sets; override what a test is about. */
export function makeRecord(overrides: Partial<ServiceRecord> & Record<string, unknown> = {}): ServiceRecord {
  const now = formatTimestamp(Date.now());
  const pid = typeof overrides.pid === 'number' ? overrides.pid : process.pid;
  return {
    instance_id: `marcus_${pid}`,
    pid,
    mcp_command: 'node /opt/marcus/server.js --stdio',
    mcp_args: ['node', '/opt/marcus/server.js', '--stdio'],
    log_dir: '/tmp/marcus/logs',
    project_name: 'demo',
    provider: 'github',
    status: 'running',
    started_at: now,
    last_heartbeat: now,
    platform: 'Linux',
    working_directory: '/home/dev/demo',
    runtime: 'node',
    runtime_version: process.versions.node,
    schema_version: 1,
    hostname: hostname(),
    heartbeat_interval_ms: 10_000,
    ...overrides,
  } as ServiceRecord;
}
