import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeadState, parseBootId, parseBootTime, parseProcStat, startToken } from '../../../src/adapters/liveness/proc-stat.js';

/** A stat line with `comm` and `state` as given and starttime (field 22) = ticks. */
function statLine(comm: string, state: string, ticks: number): string {
  // Fields 4..21 (18 numbers), then 22 = starttime, then a few more.
  const middle = Array.from({ length: 18 }, (_, i) => String(i + 4)).join(' ');
  return `4242 (${comm}) ${state} ${middle} ${ticks} 3133440 387 18446744073709551615 0\n`;
}

describe('parseProcStat', () => {
  it.each([
    ['node', 'S'],
    ['a b c', 'R'],
    ['evil) Z 1 2 (x', 'S'],
    [')))', 'D'],
    ['tab\there', 'S'],
    ['', 'S'],
  ])('takes the fields after the last ")" whatever comm %j holds', (comm, state) => {
    expect(parseProcStat(statLine(comm, state, 987654))).toEqual({ state, startTicks: 987654 });
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('4242 node S 1 2 3')).toBeUndefined();
    expect(parseProcStat('4242 (node) S 1 2 3')).toBeUndefined();
    expect(parseProcStat(statLine('node', 'S', 1).replace(' 1 3133440', ' -1 3133440'))).toBeUndefined();
  });

  it('parses this process\'s own /proc/self/stat', () => {
    const parsed = parseProcStat(readFileSync('/proc/self/stat', 'latin1'));
    expect(parsed?.state).toMatch(/^[RS]$/);
    expect(parsed?.startTicks).toBeGreaterThan(0);
  });

  it('reads btime from /proc/stat', () => {
    expect(parseBootTime('cpu  1 2 3\nintr 5\nbtime 1795239146\nprocesses 9\n')).toBe(1795239146);
    expect(parseBootTime('cpu 1\n')).toBeUndefined();
    const boot = parseBootTime(readFileSync('/proc/stat', 'latin1')) as number;
    expect(boot * 1000).toBeLessThan(Date.now());
    expect(boot * 1000).toBeGreaterThan(Date.UTC(2000, 0, 1));
  });

  it('reads the boot id (trimmed) and refuses what cannot be one', () => {
    expect(parseBootId('6d1f0c52-9a3e-4c2b-8f1e-0123456789ab\n')).toBe('6d1f0c52-9a3e-4c2b-8f1e-0123456789ab');
    expect(parseBootId('')).toBeUndefined();
    expect(parseBootId('a:b')).toBeUndefined();
    expect(parseBootId('two words')).toBeUndefined();
    expect(parseBootId('x'.repeat(65))).toBeUndefined();
    expect(parseBootId(readFileSync('/proc/sys/kernel/random/boot_id', 'latin1'))).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('builds the start token <boot_id>:<ticks>, short enough for the record (≤ 128)', () => {
    expect(startToken('6d1f0c52-9a3e-4c2b-8f1e-0123456789ab', 987654)).toBe('6d1f0c52-9a3e-4c2b-8f1e-0123456789ab:987654');
    expect(startToken('x'.repeat(64), Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(128);
  });

  it('counts zombies and dying tasks as dead, everything else as alive', () => {
    expect(['Z', 'X', 'x'].map(isDeadState)).toEqual([true, true, true]);
    expect(['R', 'S', 'D', 'T', 't', 'I', 'W', 'P'].map(isDeadState).some(Boolean)).toBe(false);
  });
});
