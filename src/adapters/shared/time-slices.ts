import { yieldToEventLoop } from './yield-to-event-loop.js';

/** Milliseconds on a monotonic clock (process.hrtime: unlike `performance`, it loads no module). */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

/**
 * Runs `step` over `items` with synchronous calls, yielding a whole turn of
 * the event loop (yieldToEventLoop) whenever a slice has run `sliceMs`: a long
 * loop of cheap synchronous system calls never holds the host's loop longer.
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
}
