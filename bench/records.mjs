// Records the benchmarks write: live ones carry this process's pid and start
// time (so discovery judges them healthy and never removes them), stale ones
// carry this pid with a start time an hour off (judged pid-reused: stale).
import { hostname } from 'node:os';

const HOUR = 3_600_000;

export function isoUtc(epochMs) {
  return `${new Date(epochMs).toISOString().slice(0, 23)}000+00:00`;
}

/** A record as the facade writes it, about 600 bytes of JSON. */
export function benchRecord(instanceId, { startTimeMs, now = Date.now(), stale = false }) {
  return {
    instance_id: instanceId,
    pid: process.pid,
    mcp_command: `node /opt/marcus/server.js --stdio --instance ${instanceId}`,
    mcp_args: ['node', '/opt/marcus/server.js', '--stdio', '--instance', instanceId],
    log_dir: '/var/tmp/marcus/logs',
    project_name: 'bench',
    provider: 'github',
    status: 'running',
    started_at: isoUtc(now),
    last_heartbeat: isoUtc(now),
    platform: 'Linux',
    working_directory: '/opt/marcus',
    runtime: 'node',
    runtime_version: process.versions.node,
    schema_version: 1,
    hostname: hostname(),
    process_start_time: isoUtc(stale ? startTimeMs - HOUR : startTimeMs),
    // An hour: the entries stay healthy for the whole run instead of turning unresponsive.
    heartbeat_interval_ms: HOUR,
    capabilities: ['tasks', 'agents'],
  };
}

export const liveId = (i) => `bench_live_${String(i).padStart(5, '0')}`;
export const staleId = (i) => `bench_stale_${String(i).padStart(5, '0')}`;
