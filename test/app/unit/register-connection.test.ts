import { describe, expect, it } from 'vitest';
import { buildRecord, type RecordFacts } from '../../../src/app/register-options.js';
import { InvalidRecordError } from '../../../src/domain/errors.js';

const facts: RecordFacts = { now: Date.UTC(2026, 10, 21), hostname: 'devbox', processStart: undefined, defaultHeartbeatIntervalMs: 10_000 };

describe('buildRecord: connection fields', () => {
  it('writes an http(s) mcp_url with its transport', () => {
    expect(buildRecord({ mcpCommand: 'x', mcpUrl: 'http://127.0.0.1:9/mcp', transport: 'sse' }, facts)).toMatchObject({ mcp_url: 'http://127.0.0.1:9/mcp', transport: 'sse' });
    expect(buildRecord({ mcpCommand: 'x', mcpUrl: 'https://h.example/mcp' }, facts).mcp_url).toBe('https://h.example/mcp');
    expect(buildRecord({ mcpCommand: 'x', mcpArgs: ['x'], transport: 'stdio' }, facts).transport).toBe('stdio');
  });

  it.each([
    [{ mcpUrl: 'not a url' }, /not a URL/],
    [{ mcpUrl: 'file:///etc/passwd' }, /http: or https:/],
    [{ mcpUrl: 'http://u:p@127.0.0.1/mcp' }, /credentials/],
    [{ mcpUrl: 'http://127.0.0.1/mcp', transport: 'stdio' as const }, /contradicts/],
    [{ transport: 'sse' as const }, /needs an mcp_url/],
    [{ transport: 'streamable-http' as const }, /needs an mcp_url/],
  ])('refuses %j with INVALID_RECORD', (options, message) => {
    let caught: unknown;
    try {
      buildRecord({ mcpCommand: 'x', ...options }, facts);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidRecordError);
    expect((caught as InvalidRecordError).code).toBe('INVALID_RECORD');
    expect((caught as InvalidRecordError).message).toMatch(message);
  });
});
