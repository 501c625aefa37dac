import { describe, expect, it } from 'vitest';
import { comparePreference, containmentDepth, rankByPreference, type Candidate } from '../../src/domain/preference.js';
import type { ServiceRecord } from '../../src/domain/record.schema.js';
import { formatTimestamp } from '../../src/domain/timestamp.js';
import { fixedRecord } from '../support/records.js';

const BASE = Date.UTC(2026, 10, 21, 12, 0, 0);

function rec(id: string, overrides: Partial<ServiceRecord> = {}): ServiceRecord {
  const at = formatTimestamp(BASE);
  return fixedRecord({ instance_id: id, pid: 1000, project_name: null, provider: null, started_at: at, last_heartbeat: at, working_directory: '/elsewhere', ...overrides });
}

function cand(id: string, overrides: Partial<ServiceRecord> = {}, health: Candidate['health'] = 'healthy'): Candidate {
  return { record: rec(id, overrides), health };
}

const ids = (list: readonly Candidate[]) => list.map((c) => c.record.instance_id);

/** Deterministic PRNG so a failing shuffle can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(list: readonly T[], random: () => number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('rankByPreference: each rule beats every later one', () => {
  it('a pin beats everything, even an unresponsive pinned instance over a healthy, same-project, containing, newer one', () => {
    const pinned = cand('pinned', { started_at: formatTimestamp(BASE - 86_400_000) }, 'unresponsive');
    const best = cand('best', { project_name: 'demo', working_directory: '/home/dev/demo', started_at: formatTimestamp(BASE + 1) });
    const ranked = rankByPreference([best, pinned], { pin: 'pinned', project: 'demo', cwd: '/home/dev/demo' });
    expect(ids(ranked)).toEqual(['pinned', 'best']);
    expect(ids(rankByPreference([pinned, best], { pin: 'pinned', project: 'demo', cwd: '/home/dev/demo' }))).toEqual(['pinned', 'best']);
  });

  it('a pin naming nobody changes nothing', () => {
    const a = cand('a', { started_at: formatTimestamp(BASE + 1) });
    const b = cand('b');
    expect(ids(rankByPreference([b, a], { pin: 'nobody' }))).toEqual(['a', 'b']);
  });

  it('healthy beats unresponsive, even when the unresponsive one is same-project, containing and newer', () => {
    const sick = cand('sick', { project_name: 'demo', working_directory: '/home/dev/demo', started_at: formatTimestamp(BASE + 1_000) }, 'unresponsive');
    const well = cand('well', { project_name: 'other', working_directory: '/opt', started_at: formatTimestamp(BASE - 1_000) });
    expect(ids(rankByPreference([sick, well], { project: 'demo', cwd: '/home/dev/demo' }))).toEqual(['well', 'sick']);
  });

  it('same project beats working-directory containment and recency', () => {
    const same = cand('same', { project_name: 'demo', working_directory: '/opt', started_at: formatTimestamp(BASE - 1_000) });
    const near = cand('near', { project_name: 'other', working_directory: '/home/dev/demo', started_at: formatTimestamp(BASE + 1_000) });
    expect(ids(rankByPreference([near, same], { project: 'demo', cwd: '/home/dev/demo' }))).toEqual(['same', 'near']);
  });

  it('without a project in the context, project_name does not matter (null does not match undefined)', () => {
    const a = cand('a', { project_name: null, started_at: formatTimestamp(BASE + 1) });
    const b = cand('b', { project_name: 'demo' });
    expect(ids(rankByPreference([b, a], {}))).toEqual(['a', 'b']);
  });

  it('a working directory containing the cwd beats a newer instance elsewhere', () => {
    const inside = cand('inside', { working_directory: '/home/dev', started_at: formatTimestamp(BASE - 1_000) });
    const newer = cand('newer', { working_directory: '/opt/x', started_at: formatTimestamp(BASE + 1_000) });
    expect(ids(rankByPreference([newer, inside], { cwd: '/home/dev/demo/src' }))).toEqual(['inside', 'newer']);
  });

  it('deeper containment beats shallower containment', () => {
    const root = cand('root', { working_directory: '/', started_at: formatTimestamp(BASE + 3) });
    const home = cand('home', { working_directory: '/home', started_at: formatTimestamp(BASE + 2) });
    const dev = cand('dev', { working_directory: '/home/dev', started_at: formatTimestamp(BASE + 1) });
    const demo = cand('demo', { working_directory: '/home/dev/demo' });
    const sibling = cand('sibling', { working_directory: '/home/dev/other', started_at: formatTimestamp(BASE + 9) });
    const ranked = rankByPreference([root, sibling, home, demo, dev], { cwd: '/home/dev/demo' });
    expect(ids(ranked)).toEqual(['demo', 'dev', 'home', 'root', 'sibling']);
  });

  it('a working directory below the cwd does not contain it', () => {
    const below = cand('below', { working_directory: '/home/dev/demo/sub' });
    const other = cand('other', { working_directory: '/opt', started_at: formatTimestamp(BASE + 1) });
    expect(ids(rankByPreference([below, other], { cwd: '/home/dev/demo' }))).toEqual(['other', 'below']);
  });

  it('newest started_at wins among otherwise equal candidates', () => {
    const list = [cand('old', { started_at: formatTimestamp(BASE - 60_000) }), cand('new', { started_at: formatTimestamp(BASE + 60_000) }), cand('mid')];
    expect(ids(rankByPreference(list))).toEqual(['new', 'mid', 'old']);
  });

  it('compares started_at as instants: naive Python and aware timestamps mix', () => {
    const aware = cand('aware', { started_at: formatTimestamp(BASE) });
    const laterNaive = new Date(BASE + 60_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const naiveText = `${laterNaive.getFullYear()}-${pad(laterNaive.getMonth() + 1)}-${pad(laterNaive.getDate())}T${pad(laterNaive.getHours())}:${pad(laterNaive.getMinutes())}:${pad(laterNaive.getSeconds())}.000000`;
    const naive = cand('naive', { started_at: naiveText });
    const offset = cand('offset', { started_at: '2026-11-21T17:31:00+05:30' }); // 12:01 UTC, same as naive
    expect(ids(rankByPreference([aware, naive, offset]))[2]).toBe('aware');
    expect(ids(rankByPreference([aware, naive, offset])).slice(0, 2)).toEqual(['naive', 'offset']);
  });

  it('instance_id breaks the final tie, by code unit order', () => {
    const list = [cand('marcus_b'), cand('marcus_a'), cand('Marcus_z'), cand('marcus_10'), cand('marcus_9')];
    expect(ids(rankByPreference(list))).toEqual(['Marcus_z', 'marcus_10', 'marcus_9', 'marcus_a', 'marcus_b']);
  });
});

describe('rankByPreference: determinism', () => {
  const pool: Candidate[] = [
    cand('p1', { project_name: 'demo', working_directory: '/home/dev/demo' }),
    cand('p2', { project_name: 'demo', working_directory: '/home/dev', started_at: formatTimestamp(BASE + 5) }),
    cand('p3', { project_name: 'demo', working_directory: '/home/dev' }),
    cand('p4', { project_name: 'demo', working_directory: '/home/dev' }),
    cand('u1', { project_name: 'demo', working_directory: '/home/dev/demo', started_at: formatTimestamp(BASE + 99) }, 'unresponsive'),
    cand('u2', {}, 'unresponsive'),
    cand('o1', { project_name: 'other', working_directory: '/' }),
    cand('o2', { project_name: 'other', working_directory: '/home/ab' }),
    cand('o3', { project_name: null, started_at: formatTimestamp(BASE + 7) }),
    cand('o4', { project_name: null, started_at: '2026-11-21T12:00:00.007000Z' }),
    cand('pin', { started_at: formatTimestamp(BASE - 99_000) }, 'unresponsive'),
  ];
  const context = { pin: 'pin', project: 'demo', cwd: '/home/dev/demo/src' };
  const expected = ['pin', 'p1', 'p2', 'p3', 'p4', 'o1', 'o3', 'o4', 'o2', 'u1', 'u2'];

  it('gives the documented order', () => {
    expect(ids(rankByPreference(pool, context))).toEqual(expected);
  });

  it('gives the same order for 300 shuffles of the input', () => {
    const random = mulberry32(20261121);
    for (let i = 0; i < 300; i++) expect(ids(rankByPreference(shuffled(pool, random), context))).toEqual(expected);
  });

  it('does not modify its input', () => {
    const input = [...pool].reverse();
    const before = ids(input);
    rankByPreference(input, context);
    expect(ids(input)).toEqual(before);
  });

  it('is antisymmetric and zero only for the same instance', () => {
    const compare = comparePreference(context);
    for (const a of pool) {
      for (const b of pool) {
        const ab = compare(a, b), ba = compare(b, a);
        expect(Math.sign(ab) + Math.sign(ba)).toBe(0);
        if (a === b) expect(ab).toBe(0);
        else expect(ab).not.toBe(0);
      }
    }
  });

  it('ranks an empty list as empty', () => {
    expect(rankByPreference([], context)).toEqual([]);
  });
});

describe('containmentDepth', () => {
  it('counts the segments of a containing directory (+1 so the root counts)', () => {
    expect(containmentDepth('/', '/home/dev')).toBe(1);
    expect(containmentDepth('/home', '/home/dev')).toBe(2);
    expect(containmentDepth('/home/dev', '/home/dev')).toBe(3);
  });

  it('is 0 without a cwd or for an empty directory', () => {
    expect(containmentDepth('/home', undefined)).toBe(0);
    expect(containmentDepth('', '/home')).toBe(0);
  });

  it('/home/a does not contain /home/ab (segment, not string, prefix)', () => {
    expect(containmentDepth('/home/a', '/home/ab')).toBe(0);
    expect(containmentDepth('/home/a', '/home/ab/c')).toBe(0);
    expect(containmentDepth('/home/a', '/home/a/b')).toBe(3);
  });

  it('ignores trailing and doubled separators and "." segments', () => {
    expect(containmentDepth('/home/dev/', '/home//dev/./demo')).toBe(3);
  });

  it('is 0 for a directory deeper than the cwd', () => {
    expect(containmentDepth('/home/dev/demo', '/home/dev')).toBe(0);
  });

  it('compares POSIX paths case-sensitively', () => {
    expect(containmentDepth('/Home/Dev', '/home/dev/x')).toBe(0);
  });

  it('handles Windows paths with either separator and a case-insensitive drive', () => {
    expect(containmentDepth('C:\\Users\\dev', 'c:\\Users\\dev\\proj')).toBe(4);
    expect(containmentDepth('c:/Users/dev', 'C:\\Users\\dev\\proj')).toBe(4);
    expect(containmentDepth('C:\\', 'C:\\Users')).toBe(2);
    expect(containmentDepth('C:\\Users\\dev', 'C:\\Users\\devx')).toBe(0);
    expect(containmentDepth('C:\\Users', 'D:\\Users\\dev')).toBe(0);
  });

  it('compares Windows path segments case-insensitively', () => {
    expect(containmentDepth('C:\\USERS\\Dev', 'c:\\users\\dev\\proj')).toBe(4);
  });

  it('ranks a Windows instance whose directory contains the cwd first', () => {
    const win = cand('win', { working_directory: 'C:\\Users\\dev', platform: 'Windows' });
    const newer = cand('newer', { working_directory: 'D:\\work', platform: 'Windows', started_at: formatTimestamp(BASE + 1) });
    expect(ids(rankByPreference([newer, win], { cwd: 'c:\\users\\dev\\proj' }))).toEqual(['win', 'newer']);
  });
});

describe('newest tie-break below the millisecond', () => {
  it('prefers the record 300 µs newer, whichever id it has (Python: services[-1] of the string sort)', () => {
    for (const [older, newer] of [
      ['marcus_a', 'marcus_b'],
      ['marcus_b', 'marcus_a'],
    ] as const) {
      const ranked = rankByPreference([
        cand(older, { started_at: '2026-11-21T12:00:00.123100+00:00' }),
        cand(newer, { started_at: '2026-11-21T12:00:00.123400+00:00' }),
      ]);
      expect(ids(ranked)).toEqual([newer, older]);
    }
  });
});

describe('a probably reused pid (pid-started-later) ranks last', () => {
  it('after every other unresponsive candidate, whatever its project, directory or age', () => {
    const suspect: Candidate = { record: rec('marcus_suspect', { project_name: 'mine', started_at: formatTimestamp(BASE + 60_000) }), health: 'unresponsive', reason: 'pid-started-later' };
    const missed: Candidate = { record: rec('marcus_missed', { project_name: 'other', started_at: formatTimestamp(BASE) }), health: 'unresponsive', reason: 'heartbeat-missed' };
    const healthy = cand('marcus_ok', { project_name: 'other', started_at: formatTimestamp(BASE - 60_000) });
    expect(ids(rankByPreference([suspect, missed, healthy], { project: 'mine' }))).toEqual(['marcus_ok', 'marcus_missed', 'marcus_suspect']);
    // An explicit pin still wins.
    expect(ids(rankByPreference([missed, suspect], { pin: 'marcus_suspect' }))).toEqual(['marcus_suspect', 'marcus_missed']);
  });
});
