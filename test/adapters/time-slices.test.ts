import { describe, expect, it } from 'vitest';
import { forEachInSlices, monotonicMs } from '../../src/adapters/shared/time-slices.js';

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
    expect(order.slice(0, 5)).toEqual(['item 1', 'loop', 'item 2', 'loop', 'item 3']);
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
