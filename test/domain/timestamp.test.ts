import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { formatTimestamp, parseTimestamp } from '../../src/domain/timestamp.js';

let compiled: string | undefined;

/** src/domain/timestamp.ts (it imports nothing) compiled to an ES module a child node can load. */
function timestampModule(): string {
  if (compiled) return compiled;
  const source = readFileSync(new URL('../../src/domain/timestamp.ts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(mkdtempSync(join(tmpdir(), 'marcus-ts-')), 'timestamp.mjs');
  writeFileSync(file, outputText);
  compiled = pathToFileURL(file).href;
  return compiled;
}

/** Runs an ES module script in a child node whose TZ is `zone`; returns its stdout. */
function runInZone(zone: string, script: string): string {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, TZ: zone },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return child.stdout;
}

const T = Date.UTC(2026, 10, 21, 5, 30, 0, 123); // 2026-11-21T05:30:00.123Z

describe('parseTimestamp: aware strings', () => {
  it('reads the Python form with microseconds and +00:00', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.123456+00:00')).toBe(T);
  });

  it('reads Z and z', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.123Z')).toBe(T);
    expect(parseTimestamp('2026-11-21T05:30:00.123z')).toBe(T);
  });

  it('applies a positive offset with a colon (+05:30)', () => {
    // 11:00:00.123 at +05:30 is 05:30:00.123 UTC
    expect(parseTimestamp('2026-11-21T11:00:00.123+05:30')).toBe(T);
  });

  it('applies a negative offset without a colon (-0800)', () => {
    // 21:30 on the 20th at -08:00 is 05:30 on the 21st UTC
    expect(parseTimestamp('2026-11-20T21:30:00.123-0800')).toBe(T);
  });

  it('applies an hours-only offset (+05)', () => {
    expect(parseTimestamp('2026-11-21T10:30:00.123+05')).toBe(T);
  });

  it('treats -00:00 as UTC', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.123-00:00')).toBe(T);
  });

  it('accepts a space instead of T', () => {
    expect(parseTimestamp('2026-11-21 05:30:00.123+00:00')).toBe(T);
  });

  it('accepts a missing seconds field', () => {
    expect(parseTimestamp('2026-11-21T05:30+00:00')).toBe(Date.UTC(2026, 10, 21, 5, 30));
    expect(parseTimestamp('2026-11-21T05:30Z')).toBe(Date.UTC(2026, 10, 21, 5, 30));
  });

  it('accepts seconds without a fraction', () => {
    expect(parseTimestamp('2026-11-21T05:30:07+00:00')).toBe(Date.UTC(2026, 10, 21, 5, 30, 7));
  });

  it('truncates 9 fractional digits to milliseconds', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.123999999Z')).toBe(T);
    expect(parseTimestamp('2026-11-21T05:30:00.000000001Z')).toBe(Date.UTC(2026, 10, 21, 5, 30));
  });

  it('pads short fractions (.1 is 100 ms, .12 is 120 ms)', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.1Z')).toBe(Date.UTC(2026, 10, 21, 5, 30, 0, 100));
    expect(parseTimestamp('2026-11-21T05:30:00.12Z')).toBe(Date.UTC(2026, 10, 21, 5, 30, 0, 120));
  });

  it('accepts a comma as the decimal separator', () => {
    expect(parseTimestamp('2026-11-21T05:30:00,123Z')).toBe(T);
  });

  it('orders the same instant written with different offsets equally', () => {
    const a = parseTimestamp('2026-01-01T00:00:00+00:00');
    const b = parseTimestamp('2026-01-01T05:30:00+05:30');
    const c = parseTimestamp('2025-12-31T16:00:00-08:00');
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(c).toBe(a);
  });
});

describe('parseTimestamp: naive strings are local time', () => {
  it('reads a naive string as local time', () => {
    expect(parseTimestamp('2026-11-21T05:30:00.123456')).toBe(new Date(2026, 10, 21, 5, 30, 0, 123).getTime());
  });

  it('reads a naive string with a space and without seconds as local time', () => {
    expect(parseTimestamp('2026-11-21 05:30')).toBe(new Date(2026, 10, 21, 5, 30, 0).getTime());
  });

  it('reads naive strings in the local zone of a non-UTC process (TZ=Asia/Kolkata, +05:30, no DST)', () => {
    const out = runInZone('Asia/Kolkata', `
      import { parseTimestamp } from ${JSON.stringify(timestampModule())};
      const local = new Date(2026, 10, 21, 11, 0, 0, 123).getTime();
      process.stdout.write(JSON.stringify({
        naive: parseTimestamp('2026-11-21T11:00:00.123456'),
        aware: parseTimestamp('2026-11-21T05:30:00.123456+00:00'),
        local,
      }));
    `);
    const { naive, aware, local } = JSON.parse(out) as { naive: number; aware: number; local: number };
    // Local 11:00:00.123 in Kolkata is 05:30:00.123 UTC.
    expect(naive).toBe(T);
    expect(local).toBe(T);
    // An aware string does not depend on the zone.
    expect(aware).toBe(T);
  });

  it('reads naive strings in the local zone of a zone west of UTC (TZ=America/New_York, winter)', () => {
    const out = runInZone('America/New_York', `
      import { parseTimestamp } from ${JSON.stringify(timestampModule())};
      process.stdout.write(String(parseTimestamp('2026-01-15 07:00:00')));
    `);
    expect(Number(out)).toBe(Date.UTC(2026, 0, 15, 12, 0, 0));
  });
});

describe('parseTimestamp: rejects what is not an ISO 8601 date-time', () => {
  it.each([
    ['month 13', '2026-13-01T00:00:00Z'],
    ['month 0', '2026-00-01T00:00:00Z'],
    ['day 0', '2026-11-00T00:00:00Z'],
    ['day 32', '2026-11-32T00:00:00Z'],
    ['hour 24', '2026-11-21T24:00:00Z'],
    ['minute 60', '2026-11-21T05:60:00Z'],
    ['second 61', '2026-11-21T05:30:61Z'],
    ['a date without a time', '2026-11-21'],
    ['garbage', 'not a date'],
    ['empty', ''],
    ['10 fractional digits', '2026-11-21T05:30:00.1234567890Z'],
    ['a trailing newline', '2026-11-21T05:30:00Z\n'],
    ['leading space', ' 2026-11-21T05:30:00Z'],
    ['a two-digit year', '26-11-21T05:30:00Z'],
    ['an unknown zone name', '2026-11-21T05:30:00 UTC'],
    ['a fraction without seconds', '2026-11-21T05:30.5Z'],
    ['naive year < 100', '0050-01-01T00:00:00'],
  ])('%s', (_label, text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('rejects over-long strings even when the prefix is valid', () => {
    expect(parseTimestamp(`2026-11-21T05:30:00.123456+00:00${' '.repeat(40)}`)).toBeUndefined();
    expect(parseTimestamp('x'.repeat(10_000))).toBeUndefined();
  });

  it.each([[undefined], [null], [1_700_000_000_000], [new Date(T)], [{}], [['2026-11-21T05:30:00Z']]])(
    'rejects a non-string (%s)',
    (value) => {
      expect(parseTimestamp(value)).toBeUndefined();
    },
  );
});

describe('formatTimestamp', () => {
  it('writes the Python aware-UTC isoformat shape with microseconds', () => {
    expect(formatTimestamp(T)).toBe('2026-11-21T05:30:00.123000+00:00');
    expect(formatTimestamp(T)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
  });

  it('pads milliseconds and writes the epoch', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000000+00:00');
    expect(formatTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006000+00:00');
  });

  it('round-trips through parseTimestamp for many instants', () => {
    const samples = [0, T, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2038, 0, 19, 3, 14, 8, 1), 1_234_567_890_123];
    for (const ms of samples) expect(parseTimestamp(formatTimestamp(ms))).toBe(ms);
  });

  it('writes what Date#toISOString writes, for instants across years 0–9999, before 1970, at day and leap-year edges', () => {
    const viaDate = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
    const edges = [
      -1, 1, -86_400_000, -86_400_001, 86_399_999, Date.UTC(1969, 11, 31, 23, 59, 59, 999), Date.UTC(1900, 1, 28, 12), Date.UTC(1900, 2, 1),
      Date.UTC(2000, 1, 29), Date.UTC(2000, 2, 1) - 1, Date.UTC(2100, 1, 28, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(2400, 1, 29),
      Date.UTC(0, 0, 1) - Date.UTC(1900, 0, 1) + Date.UTC(1900, 0, 1), -62_167_219_200_000, 253_402_300_799_999, 1.9, -1.9, 1_234_567_890_123.7,
    ];
    for (const ms of edges) expect(formatTimestamp(ms), String(ms)).toBe(viaDate(ms));
    // A deterministic spread over the whole range (a linear congruential walk, no Math.random).
    let x = 12_345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      const ms = Math.round(-62_167_219_200_000 + (x / 2_147_483_648) * (253_402_300_799_999 + 62_167_219_200_000));
      expect(formatTimestamp(ms)).toBe(viaDate(ms));
    }
  });

  it('outside years 0–9999 writes what Date writes, and refuses an invalid time as Date does', () => {
    expect(formatTimestamp(253_402_300_800_000)).toBe('+010000-01-01T00:00:00.000000+00:00');
    expect(formatTimestamp(-62_167_219_200_001)).toBe('-000001-12-31T23:59:59.999000+00:00');
    expect(() => formatTimestamp(Number.NaN)).toThrow(RangeError);
    expect(() => formatTimestamp(8.64e15 + 1)).toThrow(RangeError);
  });

  it('is independent of the process time zone', () => {
    const out = runInZone('America/Los_Angeles', `
      import { formatTimestamp } from ${JSON.stringify(timestampModule())};
      process.stdout.write(formatTimestamp(${T}));
    `);
    expect(out).toBe('2026-11-21T05:30:00.123000+00:00');
  });
});

describe('parseTimestamp refuses dates that Date would silently shift', () => {
  it.each(['0050-01-01T00:00:00Z', '0099-12-31T00:00:00+00:00', '2026-02-31T00:00:00Z', '2026-04-31T00:00:00', '2025-02-29T00:00:00Z', '2026-11-21T05:30:00+99:99', '2026-11-21T05:30:00+24:00', '2026-11-21T05:30:00-05:60'])(
    '%s is not a timestamp',
    (text) => {
      expect(parseTimestamp(text)).toBeUndefined();
    },
  );

  it('accepts 29 February of a leap year and the largest real offsets', () => {
    expect(parseTimestamp('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(parseTimestamp('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseTimestamp('2026-11-21T05:30:00+14:00')).toBe(Date.UTC(2026, 10, 20, 15, 30));
  });
});
