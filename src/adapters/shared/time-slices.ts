import { yieldToEventLoop } from './yield-to-event-loop.js';

/** Milliseconds on a monotonic clock (process.hrtime: unlike `performance`, it loads no module). */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

/** A last slice that ran this long is followed by a yield too. */
const TAIL_YIELD_MS = 1;

/**
 * Runs `step` over `items` with synchronous calls, yielding a whole turn of
 * the event loop (yieldToEventLoop) whenever a slice has run `sliceMs`: a long
 * loop of cheap synchronous system calls never holds the host's loop longer.
 * What the caller does next (judging every entry read) runs in one go too, so
 * it does not start on the tail of a full slice: a last slice of a
 * millisecond or more is followed by a yield.
 */
export async function forEachInSlices<T>(items: readonly T[], sliceMs: number, step: (item: T, index: number) => void): Promise<void> {
  let slice = new Slice();
  for (let index = 0; index < items.length; index++) {
    if (index > 0 && slice.hasRun(sliceMs)) {
      await yieldToEventLoop();
      slice = new Slice();
    }
    step(items[index] as T, index);
  }
  if (slice.hasRun(TAIL_YIELD_MS)) await yieldToEventLoop();
}

/**
 * How long a slice has run, asked after every item: by the monotonic clock,
 * but only once the wall clock (Date.now: no allocation, whole milliseconds)
 * says the slice may be over or was stepped back. process.hrtime builds an
 * array per call, a few hundred microseconds over a listing of 1 000 entries.
 */
class Slice {
  private readonly start = monotonicMs();
  private readonly wallStart = Date.now();

  hasRun(ms: number): boolean {
    const wall = Date.now() - this.wallStart;
    // Whole milliseconds: a slice that ran `ms` shows at least ms - 1 here.
    if (wall >= 0 && wall < ms - 1) return false;
    return monotonicMs() - this.start >= ms;
  }
}
