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
  let sliceStart = monotonicMs();
  for (let index = 0; index < items.length; index++) {
    if (index > 0 && monotonicMs() - sliceStart >= sliceMs) {
      await yieldToEventLoop();
      sliceStart = monotonicMs();
    }
    step(items[index] as T, index);
  }
  if (monotonicMs() - sliceStart >= TAIL_YIELD_MS) await yieldToEventLoop();
}
