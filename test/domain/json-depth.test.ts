import { describe, expect, it } from 'vitest';
import { exceedsDepth, MAX_RECORD_DEPTH } from '../../src/domain/json-depth.js';
import { parseRecord } from '../../src/domain/record.schema.js';
import { makeRecord } from '../support/records.js';

const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);

describe('record nesting depth', () => {
  it('counts objects and arrays, not scalars, and never overflows itself', () => {
    expect(exceedsDepth(1, 0)).toBe(false);
    expect(exceedsDepth({ a: 1 }, 1)).toBe(false);
    expect(exceedsDepth({ a: [1] }, 1)).toBe(true);
    expect(exceedsDepth({ a: { b: [] } }, 3)).toBe(false);
    expect(exceedsDepth(nested(MAX_RECORD_DEPTH), MAX_RECORD_DEPTH)).toBe(false);
    expect(exceedsDepth(nested(MAX_RECORD_DEPTH + 1), MAX_RECORD_DEPTH)).toBe(true);
    expect(exceedsDepth(nested(1_000_000))).toBe(true);
  });

  it('refuses a record nested deeper than JSON.stringify could write back, and keeps ordinary nesting', () => {
    const deep = { ...makeRecord({ instance_id: 'marcus_1' }), deep: nested(100_000) };
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const outcome = parseRecord(deep);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatchObject({ code: 'INVALID_RECORD', message: expect.stringContaining(`deeper than ${MAX_RECORD_DEPTH}`) });
    expect(parseRecord({ ...makeRecord({ instance_id: 'marcus_1' }), load_metrics: { gpu: { memory: [{ used: 1 }] } } }).ok).toBe(true);
  });
});
