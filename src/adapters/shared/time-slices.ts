/** Milliseconds on a monotonic clock (process.hrtime: unlike `performance`, it loads no module). */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

/**
 * Runs `step` over `items` with synchronous calls, yielding to the event loop
 * (setImmediate) whenever a slice has run `sliceMs`: a long loop of cheap
 * synchronous system calls never holds the host's event loop for longer.
 */
export async function forEachInSlices<T>(items: readonly T[], sliceMs: number, step: (item: T, index: number) => void): Promise<void> {
  let sliceStart = monotonicMs();
  for (let index = 0; index < items.length; index++) {
    if (index > 0 && monotonicMs() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = monotonicMs();
    }
    step(items[index] as T, index);
  }
}
