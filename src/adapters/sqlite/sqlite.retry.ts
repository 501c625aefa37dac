import { isBusy } from './sqlite.errors.js';

/** Busy: SQLITE_BUSY/SQLITE_LOCKED itself, or a RegistryError caused by it. */
export function isBusyAnswer(error: unknown): boolean {
  return isBusy(error) || isBusy((error as { cause?: unknown } | null)?.cause);
}

/**
 * Runs `attempt` until it does not fail busy, or until `budgetMs` has passed
 * (then the last error is thrown). Between attempts it sleeps on a timer with
 * jittered exponential back-off (5 ms doubling to 200 ms), so the event loop
 * runs; each attempt itself blocks for at most the connection's short
 * busy_timeout. Better-sqlite3 is synchronous: a long busy_timeout would stall
 * the host's whole process instead.
 */
export async function retryWhileBusy<T>(attempt: () => T | Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let delay = 5;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusyAnswer(error) || Date.now() >= deadline) throw error;
    }
    const remaining = deadline - Date.now();
    await sleep(Math.max(1, Math.min(remaining, delay * (0.5 + Math.random()))));
    delay = Math.min(delay * 2, 200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
