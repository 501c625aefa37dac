import { describe, expect, it } from 'vitest';
import { forEachInSlices, forEachRunInSlices, monotonicMs } from '../../src/adapters/shared/time-slices.js';

describe('forEachInSlices', () => {
  it('visits every item in order, with its index', async () => {
    const seen: string[] = [];
    await forEachInSlices(['a', 'b', 'c'], 4, (item, index) => seen.push(`${index}:${item}`));
    expect(seen).toEqual(['0:a', '1:b', '2:c']);
  });

  it('lets the event loop run between slices: with a 0 ms slice, before every item but the first', async () => {
    const order: string[] = [];
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      order.push('loop');
      if (ticks < 10) setImmediate(tick);
    };
    setImmediate(tick);
    await forEachInSlices([1, 2, 3], 0, (item) => order.push(`item ${item}`));
    const items = order.filter((o) => o !== 'loop');
    expect(items).toEqual(['item 1', 'item 2', 'item 3']);
    // The first item runs at once; the event loop got a turn before each next one.
    expect(order[0]).toBe('item 1');
    expect(order.indexOf('item 2') - order.indexOf('item 1')).toBeGreaterThan(1);
    expect(order.indexOf('item 3') - order.indexOf('item 2')).toBeGreaterThan(1);
  });

  it('runs a whole short loop in one slice when the slice is long', async () => {
    let yielded = false;
    setImmediate(() => (yielded = true));
    await forEachInSlices([1, 2, 3], 60_000, () => undefined);
    expect(yielded).toBe(false);
  });
});

describe('monotonicMs', () => {
  it('is process.hrtime in milliseconds', () => {
    const before = Number(process.hrtime.bigint()) / 1e6;
    const now = monotonicMs();
    const after = Number(process.hrtime.bigint()) / 1e6;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
  });
});

describe('forEachInSlices: the tail', () => {
  it('yields after a last slice of a millisecond or more, so the caller does not go on at its tail', async () => {
    let yielded = false;
    setImmediate(() => (yielded = true));
    await forEachInSlices([1], 60_000, () => {
      const until = monotonicMs() + 2;
      while (monotonicMs() < until) {
        // a step that runs 2 ms
      }
    });
    expect(yielded).toBe(true);
  });
});

describe('forEachRunInSlices', () => {
  it('goes on from where each run stopped, and takes a run that handled nothing as having handled one', async () => {
    const starts: number[] = [];
    await forEachRunInSlices(10, 60_000, (index) => {
      starts.push(index);
      return index === 3 ? 3 : Math.min(10, index + 3);
    });
    expect(starts).toEqual([0, 3, 4, 7]);
  });

  it('hands each run its slice: a run that stops once its slice has run lets the event loop in before the next', async () => {
    const order: string[] = [];
    let ticking = true;
    const tick = (): void => {
      order.push('loop');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await forEachRunInSlices(6, 1, (index, slice) => {
      // Items of ~0.6 ms: a run stops after the item that made its slice 1 ms long.
      let at = index;
      while (at < 6) {
        const until = monotonicMs() + 0.6;
        while (monotonicMs() < until) {
          // an item's work
        }
        order.push(`item ${at++}`);
        if (slice.hasRun(1)) break;
      }
      return at;
    });
    ticking = false;
    const runs = order.join(' ').split(/(?: loop)+ ?/).filter((run) => run.startsWith('item'));
    // The loop ran between runs, and no run went on past the item that took its slice over 1 ms:
    // two items at most (one when a busy machine stretched the first), every item once, in order.
    expect(runs.join(' ')).toBe('item 0 item 1 item 2 item 3 item 4 item 5');
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect(run.split(' item').length).toBeLessThanOrEqual(2);
  });
});
