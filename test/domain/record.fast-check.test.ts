import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { foreignFieldsOf } from '../../src/domain/foreign-fields.js';
import { fastReadRecord } from '../../src/domain/record.fast-check.js';
import { RECORD_KEYS } from '../../src/domain/record.keys.js';
import { assertRecord, assertRecordBySchema, decodeJsonText, parseRecord, parseRecordBySchema, recordSchema } from '../../src/domain/record.schema.js';

/**
 * The hand-written fast check (record.fast-check.ts) must agree with the zod
 * schema, the one source of truth: whatever it accepts, the schema accepts
 * with no key ignored, and returns a deep-equal record with the same key
 * order. It may leave anything to the schema, but not the common records.
 */

type Json = Record<string, unknown>;

/** Every key, as the facade writes them. */
const FULL: Json = {
  instance_id: 'marcus_100',
  pid: 100,
  mcp_command: 'node server.js',
  mcp_args: ['node', 'server.js'],
  mcp_url: 'http://127.0.0.1:8765/mcp',
  transport: 'streamable-http',
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
};

/** What the Python registry's register_service writes (its key order, python_version among them, naive timestamps). */
const PYTHON: Json = {
  instance_id: 'marcus_4242',
  pid: 4242,
  mcp_command: 'python -m src.marcus_mcp.server',
  log_dir: '/home/dev/.marcus/logs',
  project_name: null,
  provider: 'planka',
  status: 'running',
  started_at: '2026-11-21T05:30:00.123456',
  last_heartbeat: '2026-11-21T05:30:00.123456',
  platform: 'Linux',
  python_version: '3.11.4',
  working_directory: '/home/dev/marcus',
};

/** The required keys only, without status (a Python update_heartbeat(status=None) then a reader). */
const MINIMAL: Json = Object.fromEntries(Object.entries(PYTHON).filter(([k]) => k !== 'status' && k !== 'python_version'));

/** Limits of the schema, each checked below against the schema itself at max and max + 1. */
const STRING_LIMITS: Record<string, number> = {
  mcp_command: 65_536,
  mcp_url: 4096,
  log_dir: 4096,
  project_name: 1024,
  provider: 1024,
  status: 256,
  platform: 256,
  working_directory: 4096,
  runtime: 256,
  runtime_version: 256,
  hostname: 255,
  process_start_token: 128,
  api_version: 256,
};

const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  24 * 3600_000,
  24 * 3600_000 + 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  '1',
  '2',
  'x',
  '..',
  'a..b',
  'marcus_1',
  'marcus_my project',
  '-leading',
  'stdio',
  'sse',
  'streamable-http',
  'http',
  '2026-11-21T05:30:00Z',
  '2026-11-21 05:30:00',
  '2026-02-31T00:00:00Z',
  '0099-01-01T00:00:00Z',
  '2026-11-21T05:30:00+25:00',
  'not a date',
  `2026-11-21T05:30:00.${'1'.repeat(60)}Z`,
  '\uD800',
  [],
  ['a'],
  [1],
  [null],
  ['a', ['b']],
  Array.from({ length: 1024 }, () => 'x'),
  Array.from({ length: 1025 }, () => 'x'),
  ['x'.repeat(4096)],
  ['x'.repeat(4097)],
  {},
  { a: 1 },
  { a: 'x', b: null, c: true, d: Number.NaN },
  { a: { b: 1 } },
  { a: [1] },
  JSON.parse('{"__proto__": {"polluted": true}}'),
  JSON.parse('{"__proto__": 1}'),
  Object.create(null),
];

function stringsAround(max: number): string[] {
  return ['x'.repeat(max), 'x'.repeat(max + 1)];
}

/** Every key of `bases` set to every hostile value, and removed. */
function* mutations(): Generator<unknown> {
  for (const base of [FULL, PYTHON, MINIMAL]) {
    yield base;
    for (const key of [...RECORD_KEYS, 'python_version', 'toJSON', 'constructor', 'extra']) {
      const { [key]: _dropped, ...without } = base;
      yield without;
      const values = [...HOSTILE_VALUES, ...(STRING_LIMITS[key] === undefined ? [] : stringsAround(STRING_LIMITS[key]))];
      for (const value of values) yield { ...base, [key]: value };
    }
  }
}

/** JSON texts of the bad-input corpus's records (test/reliability/bad-input-corpus.test.ts) and more like them. */
const CORPUS_TEXTS: readonly string[] = [
  JSON.stringify(FULL),
  `\uFEFF${JSON.stringify(FULL)}`.slice(1),
  JSON.stringify({ ...PYTHON, pid: 'NaN' }).replace('"NaN"', 'NaN'),
  JSON.stringify({ ...PYTHON, pid: 'Infinity' }).replace('"Infinity"', 'Infinity'),
  JSON.stringify({ ...FULL, load_metrics: { a: 'NaN', b: 'Infinity', c: '-Infinity' } })
    .replace('"NaN"', 'NaN')
    .replace('"Infinity"', 'Infinity')
    .replace('"-Infinity"', '-Infinity'),
  JSON.stringify({ ...PYTHON, pid: '4242' }),
  JSON.stringify({ ...PYTHON, started_at: 1_764_000_000 }),
  JSON.stringify({ ...FULL, capabilities: 'board' }),
  JSON.stringify({ ...FULL, last_heartbeat: '2999-01-01T00:00:00+00:00' }),
  JSON.stringify({ ...FULL, started_at: '1970-01-02T00:00:00+00:00' }),
  JSON.stringify(FULL).replace('{', '{"__proto__": {"polluted": true}, '),
  JSON.stringify(FULL).replace('{', '{"constructor": {"prototype": {"polluted": true}}, '),
  JSON.stringify({ ...FULL, nested: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) }),
  JSON.stringify(FULL).replace('{', '{"pid": "first", '),
  JSON.stringify(FULL).replace('{', '{"instance_id": "marcus_other", '),
  JSON.stringify({ ...FULL, schema_version: 2 }),
  JSON.stringify({ ...FULL, schema_version: '1' }),
  JSON.stringify({ ...FULL, schema_version: '2' }),
  JSON.stringify({ ...PYTHON, instance_id: 'marcus_my project' }),
  JSON.stringify({ ...PYTHON, instance_id: 'marcus_a:b' }),
  JSON.stringify({ ...FULL, process_start_time: 1_764_000_000.25 }),
  JSON.stringify({ ...FULL, status: null }),
  JSON.stringify({ ...FULL, transport: 'http' }),
  JSON.stringify({ ...FULL, api_version: 1.0 }),
  JSON.stringify({ ...FULL, capabilities: { board: true } }),
  '[]',
  '"a string"',
  '42',
  'null',
];

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Records built key by key from FULL's good values and hostile ones, in shuffled orders, with unknown keys. */
function* generated(count: number, seed: number): Generator<unknown> {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const goodOf = (key: string): unknown[] => {
    const good = [FULL[key], PYTHON[key]].filter((v) => v !== undefined);
    return good.length > 0 ? good : ['x'];
  };
  for (let n = 0; n < count; n++) {
    const keys = [...RECORD_KEYS, 'python_version', 'zz_extra', 'toJSON'].filter(() => next() < 0.85);
    for (let i = keys.length - 1; i > 0 && next() < 0.5; i--) {
      const j = Math.floor(next() * (i + 1));
      [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
    }
    const record: Json = {};
    const hostile = next() < 0.5 ? 0.03 : 0; // half the records well-formed
    for (const key of keys) record[key] = next() < hostile ? pick(HOSTILE_VALUES) : pick(goodOf(key));
    yield record;
  }
}

function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyOrder);
  if (typeof value === 'object' && value !== null) return Object.entries(value).map(([k, v]) => [k, keyOrder(v)]);
  return value;
}

/** Asserts the agreement for one value; returns whether the fast check accepted it. */
function agree(value: unknown): boolean {
  const fast = fastReadRecord<Json>(value);
  expect(fastReadRecord(value, true) === undefined).toBe(fast === undefined);
  if (fast === undefined) return false;
  const slow = parseRecordBySchema(value);
  expect(slow.ok, `the schema refused what the fast check accepted: ${JSON.stringify(value)?.slice(0, 300)}`).toBe(true);
  if (!slow.ok) return true;
  expect(foreignFieldsOf(slow.record)).toEqual([]);
  // Strictly deep-equal (prototypes, own keys, NaN and -0 told apart) and in the same key order.
  expect(isDeepStrictEqual(fast, slow.record), JSON.stringify(value)?.slice(0, 300)).toBe(true);
  expect(keyOrder(fast)).toStrictEqual(keyOrder(slow.record));
  // A fresh record: nothing in it is the caller's object.
  expect(fast).not.toBe(value);
  for (const [key, item] of Object.entries(fast)) {
    if (typeof item === 'object' && item !== null) expect(item).not.toBe((value as Json)[key]);
  }
  // Owned (a value fresh from JSON.parse): the same record, the value itself when its keys are in order.
  const ownedRecord = fastReadRecord<Json>(value, true);
  expect(isDeepStrictEqual(ownedRecord, slow.record)).toBe(true);
  expect(keyOrder(ownedRecord)).toStrictEqual(keyOrder(slow.record));
  // And parseRecord, which now asks the fast check first, answers the same.
  const outcome = parseRecord(value);
  expect(outcome.ok && isDeepStrictEqual(outcome.record, slow.record)).toBe(true);
  // So does assertRecord (writes ask the fast check when `status` is a string): as the write schema alone.
  const write = attemptWrite(() => assertRecord(value));
  const writeBySchema = attemptWrite(() => assertRecordBySchema(value));
  expect(write.error, JSON.stringify(value)?.slice(0, 300)).toBe(writeBySchema.error);
  expect(isDeepStrictEqual(write.record, writeBySchema.record)).toBe(true);
  expect(keyOrder(write.record)).toStrictEqual(keyOrder(writeBySchema.record));
  return true;
}

/** A write's outcome: the record, or the error's message. */
function attemptWrite(write: () => unknown): { record?: unknown; error?: string } {
  try {
    return { record: write() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

describe('the fast record check agrees with the zod schema', () => {
  it('lists the schema keys in the schema order', () => {
    expect([...RECORD_KEYS]).toEqual(Object.keys(recordSchema().shape));
  });

  it('uses the schema limits (each checked against the schema at the boundary)', () => {
    for (const [key, max] of Object.entries(STRING_LIMITS)) {
      const [at, over] = stringsAround(max);
      expect(parseRecordBySchema({ ...FULL, [key]: at }).ok, key).toBe(true);
      const refused = parseRecordBySchema({ ...FULL, [key]: over });
      // A required key over its limit refuses the record; an optional one is ignored (noted).
      expect(!refused.ok || foreignFieldsOf(refused.record).some((f) => f.key === key), key).toBe(true);
      expect(fastReadRecord({ ...FULL, [key]: at }), key).toBeDefined();
      expect(fastReadRecord({ ...FULL, [key]: over }), key).toBeUndefined();
    }
  });

  it('accepts the common records (ours, the Python writer, a minimal one) as the schema returns them', () => {
    for (const value of [FULL, PYTHON, MINIMAL]) expect(agree(value)).toBe(true);
    // Owned and already in the schema's order (what we write): no copy; the Python writer's order: a copy.
    const ours = JSON.parse(JSON.stringify(FULL)) as Json;
    expect(fastReadRecord(ours, true)).toBe(ours);
    const python = JSON.parse(JSON.stringify(PYTHON)) as Json;
    expect(fastReadRecord(python, true)).not.toBe(python);
  });

  it('over every key set to every hostile value, and removed', () => {
    let accepted = 0;
    let total = 0;
    for (const value of mutations()) {
      total++;
      if (agree(value)) accepted++;
    }
    expect(total).toBeGreaterThan(4000);
    expect(accepted).toBeGreaterThan(100);
  });

  it("over the bad-input corpus's records (decoded as a store decodes them, Python's dialect too)", () => {
    let accepted = 0;
    for (const text of CORPUS_TEXTS) {
      const decoded = decodeJsonText(text);
      expect(decoded.ok, text.slice(0, 80)).toBe(true);
      if (decoded.ok && agree(decoded.value)) accepted++;
    }
    expect(accepted).toBeGreaterThan(3);
  });

  it('over 30 000 generated records in shuffled key orders', () => {
    let accepted = 0;
    for (const value of generated(30_000, 17)) if (agree(value)) accepted++;
    expect(accepted).toBeGreaterThan(3000);
  });

  it('leaves to the schema what it must: its messages and its foreign-field notes are unchanged', () => {
    const outcome = parseRecord({ ...PYTHON, pid: '4242' });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.message).toMatch(/pid/);
    const noted = parseRecord({ ...FULL, transport: 'http' });
    expect(noted.ok && foreignFieldsOf(noted.record).map((f) => f.key)).toEqual(['transport']);
    expect(fastReadRecord({ ...FULL, schema_version: '1' })).toBeUndefined();
    expect(fastReadRecord(JSON.parse(`{"__proto__": 1, ${JSON.stringify(FULL).slice(1)}`))).toBeUndefined();
  });
});
