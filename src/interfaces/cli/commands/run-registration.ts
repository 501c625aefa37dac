import { isRegistryError } from '../../../domain/errors.js';
import type { RegisterOptions } from '../../../app/register-options.js';
import type { ServiceRegistry } from '../../../app/service-registry.js';

/** The first retry comes after this; each next one waits twice as long, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 15_000;

export interface KeepRegisteredOptions {
  /** Opens the registry for one attempt (a fresh one after a failure: the store may be writable now). */
  readonly open: () => Promise<ServiceRegistry>;
  readonly registration: RegisterOptions;
  /** What the messages call the child: its command. */
  readonly name: string;
  readonly write: (line: string) => void;
  /** Another live instance holds the id (INSTANCE_ID_TAKEN): said on stderr, never retried, then this is called. */
  readonly onIdTaken?: () => void;
}

/**
 * `run`'s registration: tried at once, and after a failure (disk full, the
 * store read-only or unreachable for a while, etcd not up yet) tried again
 * with back-off for as long as the child lives. Every failure is reported on
 * stderr with its code, and so is the success that follows one. Never throws.
 */
export class KeepRegistered {
  private registry: ServiceRegistry | undefined;
  private registered = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly options: KeepRegisteredOptions) {
    this.done = this.loop();
  }

  /** Synchronously removes this run's own entry (a process 'exit' handler: never throws). */
  removeOwnEntrySync(): void {
    try {
      if (this.registered) this.registry?.removeOwnEntrySync();
    } catch {
      // The store failed; the entry is judged stale (its pid is gone) by the next discovery.
    }
  }

  /** Stops retrying, waits for an attempt under way, unregisters and closes the registry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
    const registry = this.registry;
    this.registry = undefined;
    await registry?.close().catch((error: unknown) => this.options.write(`marcus-registry: could not unregister: ${describe(error)}`));
  }

  private async loop(): Promise<void> {
    let delay = RETRY_FIRST_MS;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        this.registry ??= await this.options.open();
        if (this.stopped) return;
        const record = await this.registry.register(this.options.registration);
        this.registered = true;
        if (attempt > 1) this.options.write(`marcus-registry: registered ${record.instance_id} (pid ${record.pid}) at attempt ${attempt}`);
        return;
      } catch (error) {
        const registry = this.registry;
        this.registry = undefined;
        await registry?.close().catch(() => undefined);
        if (this.stopped) return;
        if (isRegistryError(error) && error.code === 'INSTANCE_ID_TAKEN') {
          // Not a store failure: retrying would only take the id from its live holder later.
          this.options.write(`marcus-registry: ${describe(error)}`);
          this.options.onIdTaken?.();
          return;
        }
        const wait = Math.round(delay * (0.75 + Math.random() / 2));
        this.options.write(`marcus-registry: could not register ${this.options.name} (attempt ${attempt}): ${describe(error)}; retrying in ${(wait / 1000).toFixed(1)} s`);
        await this.sleep(wait);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function describe(error: unknown): string {
  if (isRegistryError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}
