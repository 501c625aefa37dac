import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPatch, buildRecord, platformName, type RecordFacts } from '../../../src/app/register-options.js';
import { RegistryError } from '../../../src/domain/errors.js';
import { parseRecord } from '../../../src/domain/record.schema.js';
import { formatTimestamp } from '../../../src/domain/timestamp.js';

const NOW = Date.UTC(2026, 10, 21, 5, 30, 0, 123);
const facts: RecordFacts = { now: NOW, hostname: 'devbox', processStart: { timeMs: NOW - 5_000, token: 'b00t-1d:4242' }, defaultHeartbeatIntervalMs: 10_000 };

describe('platformName', () => {
  it("maps Node platforms to Python's platform.system() names", () => {
    expect(platformName('linux')).toBe('Linux');
    expect(platformName('darwin')).toBe('Darwin');
    expect(platformName('win32')).toBe('Windows');
    expect(platformName('freebsd')).toBe('freebsd');
  });

  it('defaults to this process', () => {
    expect(platformName()).toBe(platformName(process.platform));
  });
});

describe('buildRecord: defaults', () => {
  const record = buildRecord({ mcpCommand: 'node server.js' }, facts);

  it('names the instance marcus_<pid> after this process', () => {
    expect(record.instance_id).toBe(`marcus_${process.pid}`);
    expect(record.pid).toBe(process.pid);
  });

  it('names the instance after a given pid', () => {
    const child = buildRecord({ mcpCommand: 'x', pid: 4242 }, facts);
    expect(child.instance_id).toBe('marcus_4242');
    expect(child.pid).toBe(4242);
  });

  it('writes a running v1 node record with this host, platform and runtime', () => {
    expect(record.status).toBe('running');
    expect(record.schema_version).toBe(1);
    expect(record.runtime).toBe('node');
    expect(record.runtime_version).toBe(process.versions.node);
    expect(record.platform).toBe(platformName(process.platform));
    expect(['Linux', 'Darwin', 'Windows']).toContain(record.platform);
    expect(record.hostname).toBe('devbox');
    expect(record.mcp_command).toBe('node server.js');
  });

  it('writes null project and provider', () => {
    expect(record.project_name).toBeNull();
    expect(record.provider).toBeNull();
  });

  it('stamps started_at and last_heartbeat with now, in the Python UTC form', () => {
    expect(record.started_at).toBe('2026-11-21T05:30:00.123000+00:00');
    expect(record.last_heartbeat).toBe(record.started_at);
  });

  it('records the process start time and start token when known, and omits them otherwise', () => {
    expect(record.process_start_time).toBe(formatTimestamp(NOW - 5_000));
    expect(record.process_start_token).toBe('b00t-1d:4242');
    const unknown = buildRecord({ mcpCommand: 'x' }, { ...facts, processStart: undefined });
    expect('process_start_time' in unknown).toBe(false);
    expect('process_start_token' in unknown).toBe(false);
    const timeOnly = buildRecord({ mcpCommand: 'x' }, { ...facts, processStart: { timeMs: NOW - 5_000 } });
    expect(timeOnly.process_start_time).toBe(formatTimestamp(NOW - 5_000));
    expect('process_start_token' in timeOnly).toBe(false);
  });

  it('uses ~/.marcus/logs and the cwd, absolute', () => {
    expect(record.log_dir).toBe(join(homedir(), '.marcus', 'logs'));
    expect(record.working_directory).toBe(process.cwd());
  });

  it('makes a relative log_dir and working_directory absolute', () => {
    const r = buildRecord({ mcpCommand: 'x', logDir: 'logs', workingDirectory: 'proj/sub' }, facts);
    expect(r.log_dir).toBe(resolve('logs'));
    expect(r.working_directory).toBe(resolve('proj/sub'));
  });

  it('declares the default heartbeat interval', () => {
    expect(record.heartbeat_interval_ms).toBe(10_000);
  });

  it('declares a given heartbeat interval', () => {
    expect(buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: 2_500 }, facts).heartbeat_interval_ms).toBe(2_500);
  });

  it('omits heartbeat_interval_ms when heartbeatIntervalMs is false', () => {
    const r = buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: false }, facts);
    expect('heartbeat_interval_ms' in r).toBe(false);
    expect(JSON.stringify(r)).not.toContain('heartbeat_interval_ms');
  });

  it('omits optional keys nobody gave', () => {
    for (const key of ['mcp_args', 'mcp_url', 'transport', 'capabilities', 'supported_providers', 'load_metrics', 'api_version']) {
      expect(key in record).toBe(false);
    }
  });

  it('produces a record that validates', () => {
    expect(parseRecord(record).ok).toBe(true);
  });
});

describe('buildRecord: given options', () => {
  it('maps every camelCase option to its snake_case key', () => {
    const r = buildRecord(
      {
        mcpCommand: 'node s.js --stdio',
        mcpArgs: ['node', 's.js', '--stdio'],
        mcpUrl: 'http://127.0.0.1:4298/mcp',
        transport: 'streamable-http',
        logDir: '/var/log/m',
        projectName: 'demo',
        provider: 'planka',
        instanceId: 'my.server-1',
        pid: 77,
        status: 'starting',
        workingDirectory: '/srv/demo',
        capabilities: ['board'],
        supportedProviders: ['planka', 'github'],
        loadMetrics: { active_agents: 3 },
        apiVersion: '2.1',
        heartbeatIntervalMs: 500,
      },
      facts,
    );
    expect(r).toMatchObject({
      instance_id: 'my.server-1',
      pid: 77,
      mcp_command: 'node s.js --stdio',
      mcp_args: ['node', 's.js', '--stdio'],
      mcp_url: 'http://127.0.0.1:4298/mcp',
      transport: 'streamable-http',
      log_dir: '/var/log/m',
      project_name: 'demo',
      provider: 'planka',
      status: 'starting',
      working_directory: '/srv/demo',
      capabilities: ['board'],
      supported_providers: ['planka', 'github'],
      load_metrics: { active_agents: 3 },
      api_version: '2.1',
      heartbeat_interval_ms: 500,
    });
  });

  it('copies arrays and metrics rather than sharing the caller\'s objects', () => {
    const args = ['node', 's.js'];
    const metrics = { active_agents: 1 };
    const r = buildRecord({ mcpCommand: 'x', mcpArgs: args, loadMetrics: metrics }, facts);
    args.push('--evil');
    metrics.active_agents = 99;
    expect(r.mcp_args).toEqual(['node', 's.js']);
    expect(r.load_metrics).toEqual({ active_agents: 1 });
  });

  it('keeps extra keys, but known keys win over them', () => {
    const r = buildRecord(
      {
        mcpCommand: 'node s.js',
        extra: { python_compat: true, nested: { a: [1] }, instance_id: 'evil', pid: 1, status: 'hijacked', schema_version: 1, hostname: 'spoof', runtime: 'python', process_start_token: 'forged' },
      },
      facts,
    );
    expect(r['python_compat']).toBe(true);
    expect(r['nested']).toEqual({ a: [1] });
    expect(r.instance_id).toBe(`marcus_${process.pid}`);
    expect(r.pid).toBe(process.pid);
    expect(r.status).toBe('running');
    expect(r.hostname).toBe('devbox');
    expect(r.runtime).toBe('node');
    expect(r.process_start_token).toBe('b00t-1d:4242');
  });
});

describe('buildRecord: invalid input', () => {
  it.each(['../evil', 'a/b', '..', '-x', ''])('rejects instance id %j with a typed error', (instanceId) => {
    let caught: unknown;
    try {
      buildRecord({ mcpCommand: 'x', instanceId }, facts);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RegistryError);
    expect(['INVALID_RECORD', 'INVALID_INSTANCE_ID']).toContain((caught as RegistryError).code);
    expect((caught as RegistryError).message).toContain('instance_id');
  });

  it.each([0, -1, 1.5])('rejects pid %d', (pid) => {
    expect(() => buildRecord({ mcpCommand: 'x', pid, instanceId: 'fixed' }, facts)).toThrow(RegistryError);
  });

  it('rejects a zero heartbeat interval', () => {
    expect(() => buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: 0 }, facts)).toThrow(RegistryError);
    // A floor: every beat is a store write.
    expect(() => buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: 10 }, facts)).toThrow(/at least 100 ms/);
    expect(buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: 100 }, facts).heartbeat_interval_ms).toBe(100);
  });

  it('rejects an unknown transport', () => {
    expect(() => buildRecord({ mcpCommand: 'x', transport: 'pigeon' as 'sse' }, facts)).toThrow(RegistryError);
  });

  it('ignores format keys in extra instead of letting them make the record invalid', () => {
    const record = buildRecord({ mcpCommand: 'x', extra: { api_version: 7, pid: -1 } }, facts);
    expect('api_version' in record).toBe(false);
    expect(record.pid).toBe(process.pid);
  });
});

describe('applyPatch', () => {
  const base = buildRecord(
    { mcpCommand: 'node s.js', projectName: 'demo', provider: 'github', capabilities: ['a'], loadMetrics: { active_agents: 1 }, extra: { keep: 'me' } },
    facts,
  );
  const LATER = NOW + 60_000;

  it('refreshes last_heartbeat and keeps started_at', () => {
    const r = applyPatch(base, {}, LATER);
    expect(r.last_heartbeat).toBe(formatTimestamp(LATER));
    expect(r.started_at).toBe(base.started_at);
  });

  it('keeps instance_id even when extra tries to change it', () => {
    const r = applyPatch(base, { extra: { instance_id: 'other' } }, LATER);
    expect(r.instance_id).toBe(base.instance_id);
  });

  it('keeps last_heartbeat as now even when extra tries to change it', () => {
    const r = applyPatch(base, { extra: { last_heartbeat: '2001-01-01T00:00:00+00:00' } }, LATER);
    expect(r.last_heartbeat).toBe(formatTimestamp(LATER));
  });

  it('changes status, load metrics, project, provider and capabilities', () => {
    const r = applyPatch(base, { status: 'draining', loadMetrics: { active_agents: 4 }, projectName: null, provider: 'planka', capabilities: ['b', 'c'] }, LATER);
    expect(r).toMatchObject({ status: 'draining', load_metrics: { active_agents: 4 }, project_name: null, provider: 'planka', capabilities: ['b', 'c'] });
  });

  it('replaces load_metrics rather than merging them', () => {
    const r = applyPatch(base, { loadMetrics: { cpu_usage: 3 } }, LATER);
    expect(r.load_metrics).toEqual({ cpu_usage: 3 });
  });

  it('leaves what the patch does not mention, including unknown keys', () => {
    const r = applyPatch(base, { status: 'busy' }, LATER);
    expect(r.project_name).toBe('demo');
    expect(r.provider).toBe('github');
    expect(r.capabilities).toEqual(['a']);
    expect(r['keep']).toBe('me');
    expect(r.hostname).toBe('devbox');
  });

  it('adds extra keys', () => {
    expect(applyPatch(base, { extra: { progress: 0.5 } }, LATER)['progress']).toBe(0.5);
  });

  it('does not modify the record it was given', () => {
    const copy = structuredClone(base);
    applyPatch(base, { status: 'x', loadMetrics: { a: 1 }, extra: { y: 2 } }, LATER);
    expect(base).toEqual(copy);
  });

  it('gives a record that still validates', () => {
    expect(parseRecord(applyPatch(base, { status: 'draining', loadMetrics: { active_agents: 2 } }, LATER)).ok).toBe(true);
  });
});

describe('extra keys never forge the record’s own fields', () => {
  const facts = { now: 0, hostname: 'devbox', processStart: undefined, defaultHeartbeatIntervalMs: 10_000 };

  it('applyPatch keeps pid, hostname and started_at whatever extra says', () => {
    const base = buildRecord({ mcpCommand: 'x', pid: 4242 }, facts);
    const patched = applyPatch(base, { extra: { pid: 1, hostname: 'spoof', started_at: '2001-01-01T00:00:00Z', note: 'kept' } }, 1000);
    expect(patched.pid).toBe(4242);
    expect(patched.hostname).toBe('devbox');
    expect(patched.started_at).toBe(base.started_at);
    expect(patched['note']).toBe('kept');
  });

  it('buildRecord ignores format keys in extra, so heartbeatIntervalMs: false stays without a TTL', () => {
    const record = buildRecord({ mcpCommand: 'x', heartbeatIntervalMs: false, extra: { heartbeat_interval_ms: 5, mcp_url: 'http://127.0.0.1:1/mcp', python_version: '3.11' } }, facts);
    expect('heartbeat_interval_ms' in record).toBe(false);
    expect('mcp_url' in record).toBe(false);
    expect(record['python_version']).toBe('3.11');
  });
});
