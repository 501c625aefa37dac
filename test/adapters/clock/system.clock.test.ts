import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../../src/adapters/clock/system.clock.js';

describe('SystemClock', () => {
  it('tells the wall-clock time in epoch ms', async () => {
    const clock = new SystemClock();
    const before = Date.now();
    const now = clock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(clock.now()).toBeGreaterThan(now);
  });
});
