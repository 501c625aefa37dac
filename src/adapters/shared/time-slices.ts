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
  await forEachRunInSlices(items.length, sliceMs, (index) => {
    step(items[index] as T, index);
    return index + 1;
  });
}

/** What a run of work asks of its slice (forEachRunInSlices). */
export interface SliceClock {
  /** Whether the slice has run `ms` milliseconds. */
  hasRun(ms: number): boolean;
}

/**
 * forEachInSlices for work done in runs of several items (a listing reads a
 * batch of entries, then parses it): `run(index, slice)` handles items from
 * `index` on, as many as it chooses, stopping once `slice.hasRun(sliceMs)`,
 * and returns the index after the last one it handled (at least one is taken
 * as handled). Yields between runs as forEachInSlices does between items.
 */
export async function forEachRunInSlices(count: number, sliceMs: number, run: (index: number, slice: SliceClock) => number): Promise<void> {
  let slice = new Slice();
  for (let index = 0; index < count; ) {
    if (index > 0 && slice.hasRun(sliceMs)) {
      await yieldToEventLoop();
      slice = new Slice();
    }
    index = Math.max(index + 1, run(index, slice));
  }
  if (slice.hasRun(TAIL_YIELD_MS)) await yieldToEventLoop();
}

/**
 * How long a slice has run, asked after every item: by the monotonic clock,
 * but only once the wall clock (Date.now: no allocation, whole milliseconds)
 * says the slice may be over or was stepped back. process.hrtime builds an
 * array per call, a few hundred microseconds over a listing of 1 000 entries.
 */
class Slice implements SliceClock {
  private readonly start = monotonicMs();
  private readonly wallStart = Date.now();

  hasRun(ms: number): boolean {
    const wall = Date.now() - this.wallStart;
    // Whole milliseconds: a slice that ran `ms` shows at least ms - 1 here.
    if (wall >= 0 && wall < ms - 1) return false;
    return monotonicMs() - this.start >= ms;
  }
}
