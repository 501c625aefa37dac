import { describe, expect, it } from 'vitest';
import { InvalidRecordError, RegistryError, UnsupportedSchemaVersionError } from '../../src/domain/errors.js';
import {
  assertRecord,
  assertRecordUpdate,
  decodeRecord,
  encodeRecord,
  isUnparsable,
  isUnsupportedVersion,
  MAX_PID,
  parseRecord,
  SCHEMA_VERSION,
  type ParseOutcome,
  type ServiceRecord,
} from '../../src/domain/record.schema.js';
import { carryForeignFields, foreignFieldsOf } from '../../src/domain/foreign-fields.js';

/** What the Python server's register_service writes: naive local timestamps, python_version, no v1 extras. */
const PYTHON_RECORD_TEXT = `{
  "instance_id": "marcus_4242",
  "pid": 4242,
  "mcp_command": "python -m src.marcus_mcp.server",
  "log_dir": "/home/dev/.marcus/logs",
  "project_name": null,
  "provider": "planka",
  "status": "running",
  "started_at": "2026-11-21T05:30:00.123456",
  "last_heartbeat": "2026-11-21T05:30:00.123456",
  "platform": "Linux",
  "working_directory": "/home/dev/marcus",
  "python_version": "3.11.4"
}`;

function v1(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance_id: 'marcus_100',
    pid: 100,
    mcp_command: 'node server.js',
    mcp_args: ['node', 'server.js'],
    log_dir: '/var/log/marcus',
    project_name: 'demo',
    provider: 'github',
    status: 'running',
    started_at: '2026-11-21T05:30:00.123456+00:00',
    last_heartbeat: '2026-11-21T05:30:10.000000+00:00',
    platform: 'Linux',
    working_directory: '/home/dev/demo',
    runtime: 'node',
    runtime_version: '20.19.0',
    schema_version: 1,
    hostname: 'devbox',
    process_start_time: '2026-11-21T05:29:59.900000+00:00',
    process_start_token: '6d1f0c52-9a3e-4c2b-8f1e-0123456789ab:987654',
    heartbeat_interval_ms: 10_000,
    capabilities: ['board'],
    supported_providers: ['github', 'planka'],
    load_metrics: { active_agents: 2, cpu_usage: 12.5, memory_mb: 300 },
    api_version: '1.0',
    ...overrides,
  };
}

function expectOk(outcome: ParseOutcome): ServiceRecord {
  if (!outcome.ok) throw new Error(`expected a valid record, got: ${outcome.error.message}`);
  return outcome.record;
}

function expectInvalid(outcome: ParseOutcome): InvalidRecordError {
  if (outcome.ok) throw new Error(`expected an invalid record, got ${JSON.stringify(outcome.record)}`);
  expect(outcome.error).toBeInstanceOf(InvalidRecordError);
  expect(outcome.error).toBeInstanceOf(RegistryError);
  expect(outcome.error.code).toBe('INVALID_RECORD');
  return outcome.error as InvalidRecordError;
}

function expectUnsupported(outcome: ParseOutcome): UnsupportedSchemaVersionError {
  if (outcome.ok) throw new Error(`expected an unsupported record, got ${JSON.stringify(outcome.record)}`);
  expect(outcome.error).toBeInstanceOf(UnsupportedSchemaVersionError);
  expect(outcome.error.code).toBe('UNSUPPORTED_SCHEMA_VERSION');
  expect(isUnsupportedVersion(outcome.error)).toBe(true);
  return outcome.error as UnsupportedSchemaVersionError;
}

describe('parseRecord: valid records', () => {
  it('accepts a Python-written record (naive timestamps, python_version, no schema_version or hostname)', () => {
    const record = expectOk(decodeRecord(PYTHON_RECORD_TEXT));
    expect(record.instance_id).toBe('marcus_4242');
    expect(record.project_name).toBeNull();
    expect(record.schema_version).toBeUndefined();
    expect(record.hostname).toBeUndefined();
    expect(record['python_version']).toBe('3.11.4');
  });

  it('accepts a full v1 record and returns every field unchanged', () => {
    const input = v1();
    const record = expectOk(parseRecord(input));
    expect(record).toEqual(input);
  });

  it('does not mutate its input', () => {
    const input = v1({ extra: { nested: [1, 2] } });
    const copy = structuredClone(input);
    parseRecord(input);
    expect(input).toEqual(copy);
  });

  it('accepts the smallest and largest pids', () => {
    expect(expectOk(parseRecord(v1({ pid: 1 }))).pid).toBe(1);
    expect(expectOk(parseRecord(v1({ pid: MAX_PID }))).pid).toBe(2 ** 31 - 1);
  });

  it('accepts any status string on read', () => {
    expect(expectOk(parseRecord(v1({ status: 'draining' }))).status).toBe('draining');
  });

  it('accepts Z, offset and naive timestamps in every timestamp field', () => {
    const record = expectOk(
      parseRecord(
        v1({
          started_at: '2026-11-21T05:30:00Z',
          last_heartbeat: '2026-11-21T11:00:00+05:30',
          process_start_time: '2026-11-21 05:29:59',
        }),
      ),
    );
    expect(record.started_at).toBe('2026-11-21T05:30:00Z');
  });

  it('accepts schema_version 1 (this version) and SCHEMA_VERSION is 1', () => {
    expect(SCHEMA_VERSION).toBe(1);
    expect(expectOk(parseRecord(v1({ schema_version: 1 }))).schema_version).toBe(1);
  });
});

describe('parseRecord: unknown keys', () => {
  it('keeps unknown keys and nested values through parse → encode → decode', () => {
    const extra = {
      python_version: '3.12.1',
      custom: { deep: { list: [1, 'two', { three: 3 }], flag: true, nothing: null } },
      tags: ['a', 'b'],
      count: 7,
    };
    const first = expectOk(parseRecord(v1(extra)));
    const again = expectOk(decodeRecord(encodeRecord(first)));
    expect(again).toEqual(v1(extra));
    expect(again['custom']).toEqual(extra.custom);
  });

  it('drops a __proto__ key without polluting Object.prototype', () => {
    const text = JSON.stringify(v1()).replace(/^\{/, '{"__proto__": {"polluted": 1, "pid": -5}, ');
    expect(text).toContain('"__proto__"');
    const record = expectOk(decodeRecord(text));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((record as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(record, '__proto__')).toBe(false);
    expect(record.pid).toBe(100);
    expect(encodeRecord(record)).not.toContain('__proto__');
  });

  it('keeps a prototype key as plain data (only __proto__ is dangerous)', () => {
    const record = expectOk(parseRecord(v1({ prototype: { x: 1 } })));
    expect(Object.prototype.hasOwnProperty.call(record, 'prototype')).toBe(true);
    expect(record['prototype']).toEqual({ x: 1 });
  });

  it('keeps a constructor key as plain data, harmlessly', () => {
    const text = JSON.stringify(v1()).replace(/^\{/, '{"constructor": {"prototype": {"polluted": 1}}, ');
    const record = expectOk(decodeRecord(text));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(record['constructor']).toEqual({ prototype: { polluted: 1 } });
    expect(JSON.parse(encodeRecord(record)).constructor).toEqual({ prototype: { polluted: 1 } });
  });

  it('does not pollute through a nested __proto__ inside load_metrics or an unknown key', () => {
    const text = JSON.stringify(v1({ load_metrics: undefined })).replace(
      /^\{/,
      '{"nested": {"__proto__": {"polluted": 1}}, "load_metrics": {"__proto__": {"polluted": 1}, "active_agents": 1}, ',
    );
    const outcome = decodeRecord(text);
    const record = expectOk(outcome);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((record.load_metrics as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(record.load_metrics?.['active_agents']).toBe(1);
  });
});

const REQUIRED_WRONG: Array<[string, unknown]> = [
  ['instance_id', 42],
  ['instance_id', '../etc/passwd'],
  ['pid', 'x'],
  ['mcp_command', ['node']],
  ['log_dir', null],
  ['project_name', 5],
  ['provider', false],
  ['started_at', 'yesterday'],
  ['last_heartbeat', 1_700_000_000],
  ['platform', {}],
  ['working_directory', undefined],
];

/** Wrong types for keys a reader may ignore (status and the optional keys). */
const OPTIONAL_WRONG: Array<[string, unknown]> = [
  ['mcp_args', 'node server.js'],
  ['status', 1],
  ['status', null],
  ['runtime', 1],
  ['hostname', 7],
  ['process_start_time', 'soon'],
  ['process_start_token', ''],
  ['process_start_token', 'x'.repeat(129)],
  ['process_start_token', 987654],
  ['heartbeat_interval_ms', 0],
  ['heartbeat_interval_ms', 1.5],
  ['heartbeat_interval_ms', '1000'],
  ['capabilities', [1, 2]],
  ['capabilities', { board: true }],
  ['supported_providers', 'github'],
  ['load_metrics', [1, 2]],
  ['api_version', 1],
  ['transport', 'carrier-pigeon'],
  ['transport', 'http'],
  ['transport', 'multi'],
  ['schema_version', 0],
  ['schema_version', -1],
  ['schema_version', 'one'],
];

describe('parseRecord: rejections', () => {
  it.each(REQUIRED_WRONG)('rejects required %s = %j with INVALID_RECORD naming the path', (key, value) => {
    const error = expectInvalid(parseRecord(v1({ [key]: value })));
    expect(error.message).toContain(key);
    expect(error.details['issues']).toEqual(expect.arrayContaining([expect.stringContaining(key)]));
    expect(isUnparsable(error)).toBe(false);
    expect(isUnsupportedVersion(error)).toBe(false);
  });

  it.each([...REQUIRED_WRONG, ...OPTIONAL_WRONG])('writes stay strict: assertRecord rejects %s = %j', (key, value) => {
    expect(() => assertRecord(v1({ [key]: value }))).toThrow(InvalidRecordError);
  });

  it('a wrong optional key does not save a record whose required key is wrong', () => {
    const error = expectInvalid(parseRecord(v1({ transport: 'http', pid: 0 })));
    expect(error.message).toContain('pid');
  });

  it('names the nested path of a bad array element (writes)', () => {
    expect(() => assertRecord(v1({ mcp_args: ['node', 5] }))).toThrow(/mcp_args\.1/);
  });

  it.each(['instance_id', 'pid', 'mcp_command', 'log_dir', 'started_at', 'last_heartbeat', 'platform', 'working_directory'])(
    'rejects a record missing required %s',
    (key) => {
      const input = v1();
      delete input[key];
      expect(expectInvalid(parseRecord(input)).message).toContain(key);
    },
  );

  it('requires project_name and provider keys to be present (null is fine, absent is not)', () => {
    const input = v1();
    delete input['project_name'];
    expect(expectInvalid(parseRecord(input)).message).toContain('project_name');
  });

  it.each([
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['2**31', 2 ** 31],
    ['"123"', '123'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('rejects pid %s', (_label, pid) => {
    expect(expectInvalid(parseRecord(v1({ pid }))).message).toContain('pid');
  });

  it('rejects a bad instance id even if the pattern would match around a ".."', () => {
    expectInvalid(parseRecord(v1({ instance_id: 'a..b' })));
  });

  it('flags schema_version 2 as unsupported (UNSUPPORTED_SCHEMA_VERSION), not merely invalid', () => {
    const error = expectUnsupported(parseRecord(v1({ schema_version: 2 })));
    expect(isUnparsable(error)).toBe(false);
    expect(error.details['found']).toBe(2);
    expect(error.details['known']).toBe(1);
    expect(error.message).toContain('2');
  });

  it('flags a newer schema_version as unsupported even when the rest would not validate', () => {
    expectUnsupported(parseRecord({ schema_version: 7, shape: 'from the future' }));
  });

  it.each([[0], ['1'], [-1]])('writes reject schema_version %j as invalid (not unsupported)', (schema_version) => {
    expect(() => assertRecord(v1({ schema_version }))).toThrow(/schema_version/);
  });

  it('reads schema_version "2" (digits) as 2: unsupported', () => {
    expectUnsupported(parseRecord(v1({ schema_version: '2' })));
  });

  it.each([
    ['an array', '[1, 2]', 'an array'],
    ['null', 'null', 'null'],
    ['a number', '42', 'number'],
    ['a string', '"marcus"', 'string'],
    ['a boolean', 'true', 'boolean'],
  ])('rejects non-object JSON: %s', (_label, text, described) => {
    const error = expectInvalid(decodeRecord(text));
    expect(error.message).toContain(described);
    expect(isUnparsable(error)).toBe(false);
  });

  it('rejects non-object values passed to parseRecord directly', () => {
    for (const value of [undefined, null, 1, 'x', [], true]) expectInvalid(parseRecord(value));
  });

  it('never throws on hostile input', () => {
    for (const value of [Object.create(null), new Map(), () => 1, Symbol('x'), 10n]) {
      expect(() => parseRecord(value)).not.toThrow();
    }
  });

  it('limits the message to a few issues', () => {
    const error = expectInvalid(parseRecord({}));
    expect((error.details['issues'] as unknown[]).length).toBeLessThanOrEqual(5);
  });
});

describe('decodeRecord', () => {
  it.each([
    ['a torn write', PYTHON_RECORD_TEXT.slice(0, PYTHON_RECORD_TEXT.length / 2)],
    ['an empty file', ''],
    ['garbage', '\u0000\u0001binary'],
    ['trailing junk', `${PYTHON_RECORD_TEXT}}`],
  ])('flags %s as unparsable', (_label, text) => {
    const error = expectInvalid(decodeRecord(text));
    expect(isUnparsable(error)).toBe(true);
    expect(isUnsupportedVersion(error)).toBe(false);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('accepts a trailing newline and surrounding whitespace', () => {
    expectOk(decodeRecord(`\n  ${PYTHON_RECORD_TEXT}\n\n`));
  });
});

describe('assertRecord', () => {
  it('returns the validated record', () => {
    expect(assertRecord(v1())).toEqual(v1());
  });

  it('throws InvalidRecordError for an invalid record', () => {
    expect(() => assertRecord(v1({ pid: 0 }))).toThrow(InvalidRecordError);
    try {
      assertRecord(v1({ pid: 0 }));
    } catch (error) {
      expect((error as RegistryError).code).toBe('INVALID_RECORD');
    }
  });

  it('throws an unsupported-version error for schema_version 2', () => {
    let caught: unknown;
    try {
      assertRecord(v1({ schema_version: 2 }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnsupportedSchemaVersionError);
    expect(isUnsupportedVersion(caught as UnsupportedSchemaVersionError)).toBe(true);
  });
});

describe('encodeRecord', () => {
  it('writes 2-space-indented JSON with a trailing newline that JSON.parse gives back', () => {
    const record = expectOk(parseRecord(v1()));
    const text = encodeRecord(record);
    expect(text).toBe(`${JSON.stringify(record, null, 2)}\n`);
    expect(text.split('\n')[1]).toBe('  "instance_id": "marcus_100",');
    expect(text).toMatch(/\n {4}"node",\n/);
    expect(JSON.parse(text)).toEqual(record);
  });

  it('keeps snake_case keys as they are', () => {
    const text = encodeRecord(expectOk(parseRecord(v1())));
    for (const key of ['instance_id', 'mcp_command', 'last_heartbeat', 'heartbeat_interval_ms', 'load_metrics']) {
      expect(text).toContain(`"${key}":`);
    }
  });

  it('round-trips a Python record byte-for-byte in content', () => {
    const record = expectOk(decodeRecord(PYTHON_RECORD_TEXT));
    expect(JSON.parse(encodeRecord(record))).toEqual(JSON.parse(PYTHON_RECORD_TEXT));
  });

  it('writes non-ASCII as \\uXXXX escapes (ASCII only, as Python\'s json.dump), and reads it back', () => {
    const record = expectOk(parseRecord(v1({ project_name: 'café ☕ 🚀', 'clé': 'ü' })));
    const text = encodeRecord(record);
    expect([...text].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    // Byte for byte what Python's json.dumps writes (lowercase hex, astral characters as a surrogate pair).
    expect(text).toContain('"project_name": "caf\\u00e9 \\u2615 \\ud83d\\ude80"');
    expect(text).toContain('"cl\\u00e9": "\\u00fc"');
    const back = expectOk(decodeRecord(text));
    expect(back.project_name).toBe('café ☕ 🚀');
    expect(back['clé']).toBe('ü');
  });
});

describe('parseRecord: keys in shapes we do not use (Python **kwargs)', () => {
  it.each(OPTIONAL_WRONG)('lists a record with %s = %j: ignored, noted, kept in its JSON', (key, value) => {
    const input = v1({ [key]: value });
    const record = expectOk(parseRecord(input));
    expect(record[key]).toBeUndefined();
    expect(foreignFieldsOf(record)).toEqual([{ key, original: value, used: undefined, reason: expect.any(String) }]);
    // Written back (and printed) untouched, in the file's key order.
    expect(JSON.parse(encodeRecord(record))).toEqual(input);
    expect(Object.keys(JSON.parse(JSON.stringify(record)))).toEqual(Object.keys(input));
    // The typed view is a plain record: nothing foreign in its own enumerable keys.
    expect(Object.keys(record)).not.toContain(key);
  });

  it('all of Marcus\'s own shapes at once (issue 12): listed, every odd key kept', () => {
    const text = PYTHON_RECORD_TEXT.replace(
      '"python_version": "3.11.4"',
      '"python_version": "3.11.4", "transport": "http", "capabilities": {"board": true}, "api_version": 1.0, "schema_version": "1", "status": null, "process_start_time": 1764410000.25',
    );
    const record = expectOk(decodeRecord(text));
    expect(record.transport).toBeUndefined();
    expect(record.capabilities).toBeUndefined();
    expect(record.api_version).toBeUndefined();
    expect(record.status).toBeUndefined();
    // Meaning clear: read in our type.
    expect(record.schema_version).toBe(1);
    expect(record.process_start_time).toBe('2025-11-29T09:53:20.250000+00:00');
    expect(foreignFieldsOf(record).filter((f) => f.used === undefined).map((f) => f.key).sort()).toEqual(['api_version', 'capabilities', 'status', 'transport']);
    expect(JSON.parse(encodeRecord(record))).toEqual(JSON.parse(text));
  });

  it('carries the originals into an updated copy, unless the update set the key', () => {
    const record = expectOk(parseRecord(v1({ transport: 'http', status: null, schema_version: '1' })));
    const next = assertRecord({ ...record, status: 'busy', last_heartbeat: '2026-11-21T05:31:00.000000+00:00' });
    const written = JSON.parse(encodeRecord(carryForeignFields(next, record)));
    expect(written).toMatchObject({ transport: 'http', schema_version: '1', status: 'busy', last_heartbeat: '2026-11-21T05:31:00.000000+00:00' });
    // A copy that set an ignored key writes its own value; one that left a converted value as read keeps the original.
    const bumped = carryForeignFields(assertRecord({ ...record, status: 'x', schema_version: 1, transport: 'sse' }), record);
    expect(JSON.parse(encodeRecord(bumped))).toMatchObject({ transport: 'sse', schema_version: '1' });
  });

  it('assertRecordUpdate: strict, except that a status ignored on read may stay absent; originals carried', () => {
    const odd = expectOk(parseRecord(v1({ status: null, transport: 'http' })));
    const next = assertRecordUpdate({ ...odd, project_name: 'renamed' }, odd);
    expect(JSON.parse(encodeRecord(next))).toMatchObject({ status: null, transport: 'http', project_name: 'renamed' });
    const plain = expectOk(parseRecord(v1()));
    expect(() => assertRecordUpdate({ ...plain, status: undefined }, plain)).toThrow(/status/);
    expect(() => assertRecordUpdate({ ...odd, transport: 'http' }, odd)).toThrow(/transport/);
    expect(() => assertRecordUpdate({ ...odd, pid: 0 }, odd)).toThrow(InvalidRecordError);
  });

  it('a record with its own "toJSON" key keeps it; its ignored keys then read as absent', () => {
    const record = expectOk(parseRecord(v1({ toJSON: 'x', transport: 'http' })));
    expect(record.transport).toBeUndefined();
    expect(JSON.parse(encodeRecord(record))['toJSON']).toBe('x');
  });

  it('process_start_time as epoch seconds is read as a timestamp; nonsense numbers are ignored', () => {
    expect(expectOk(parseRecord(v1({ process_start_time: 1_700_000_000 }))).process_start_time).toBe('2023-11-14T22:13:20.000000+00:00');
    expect(expectOk(parseRecord(v1({ process_start_time: -5 }))).process_start_time).toBeUndefined();
    expect(expectOk(parseRecord(v1({ process_start_time: 1e15 }))).process_start_time).toBeUndefined();
  });
});
