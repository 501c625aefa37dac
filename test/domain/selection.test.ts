import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/domain/preference.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { select, SELECTION_STRATEGIES } from '../../src/domain/selection.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { fixedRecord } from '../support/records.js';

const BASE = Date.UTC(2026, 10, 21, 12, 0, 0);

/** `age` orders preference: a smaller age is newer, so ranked earlier. */
function cand(id: string, age: number, health: Candidate['health'] = 'healthy', overrides: Partial<ServiceRecord> = {}): Candidate {
  const record = fixedRecord({
    instance_id: id,
    pid: 1000,
    project_name: null,
    provider: null,
    started_at: formatTimestamp(BASE - age * 1000),
    last_heartbeat: formatTimestamp(BASE),
    ...overrides,
  });
  return { record, health };
}

const id = (c: Candidate | undefined) => c?.record.instance_id;

// Preference order: a (newest), b, c, and two unresponsive ones that are newer still.
const a = cand('a', 1);
const b = cand('b', 2);
const c = cand('c', 3);
const x = cand('x', 0, 'unresponsive');
const y = cand('y', 0.5, 'unresponsive');
const mixed = [y, c, x, a, b];

describe('select', () => {
  it('lists its strategies', () => {
    expect([...SELECTION_STRATEGIES]).toEqual(['preferred', 'round-robin', 'random', 'least-loaded']);
  });

  it.each(SELECTION_STRATEGIES)('%s returns undefined for no candidates', (strategy) => {
    expect(select([], strategy)).toBeUndefined();
    expect(select([], strategy, { turn: 5, random: 0.5 })).toBeUndefined();
  });

  it.each(SELECTION_STRATEGIES)('%s returns the only candidate', (strategy) => {
    expect(select([b], strategy, { turn: 7, random: 0.99 })).toBe(b);
  });

  it('returns the candidate objects it was given', () => {
    expect(select(mixed, 'preferred')).toBe(a);
  });
});

describe('select: preferred', () => {
  it('is the first of the preference ranking', () => {
    expect(id(select(mixed, 'preferred'))).toBe('a');
  });

  it('follows the context (pin, project)', () => {
    expect(id(select(mixed, 'preferred', { context: { pin: 'c' } }))).toBe('c');
    expect(id(select(mixed, 'preferred', { context: { pin: 'x' } }))).toBe('x');
  });

  it('falls back to the best unresponsive one when none is healthy', () => {
    expect(id(select([y, x], 'preferred'))).toBe('x');
  });
});

describe('select: round-robin', () => {
  it('cycles through healthy candidates in preference order and wraps', () => {
    const picks = [0, 1, 2, 3, 4, 5, 6].map((turn) => id(select(mixed, 'round-robin', { turn })));
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('defaults to turn 0', () => {
    expect(id(select(mixed, 'round-robin'))).toBe('a');
  });

  it('does not depend on the input order', () => {
    for (const input of [mixed, [...mixed].reverse(), [b, a, x, c, y]]) {
      expect([0, 1, 2].map((turn) => id(select(input, 'round-robin', { turn })))).toEqual(['a', 'b', 'c']);
    }
  });

  it('handles negative turns (wrapping backwards)', () => {
    expect(id(select(mixed, 'round-robin', { turn: -1 }))).toBe('c');
    expect(id(select(mixed, 'round-robin', { turn: -2 }))).toBe('b');
    expect(id(select(mixed, 'round-robin', { turn: -3 }))).toBe('a');
    expect(id(select(mixed, 'round-robin', { turn: -4 }))).toBe('c');
  });

  it('handles huge turns', () => {
    expect(id(select(mixed, 'round-robin', { turn: Number.MAX_SAFE_INTEGER }))).toBe(['a', 'b', 'c'][Number.MAX_SAFE_INTEGER % 3]);
    expect(id(select(mixed, 'round-robin', { turn: 3_000_000_001 }))).toBe('b');
    expect(id(select(mixed, 'round-robin', { turn: -3_000_000_001 }))).toBe('c');
  });

  it('truncates a fractional turn', () => {
    expect(id(select(mixed, 'round-robin', { turn: 1.9 }))).toBe('b');
  });

  it('cycles through unresponsive ones when none is healthy', () => {
    expect([0, 1, 2].map((turn) => id(select([y, x], 'round-robin', { turn })))).toEqual(['x', 'y', 'x']);
  });
});

describe('select: random', () => {
  it('maps [0, 1) evenly over the healthy candidates in preference order', () => {
    expect(id(select(mixed, 'random', { random: 0 }))).toBe('a');
    expect(id(select(mixed, 'random', { random: 0.3333 }))).toBe('a');
    expect(id(select(mixed, 'random', { random: 0.34 }))).toBe('b');
    expect(id(select(mixed, 'random', { random: 0.66 }))).toBe('b');
    expect(id(select(mixed, 'random', { random: 0.67 }))).toBe('c');
    expect(id(select(mixed, 'random', { random: 0.999999999 }))).toBe('c');
  });

  it('never picks an unresponsive one while a healthy one exists', () => {
    for (let i = 0; i < 100; i++) {
      expect(select(mixed, 'random', { random: i / 100 })?.health).toBe('healthy');
    }
  });

  it('clamps a value of 1 to the last candidate', () => {
    expect(id(select(mixed, 'random', { random: 1 }))).toBe('c');
  });

  it('defaults to 0', () => {
    expect(id(select(mixed, 'random'))).toBe('a');
  });

  it('falls back to unresponsive ones when none is healthy', () => {
    expect(id(select([x, y], 'random', { random: 0.9 }))).toBe('y');
    expect(id(select([x, y], 'random', { random: 0.1 }))).toBe('x');
  });
});

describe('select: least-loaded', () => {
  const load = (metrics: Record<string, unknown> | undefined) => (metrics === undefined ? {} : { load_metrics: metrics });

  it('picks the fewest active_agents', () => {
    const list = [
      cand('a', 1, 'healthy', load({ active_agents: 5, cpu_usage: 1, memory_mb: 1 })),
      cand('b', 2, 'healthy', load({ active_agents: 1, cpu_usage: 99, memory_mb: 9_999 })),
      cand('c', 3, 'healthy', load({ active_agents: 3, cpu_usage: 0, memory_mb: 0 })),
    ];
    expect(id(select(list, 'least-loaded'))).toBe('b');
  });

  it('breaks an active_agents tie by cpu_usage, then memory_mb', () => {
    const list = [
      cand('a', 1, 'healthy', load({ active_agents: 2, cpu_usage: 50, memory_mb: 100 })),
      cand('b', 2, 'healthy', load({ active_agents: 2, cpu_usage: 10, memory_mb: 900 })),
      cand('c', 3, 'healthy', load({ active_agents: 2, cpu_usage: 10, memory_mb: 800 })),
    ];
    expect(id(select(list, 'least-loaded'))).toBe('c');
  });

  it('breaks a full tie by preference order', () => {
    const metrics = { active_agents: 1, cpu_usage: 1, memory_mb: 1 };
    const list = [cand('c', 3, 'healthy', load(metrics)), cand('b', 2, 'healthy', load(metrics)), cand('a', 1, 'healthy', load(metrics))];
    expect(id(select(list, 'least-loaded'))).toBe('a');
    expect(id(select(list, 'least-loaded', { context: { pin: 'c' } }))).toBe('c');
  });

  it('counts missing metrics (or non-numeric ones) as most loaded', () => {
    const list = [
      cand('none', 1, 'healthy'),
      cand('text', 2, 'healthy', load({ active_agents: '0' })),
      cand('nan', 3, 'healthy', load({ active_agents: Number.NaN })),
      cand('busy', 4, 'healthy', load({ active_agents: 1_000 })),
    ];
    expect(id(select(list, 'least-loaded'))).toBe('busy');
  });

  it('compares a later metric when the earlier one is missing on both', () => {
    const list = [cand('a', 1, 'healthy', load({ cpu_usage: 90 })), cand('b', 2, 'healthy', load({ cpu_usage: 5 }))];
    expect(id(select(list, 'least-loaded'))).toBe('b');
  });

  it('among candidates without any metrics, picks by preference', () => {
    expect(id(select([c, b, a], 'least-loaded'))).toBe('a');
  });

  it('ignores a less loaded unresponsive candidate while a healthy one exists', () => {
    const list = [
      cand('idle-but-sick', 0, 'unresponsive', load({ active_agents: 0 })),
      cand('busy', 1, 'healthy', load({ active_agents: 50 })),
    ];
    expect(id(select(list, 'least-loaded'))).toBe('busy');
  });

  it('picks among unresponsive ones when none is healthy', () => {
    const list = [cand('p', 0, 'unresponsive', load({ active_agents: 9 })), cand('q', 1, 'unresponsive', load({ active_agents: 2 }))];
    expect(id(select(list, 'least-loaded'))).toBe('q');
  });

  it('does not reorder its input', () => {
    const list = [cand('b', 2, 'healthy', load({ active_agents: 0 })), a];
    select(list, 'least-loaded');
    expect(list.map(id)).toEqual(['b', 'a']);
  });
});
