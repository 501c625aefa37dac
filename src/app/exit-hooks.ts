/** What to do when the process goes away: `sync` in an `exit` handler, `async` on a signal. */
export interface ExitCleanup {
  sync(): void;
  async(): Promise<void>;
}

const SIGNALS: readonly NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** How long a signal waits for async cleanups before the process dies anyway. */
const SIGNAL_CLEANUP_TIMEOUT_MS = 3_000;

/**
 * Runs cleanups on process exit and on SIGINT/SIGTERM/SIGHUP without taking the
 * host's signal handling away. Listening to a signal disables Node's default
 * "terminate", so when the host has no handler of its own we clean up and then
 * re-raise the signal with ours removed: the process dies as it would have,
 * with the right exit status. When the host does handle it, the signal is the
 * host's business (SIGHUP often means "reload"): we do nothing, and if the host
 * then exits, the `exit` handler cleans up.
 */
export class ExitHooks {
  private readonly cleanups = new Set<ExitCleanup>();
  private installed = false;
  private signalling = false;

  add(cleanup: ExitCleanup): () => void {
    this.cleanups.add(cleanup);
    this.install();
    return () => {
      this.cleanups.delete(cleanup);
      if (this.cleanups.size === 0) this.uninstall();
    };
  }

  get size(): number {
    return this.cleanups.size;
  }

  private readonly onExit = (): void => {
    for (const cleanup of this.cleanups) {
      try {
        cleanup.sync();
      } catch {
        // The process is exiting; there is nobody left to tell.
      }
    }
    this.cleanups.clear();
  };

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    // The host keeps running unless it decides otherwise: its entry must stay.
    if (foreignSignalListeners(signal) > 0) return;
    if (this.signalling) {
      // A second signal while cleaning up: stop waiting.
      this.reraise(signal);
      return;
    }
    this.signalling = true;
    const pending = [...this.cleanups].map((c) => c.async().catch(() => undefined));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, SIGNAL_CLEANUP_TIMEOUT_MS).unref());
    void Promise.race([Promise.all(pending), timeout]).then(() => {
      this.signalling = false;
      this.reraise(signal);
    });
  };

  private reraise(signal: NodeJS.Signals): void {
    this.onExit();
    this.uninstall();
    process.kill(process.pid, signal);
  }

  private install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('exit', this.onExit);
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  private uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    process.off('exit', this.onExit);
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}

/**
 * Listeners of `signal` that belong to the host program: not ours, and not
 * signal-exit's (proper-lockfile loads v3; a host program may load v4). Each
 * signal-exit copy kills the process only when it is alone, so counting it as a
 * host handler would leave everyone waiting and the process alive. signal-exit
 * v4 does the same for v3 (`__signal_exit_emitter__`).
 */
export function foreignSignalListeners(signal: NodeJS.Signals): number {
  const p = process as unknown as Record<string | symbol, { count?: unknown } | undefined>;
  const v3 = p['__signal_exit_emitter__']?.count;
  const v4 = p[Symbol.for('signal-exit emitter')]?.count;
  const signalExit = (typeof v3 === 'number' ? v3 : 0) + (typeof v4 === 'number' ? v4 : 0);
  return Math.max(0, process.listenerCount(signal) - 1 - signalExit);
}

/** The one instance per process: signals and `exit` are process-wide. */
export const processExitHooks = new ExitHooks();
