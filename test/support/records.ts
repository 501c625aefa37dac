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

/**
 * A minimal v1 record with fixed, deterministic values (pid 1, 2026-11-21T12:00Z):
 * for pure domain tests that must not depend on this process or the clock.
 */
export function fixedRecord(overrides: Partial<ServiceRecord> & Record<string, unknown> = {}): ServiceRecord {
  return {
    instance_id: 'marcus_1',
    pid: 1,
    mcp_command: 'node server.js',
    log_dir: '/var/log/marcus',
    project_name: 'demo',
    provider: 'github',
    status: 'running',
    started_at: '2026-11-21T12:00:00.000000+00:00',
    last_heartbeat: '2026-11-21T12:00:00.000000+00:00',
    platform: 'Linux',
    working_directory: '/srv',
    ...overrides,
  } as ServiceRecord;
}

/**
 * Writes records straight into a json: registry directory, as another writer
 * would (a forged or planted entry): the facade never hands out its store.
 */
export async function plantRecords(dir: string, ...records: ServiceRecord[]): Promise<void> {
  const { openJsonDirStore } = await import('../../src/adapters/json-dir/json-dir.store.js');
  const store = await openJsonDirStore({ dir });
  try {
    for (const record of records) await store.put(record);
  } finally {
    await store.close();
  }
}
