import { describe, expect, it } from 'vitest';
import { age, problemLines, recordDetails, servicesTable, table } from '../../../src/interfaces/cli/format.js';
import { parseRecord } from '../../../src/domain/record.schema.js';
import type { JudgedEntry } from '../../../src/app/discovery.service.js';
import type { ServiceRecord } from '../../../src/domain/record.schema.js';
import { formatTimestamp } from '../../../src/domain/timestamp.js';
import { fixedRecord } from '../../support/records.js';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const ago = (ms: number) => formatTimestamp(NOW - ms);

function rec(overrides: Partial<ServiceRecord> = {}): ServiceRecord {
  return fixedRecord({ started_at: ago(3 * 3_600_000), last_heartbeat: ago(4_000), hostname: 'devbox', ...overrides });
}

describe('age', () => {
  it.each([
    [0, '0s'],
    [4_000, '4s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [3 * 60_000, '3m'],
    [7_200_000, '2h'],
    [5 * 3_600_000, '5h'],
    [172_800_000, '2d'],
    [5 * 86_400_000, '5d'],
  ])('%d ms ago is %s', (ms, text) => {
    expect(age(ago(ms), NOW)).toBe(text);
  });

  it('says "in Ns" for a future timestamp', () => {
    expect(age(formatTimestamp(NOW + 7_000), NOW)).toBe('in 7s');
  });

  it('says ? for an unparsable timestamp', () => {
    expect(age('yesterday', NOW)).toBe('?');
  });
});

describe('table', () => {
  it('pads columns to the widest cell, two spaces apart, with no trailing spaces', () => {
    const text = table(['ID', 'NAME'], [['1', 'alpha'], ['1234', 'b']]);
    expect(text).toBe('ID    NAME\n1     alpha\n1234  b\n');
  });

  it('prints only the header for no rows', () => {
    expect(table(['A', 'B'], [])).toBe('A  B\n');
  });

  it('does not pad the last column', () => {
    const lines = table(['A', 'LAST'], [['x', 'a long last cell'], ['y', '']]).split('\n');
    expect(lines[2]).toBe('y');
    for (const line of lines) expect(line).toBe(line.trimEnd());
  });
});

describe('servicesTable', () => {
  it('shows one row per entry with health, reason and ages', () => {
    const entries: JudgedEntry[] = [
      { record: rec(), health: 'healthy' },
      {
        record: rec({ instance_id: 'marcus_22', pid: 22, project_name: null, provider: null, hostname: undefined }),
        health: 'unresponsive',
        reason: 'heartbeat-missed',
      },
    ];
    const lines = servicesTable(entries, NOW).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]?.split(/\s+/)).toEqual(['INSTANCE', 'PID', 'PROJECT', 'PROVIDER', 'STATUS', 'HEALTH', 'UP', 'BEAT', 'HOST']);
    expect(lines[1]?.split(/\s+/)).toEqual(['marcus_1', '1', 'demo', 'github', 'running', 'healthy', '3h', '4s', 'devbox']);
    expect(lines[2]).toContain('unresponsive (heartbeat-missed)');
    expect(lines[2]?.split(/\s{2,}/)).toEqual(['marcus_22', '22', '-', '-', 'running', 'unresponsive (heartbeat-missed)', '3h', '4s', '-']);
  });
});

describe('recordDetails', () => {
  it('prints every key, strings raw and the rest as JSON, then the health', () => {
    const r = rec({ capabilities: ['a', 'b'], project_name: null });
    const text = recordDetails(r, 'healthy');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(Object.keys(r).length + 1);
    expect(lines).toContain(`${'instance_id'.padEnd(22)} marcus_1`);
    expect(lines).toContain(`${'pid'.padEnd(22)} 1`);
    expect(lines).toContain(`${'project_name'.padEnd(22)} null`);
    expect(lines).toContain(`${'capabilities'.padEnd(22)} ["a","b"]`);
    expect(lines.at(-1)).toBe(`${'health'.padEnd(22)} healthy`);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('omits the health line when none is given', () => {
    expect(recordDetails(rec())).not.toContain('health ');
  });
});

describe('problemLines', () => {
  it('prints one prefixed line per problem with its action and code', () => {
    expect(
      problemLines([
        { code: 'INVALID_RECORD', entry: 'marcus_1.json', message: 'invalid record: pid', action: 'quarantined' },
        { code: 'TOO_LARGE', entry: 'marcus_2.json', message: 'too large', action: 'skipped' },
      ]),
    ).toBe(
      'marcus-registry: quarantined marcus_1.json: invalid record: pid [INVALID_RECORD]\n' +
        'marcus-registry: skipped marcus_2.json: too large [TOO_LARGE]\n',
    );
  });

  it('prints notes about listed entries (IGNORED_FIELD) only when asked (--debug)', () => {
    const problems = [
      { code: 'IGNORED_FIELD', entry: 'marcus_3.json', message: 'transport = "http" is not a shape this reader uses', action: 'noted' as const },
      { code: 'TOO_LARGE', entry: 'marcus_2.json', message: 'too large', action: 'skipped' as const },
    ];
    expect(problemLines(problems)).toBe('marcus-registry: skipped marcus_2.json: too large [TOO_LARGE]\n');
    expect(problemLines(problems, { notes: true })).toBe(
      'marcus-registry: noted marcus_3.json: transport = "http" is not a shape this reader uses [IGNORED_FIELD]\n' +
        'marcus-registry: skipped marcus_2.json: too large [TOO_LARGE]\n',
    );
  });

  it('prints nothing for no problems', () => {
    expect(problemLines([])).toBe('');
  });
});

describe('recordDetails of a record with keys in types we do not use', () => {
  it('shows their original values, marked ignored', () => {
    const outcome = parseRecord({ ...fixedRecord(), transport: 'http', status: null });
    if (!outcome.ok) throw outcome.error;
    const text = recordDetails(outcome.record);
    expect(text).toMatch(/^transport +http \(ignored: not the type this reader uses\)$/m);
    expect(text).toMatch(/^status +null \(ignored/m);
  });
});
