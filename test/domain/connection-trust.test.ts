import { describe, expect, it } from 'vitest';
import { connectionFor, rejoinSplitPaths } from '../../src/domain/connection.js';
import { NoEndpointError, RegistryError, UntrustedCommandError, isRetryable } from '../../src/domain/errors.js';
import { parseRecord, type ServiceRecord } from '../../src/domain/record.schema.js';
import { fixedRecord } from '../support/records.js';

/** What connectionFor may start or reach (ADR 0018). */

function thrown(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (error) {
    return error as RegistryError;
  }
  throw new Error('expected a throw');
}

/** As the Python Marcus registers itself: an unquoted command line, no mcp_args, no hostname. */
function python(mcpCommand: string, extra: Record<string, unknown> = {}): ServiceRecord {
  return fixedRecord({ instance_id: 'marcus_77', pid: 77, mcp_command: mcpCommand, python_version: '3.11.7', ...extra });
}

const here = { localHostname: 'here.example' };

describe('re-joining paths an unquoted command split at a space', () => {
  const files = new Set(['/usr/bin/python3', '/home/a/My Projects/server.py', '/opt/My Python/bin/python3', 'My Projects/server.py']);
  const isFile = (p: string) => files.has(p);

  it('re-joins the script path into the file that exists', () => {
    expect(rejoinSplitPaths(['/usr/bin/python3', '/home/a/My', 'Projects/server.py', '--http'], isFile)).toEqual(['/usr/bin/python3', '/home/a/My Projects/server.py', '--http']);
  });

  it('re-joins the program (an interpreter in a directory with a space) and then the script', () => {
    expect(rejoinSplitPaths(['/opt/My', 'Python/bin/python3', '-u', '/home/a/My', 'Projects/server.py', 'x'], isFile)).toEqual([
      '/opt/My Python/bin/python3',
      '-u',
      '/home/a/My Projects/server.py',
      'x',
    ]);
  });

  it('a relative script path (resolved by the caller against the working directory)', () => {
    expect(rejoinSplitPaths(['/usr/bin/python3', 'My', 'Projects/server.py'], isFile)).toEqual(['/usr/bin/python3', 'My Projects/server.py']);
  });

  it('leaves argv alone when the words exist, when no join exists, and never makes a bare (PATH) word', () => {
    expect(rejoinSplitPaths(['/usr/bin/python3', '/home/a/My', 'Projects/other.py'], isFile)).toEqual(['/usr/bin/python3', '/home/a/My', 'Projects/other.py']);
    const withBare = new Set(['/usr/bin/python3', 'a b']);
    expect(rejoinSplitPaths(['/usr/bin/python3', 'a', 'b'], (p) => withBare.has(p))).toEqual(['/usr/bin/python3', 'a', 'b']);
    expect(rejoinSplitPaths([], isFile)).toEqual([]);
  });

  it('connectionFor re-joins only an mcp_command, never mcp_args (argv as written)', () => {
    const record = python('/usr/bin/python3 /home/a/My Projects/server.py beta', { working_directory: '/home/a' });
    expect(connectionFor(record, { ...here, isFile })).toEqual({ kind: 'stdio', command: '/usr/bin/python3', args: ['/home/a/My Projects/server.py', 'beta'], cwd: '/home/a' });
    // Without the predicate: argv as parsed (what a pure caller gets).
    expect(connectionFor(record)).toMatchObject({ args: ['/home/a/My', 'Projects/server.py', 'beta'] });
    const args = fixedRecord({ mcp_args: ['/usr/bin/python3', '/home/a/My', 'Projects/server.py'] });
    expect(connectionFor(args, { isFile })).toMatchObject({ args: ['/home/a/My', 'Projects/server.py'] });
  });
});

describe('a server that serves HTTP is bridged to, never started again', () => {
  it('--http / --multi in a Python command line, or transport http / multi, with a port key: its URL', () => {
    expect(connectionFor(python('/usr/bin/python3 server.py --http', { port: 4298 }), here)).toEqual({
      kind: 'http',
      url: 'http://127.0.0.1:4298/mcp',
      transport: 'streamable-http',
    });
    // Marcus's own words, as raw values the schema may keep untyped.
    const typed = python('/usr/bin/python3 server.py', { transport: 'http', port: '8080', host: '0.0.0.0', path: '/api/mcp' }) as ServiceRecord;
    expect(connectionFor(typed, here)).toEqual({ kind: 'http', url: 'http://127.0.0.1:8080/api/mcp', transport: 'streamable-http' });
    expect(connectionFor(python('/usr/bin/python3 server.py --multi', { host: '::1', port: 9000 }), here)).toMatchObject({ url: 'http://[::1]:9000/mcp' });
  });

  it('multi-endpoint records: the only enabled endpoint, else the one named human', () => {
    const endpoints = {
      human: { host: '127.0.0.1', port: 4298, path: '/mcp' },
      agent: { host: '127.0.0.1', port: 4299, path: '/mcp' },
      analytics: { host: '127.0.0.1', port: 4300, path: '/mcp', enabled: false },
    };
    expect(connectionFor(python('/usr/bin/python3 s.py', { transport: 'http', endpoints }) as ServiceRecord, here)).toMatchObject({ url: 'http://127.0.0.1:4298/mcp' });
    const onlyAgent = { agent: endpoints.agent, analytics: endpoints.analytics };
    expect(connectionFor(python('/usr/bin/python3 s.py --multi', { endpoints: onlyAgent }), here)).toMatchObject({ url: 'http://127.0.0.1:4299/mcp' });
    const error = thrown(() => connectionFor(python('/usr/bin/python3 s.py --multi', { endpoints: { agent: endpoints.agent, seneca: endpoints.agent } }), here));
    expect(error.code).toBe('NO_ENDPOINT');
    expect(error.message).toMatch(/endpoints \(agent, seneca\) none is the one to use/);
  });

  it('without a URL or a port: NO_ENDPOINT saying what the record lacks', () => {
    for (const record of [
      python('/usr/bin/python3 /srv/marcus/server.py --http'),
      python('/usr/bin/python3 /srv/marcus/server.py', { transport: 'multi' }) as ServiceRecord,
      python('/usr/bin/python3 /srv/marcus/server.py', { transport: 'sse' }),
      python('/usr/bin/python3 /srv/marcus/server.py --http', { port: 'eighty' }),
    ]) {
      const error = thrown(() => connectionFor(record, here));
      expect(error).toBeInstanceOf(NoEndpointError);
      expect(error.message).toMatch(/serves HTTP \((it was started with --http|its transport is "(multi|sse)")\) but its record has no mcp_url and no port key/);
      expect(isRetryable(error)).toBe(false);
    }
  });

  it('mcp_url wins; transport stdio and mcp_args are not an HTTP server even with --http in them', () => {
    expect(connectionFor(python('/usr/bin/python3 s.py --http', { mcp_url: 'http://10.0.0.5:1/mcp', port: 2 }), here)).toMatchObject({ url: 'http://10.0.0.5:1/mcp' });
    expect(connectionFor(python('/usr/bin/python3 s.py --http', { transport: 'stdio' }), here)).toMatchObject({ kind: 'stdio' });
    expect(connectionFor(fixedRecord({ mcp_args: ['node', 's.js', '--http'] }), here)).toMatchObject({ kind: 'stdio' });
    // A transport of another type is not ours to interpret: a plain Python command.
    expect(connectionFor(python('/usr/bin/python3 s.py', { transport: 3 }) as ServiceRecord, here)).toMatchObject({ kind: 'stdio' });
  });
});

describe('records of another host and untrusted stores', () => {
  it('a record of another host is never started: its URL, its host/port keys on its own hostname, or NO_ENDPOINT', () => {
    const remote = fixedRecord({ hostname: 'there.example', mcp_args: ['/bin/sh', '-c', 'id'] });
    const error = thrown(() => connectionFor(remote, here));
    expect(error.code).toBe('NO_ENDPOINT');
    expect(error.message).toMatch(/it runs on host there\.example and its record has no mcp_url: its command is not started here/);
    expect(connectionFor({ ...remote, mcp_url: 'http://there.example:8080/mcp' }, here)).toMatchObject({ kind: 'http', url: 'http://there.example:8080/mcp' });
    // A wildcard or loopback host on another host's record means that host.
    expect(connectionFor({ ...remote, transport: 'http', host: '0.0.0.0', port: 4298 } as unknown as ServiceRecord, here)).toMatchObject({ url: 'http://there.example:4298/mcp' });
    expect(connectionFor({ ...remote, transport: 'http', host: 'localhost', port: 4298 } as unknown as ServiceRecord, here)).toMatchObject({ url: 'http://there.example:4298/mcp' });
    expect(thrown(() => connectionFor({ ...remote, transport: 'stdio', mcp_url: 'http://there.example:1/mcp' }, here)).message).toMatch(/its record declares transport stdio: its command is not started here/);
    // Same host, any case: started.
    expect(connectionFor({ ...remote, hostname: 'HERE.example' }, here)).toMatchObject({ kind: 'stdio', command: '/bin/sh' });
  });

  it('a store others can write to: UNTRUSTED_COMMAND instead of a command; its URLs are still reached', () => {
    const local = fixedRecord({ mcp_args: ['/bin/sh', '-c', 'id'] });
    const error = thrown(() => connectionFor(local, { ...here, untrustedWriters: 'anyone with the etcd prefix can write' }));
    expect(error).toBeInstanceOf(UntrustedCommandError);
    expect(error.message).toMatch(/refusing to start the command of instance marcus_1: anyone with the etcd prefix can write/);
    expect(connectionFor({ ...local, mcp_url: 'http://127.0.0.1:1/mcp' }, { ...here, untrustedWriters: 'x' }).kind).toBe('http');
  });
});

describe('a record as the stores read it (through parseRecord)', () => {
  it('transport "http" / "multi" that the reader ignores still means an HTTP server: bridged or NO_ENDPOINT, never started', () => {
    const raw = { ...python('/usr/bin/python3 /srv/marcus/server.py'), transport: 'http', port: 8765 };
    const parsed = parseRecord(raw);
    if (!parsed.ok) throw parsed.error;
    expect(parsed.record.transport).toBeUndefined(); // ignored by our logic (IGNORED_FIELD)…
    expect(connectionFor(parsed.record, here)).toEqual({ kind: 'http', url: 'http://127.0.0.1:8765/mcp', transport: 'streamable-http' });
    const { port: _port, ...noPort } = raw;
    const multi = parseRecord({ ...noPort, transport: 'multi' });
    if (!multi.ok) throw multi.error;
    expect(thrown(() => connectionFor(multi.record, here))).toBeInstanceOf(NoEndpointError);
  });
});
