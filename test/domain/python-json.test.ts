import { describe, expect, it } from 'vitest';
import { hasNonFinite, MAX_PYTHON_JSON_DEPTH, parsePythonJson, stringifyPythonJson } from '../../src/domain/python-json.js';
import { decodeRecord, encodeRecord, isUnparsable } from '../../src/domain/record.schema.js';
import { fixedRecord } from '../support/records.js';

const ok = (text: string): unknown => {
  const outcome = parsePythonJson(text);
  if (!outcome.ok) throw new Error(`refused ${JSON.stringify(text)}: ${outcome.message}`);
  return outcome.value;
};

describe('parsePythonJson: what Python json.loads accepts', () => {
  it('reads NaN, Infinity and -Infinity as the JavaScript numbers, wherever a value may stand', () => {
    expect(ok('NaN')).toBeNaN();
    expect(ok('{"a": NaN, "b": [Infinity, -Infinity], "c": {"d": -Infinity}}')).toEqual({ a: NaN, b: [Infinity, -Infinity], c: { d: -Infinity } });
    expect(ok(' [ NaN ,\n\tInfinity\r\n] ')).toEqual([NaN, Infinity]);
  });

  it('reads standard JSON exactly as JSON.parse does', () => {
    const texts = [
      '{}',
      '[]',
      '{"a": 1, "b": -0.5e-3, "c": "x\\u00e9\\n\\"", "d": null, "e": true, "f": false, "g": [1, [2, {}]]}',
      '{"a": 1, "a": 2}',
      '{"__proto__": {"polluted": true}}',
      '"just a string"',
      '12345678901234567890123',
      '1E400',
      '"\\ud800"',
    ];
    for (const text of texts) {
      const value = ok(text);
      expect(value).toEqual(JSON.parse(text));
    }
    const proto = ok('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses what Python json.loads refuses', () => {
    const refused = [
      '',
      '   ',
      '{',
      '{"a": NaN',
      '{NaN: 1}',
      '{"a": nan}',
      '{"a": -NaN}',
      '{"a": +Infinity}',
      '{"a": infinity}',
      '{"a": NaNx}',
      '{"a": - Infinity}',
      '{"a": Infinity1}',
      '[1 NaN]',
      '[NaN,]',
      '{"a": 1,}',
      '{"a": 01}',
      '{"a": .5}',
      '{"a": 1.}',
      '{"a": "raw\ncontrol"}',
      "{'a': 1}",
      '{"a": 1} {"b": 2}',
      '\ufeff{"a": 1}',
      '{"a": "unterminated}',
    ];
    for (const text of refused) {
      const outcome = parsePythonJson(text);
      expect(outcome.ok, JSON.stringify(text)).toBe(false);
      if (!outcome.ok) expect(outcome.reason).toBe('syntax');
    }
  });

  it('gives up on deep nesting without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}NaN${']'.repeat(100_000)}`;
    const outcome = parsePythonJson(deep);
    expect(outcome).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(ok(`${'['.repeat(MAX_PYTHON_JSON_DEPTH)}NaN${']'.repeat(MAX_PYTHON_JSON_DEPTH)}`)).toBeDefined();
  });
});

describe('stringifyPythonJson', () => {
  const encode = (value: unknown) => JSON.stringify(value, null, 2);

  it('writes non-finite numbers as Python tokens and round-trips them', () => {
    const value = { a: NaN, b: [Infinity, -Infinity, 1.5], c: { d: NaN }, e: 'nonfinite:NaN', f: '"nonfinite0x:NaN"' };
    const text = stringifyPythonJson(value, encode);
    expect(text).toContain('"a": NaN');
    expect(text).toContain('-Infinity');
    expect(ok(text)).toEqual(value);
  });

  it('is the plain encoder when every number is finite', () => {
    const value = { a: 1, b: ['NaN', 'Infinity'] };
    expect(stringifyPythonJson(value, encode)).toBe(encode(value));
    expect(hasNonFinite(value)).toBe(false);
    expect(hasNonFinite({ x: [{ y: -Infinity }] })).toBe(true);
  });

  it('keeps key order and a __proto__ key as data', () => {
    const value = JSON.parse('{"z": 1, "__proto__": {"x": 1}, "a": 2}') as Record<string, unknown>;
    value['m'] = NaN;
    const text = stringifyPythonJson(value, encode);
    expect(Object.keys(ok(text) as object)).toEqual(['z', '__proto__', 'a', 'm']);
  });
});

describe('decodeRecord reads Python json.dump output', () => {
  it('a record whose load_metrics hold NaN and Infinity is valid, and encodes back the same', () => {
    const text = JSON.stringify({ ...fixedRecord(), load_metrics: { cpu_usage: 'NAN', peak: 'INF' } }, null, 2)
      .replace('"NAN"', 'NaN')
      .replace('"INF"', 'Infinity');
    const outcome = decodeRecord(text);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.record['load_metrics']).toEqual({ cpu_usage: NaN, peak: Infinity });
    expect(stringifyPythonJson(outcome.record, encodeRecord)).toBe(`${text}\n`);
  });

  it('still reports torn text as unparsable, and nesting too deep for Python as an invalid record', () => {
    const torn = decodeRecord('{"instance_id": "marcus_1", "load": NaN, "pi');
    expect(torn.ok).toBe(false);
    if (!torn.ok) expect(isUnparsable(torn.error)).toBe(true);
    const deep = decodeRecord(`{"a": NaN, "b": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    expect(deep.ok).toBe(false);
    if (!deep.ok) {
      expect(isUnparsable(deep.error)).toBe(false);
      expect(deep.error.code).toBe('INVALID_RECORD');
    }
  });
});

describe('stringifyPythonJson and toJSON', () => {
  it('encodes what JSON.stringify would serialize: a value with a toJSON is written through it', () => {
    const record: Record<string, unknown> = { a: 1 };
    Object.defineProperty(record, 'toJSON', { value: () => ({ a: 1, hidden: NaN }), enumerable: false });
    expect(hasNonFinite(record)).toBe(true);
    expect(stringifyPythonJson(record, (v) => JSON.stringify(v))).toBe('{"a":1,"hidden":NaN}');
  });
});
