import { describe, expect, it } from 'vitest';
import { connectionFieldsProblem, connectionFor, mcpUrlProblem } from '../../src/domain/connection.js';
import { InvalidConnectionError, RegistryError, UnsafeCommandError, isRetryable } from '../../src/domain/errors.js';
import { ConnectionFailedError } from '../../src/interfaces/cli/cli.errors.js';
import { makeRecord } from '../support/records.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('connectionFor', () => {
  it('refuses what is not a record (get()’s { record, health }, undefined) with a typed error', () => {
    for (const wrong of [undefined, null, { record: makeRecord(), health: 'healthy' }]) {
      expect(() => connectionFor(wrong as never)).toThrow(InvalidConnectionError);
    }
  });

  it('uses mcp_url with streamable-http by default, and sse when the record says so', () => {
    const base = makeRecord({ mcp_url: 'http://127.0.0.1:8765/mcp' });
    expect(connectionFor(base)).toEqual({ kind: 'http', url: 'http://127.0.0.1:8765/mcp', transport: 'streamable-http' });
    expect(connectionFor({ ...base, transport: 'streamable-http' })).toEqual({ kind: 'http', url: 'http://127.0.0.1:8765/mcp', transport: 'streamable-http' });
    expect(connectionFor({ ...base, mcp_url: 'https://marcus.example/sse', transport: 'sse' })).toEqual({ kind: 'http', url: 'https://marcus.example/sse', transport: 'sse' });
  });

  it('prefers mcp_url over mcp_args and mcp_command', () => {
    const record = makeRecord({ mcp_url: 'http://127.0.0.1:1/mcp', mcp_args: ['node', 'x.js'], mcp_command: 'node x.js' });
    expect(connectionFor(record).kind).toBe('http');
  });

  it('a record that declares transport stdio is started, whatever its mcp_url', () => {
    const record = makeRecord({ mcp_url: 'http://127.0.0.1:1/mcp', transport: 'stdio', mcp_args: ['node', 'x.js'] });
    expect(connectionFor(record)).toMatchObject({ kind: 'stdio', command: 'node', args: ['x.js'] });
  });

  it('uses mcp_args as argv, in the instance’s working directory', () => {
    const record = makeRecord({ mcp_args: ['node', 'server.js', 'a b', '$(id)'], mcp_command: 'ignored | really', working_directory: '/srv/marcus' });
    expect(connectionFor(record)).toEqual({ kind: 'stdio', command: 'node', args: ['server.js', 'a b', '$(id)'], cwd: '/srv/marcus' });
  });

  it('parses mcp_command without a shell when there is no mcp_args (or an empty one)', () => {
    const noArgs = makeRecord({ mcp_command: "python3 -m marcus 'my project'", working_directory: 'C:\\Users\\dev' });
    delete (noArgs as Record<string, unknown>)['mcp_args'];
    expect(connectionFor(noArgs)).toEqual({ kind: 'stdio', command: 'python3', args: ['-m', 'marcus', 'my project'], cwd: 'C:\\Users\\dev' });
    const emptyArgs = makeRecord({ mcp_args: [], mcp_command: 'node s.js' });
    expect(connectionFor(emptyArgs)).toMatchObject({ kind: 'stdio', command: 'node', args: ['s.js'] });
  });

  it('leaves out a working directory that is not absolute', () => {
    const record = makeRecord({ mcp_args: ['node', 's.js'], working_directory: 'relative/dir' });
    expect(connectionFor(record)).toEqual({ kind: 'stdio', command: 'node', args: ['s.js'] });
    expect('cwd' in connectionFor({ ...record, working_directory: '' })).toBe(false);
  });

  it('refuses an mcp_command that needs a shell, with UNSAFE_COMMAND', () => {
    for (const command of ['node s.js; rm -rf ~', 'node $(curl evil)', 'node `id`', 'node "unbalanced', 'node s.js > /tmp/x', '']) {
      const record = makeRecord({ mcp_command: command });
      delete (record as Record<string, unknown>)['mcp_args'];
      const error = thrown(() => connectionFor(record));
      expect(error, command).toBeInstanceOf(UnsafeCommandError);
      expect((error as RegistryError).code).toBe('UNSAFE_COMMAND');
    }
  });

  it('refuses a bad mcp_url on read with INVALID_CONNECTION, never by crashing', () => {
    for (const url of ['not a url', 'file:///etc/passwd', 'javascript:alert(1)', 'ftp://127.0.0.1/mcp', 'ws://127.0.0.1:1/mcp', 'http://user:pw@127.0.0.1/mcp', '/mcp', '']) {
      const error = thrown(() => connectionFor(makeRecord({ instance_id: 'marcus_bad', mcp_url: url })));
      expect(error, url).toBeInstanceOf(InvalidConnectionError);
      expect((error as RegistryError).code).toBe('INVALID_CONNECTION');
      expect((error as RegistryError).details['instanceId']).toBe('marcus_bad');
    }
  });

  it('refuses an empty program name', () => {
    const error = thrown(() => connectionFor(makeRecord({ mcp_args: ['', 'x'] })));
    expect(error).toBeInstanceOf(InvalidConnectionError);
  });
});

describe('mcpUrlProblem and connectionFieldsProblem', () => {
  it('accepts http and https URLs with a host', () => {
    for (const url of ['http://127.0.0.1:8765/mcp', 'https://marcus.example/mcp?x=1', 'http://[::1]:80/', 'HTTP://LOCALHOST/mcp']) {
      expect(mcpUrlProblem(url), url).toBeUndefined();
    }
  });

  it('says what is wrong with a writer’s fields', () => {
    expect(connectionFieldsProblem(undefined, undefined)).toBeUndefined();
    expect(connectionFieldsProblem(undefined, 'stdio')).toBeUndefined();
    expect(connectionFieldsProblem('http://127.0.0.1/mcp', 'sse')).toBeUndefined();
    expect(connectionFieldsProblem('http://127.0.0.1/mcp', undefined)).toBeUndefined();
    expect(connectionFieldsProblem('file:///x', undefined)).toMatch(/http: or https:/);
    expect(connectionFieldsProblem('http://127.0.0.1/mcp', 'stdio')).toMatch(/contradicts/);
    expect(connectionFieldsProblem(undefined, 'sse')).toMatch(/needs an mcp_url/);
    expect(connectionFieldsProblem(undefined, 'streamable-http')).toMatch(/needs an mcp_url/);
  });
});

describe('connection errors', () => {
  it('carry stable codes, names and JSON', () => {
    const cause = new Error('ECONNREFUSED');
    const failed = new ConnectionFailedError('http://127.0.0.1:1/mcp', cause);
    expect(failed).toBeInstanceOf(RegistryError);
    expect(failed.name).toBe('ConnectionFailedError');
    expect(failed.code).toBe('CONNECTION_FAILED');
    expect(isRetryable(failed)).toBe(true);
    expect(failed.message).toMatch(/ECONNREFUSED/);
    expect(failed.toJSON()).toMatchObject({ code: 'CONNECTION_FAILED', details: { target: 'http://127.0.0.1:1/mcp' }, cause: { name: 'Error', message: 'ECONNREFUSED' } });
    const invalid = new InvalidConnectionError('marcus_1', 'no');
    expect([invalid.name, invalid.code, isRetryable(invalid)]).toEqual(['InvalidConnectionError', 'INVALID_CONNECTION', false]);
    const unsafe = new UnsafeCommandError('a|b', 'a pipe', 1);
    expect([unsafe.name, unsafe.code, isRetryable(unsafe)]).toEqual(['UnsafeCommandError', 'UNSAFE_COMMAND', false]);
    expect(unsafe.toJSON()).toMatchObject({ details: { command: 'a|b', reason: 'a pipe', position: 1 } });
  });
});
