import type { RegistryEvent } from '../../src/domain/changes.js';
import { loadFactor } from './processes.js';

/**
 * Reads a watch's AsyncIterable in the background and lets a test wait for the
 * next event matching a predicate. Timeouts are hang guards, not assertions on speed.
 */
export class EventTap {
  readonly events: RegistryEvent[] = [];
  /** Resolves when the iteration ends; rejects with what the iterator threw. */
  readonly finished: Promise<void>;
  private cursor = 0;
  private readonly listeners = new Set<() => void>();
  private ended = false;

  constructor(iterable: AsyncIterable<RegistryEvent>) {
    this.finished = (async () => {
      try {
        for await (const event of iterable) {
          this.events.push(event);
          this.wake();
        }
      } finally {
        this.ended = true;
        this.wake();
      }
    })();
    this.finished.catch(() => undefined);
  }

  /** The first event after the previous match that satisfies `match`; skips the ones before it. */
  async next(match: (event: RegistryEvent) => boolean, what: string, timeoutMs = 20_000): Promise<RegistryEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = this.cursor; i < this.events.length; i++) {
          const event = this.events[i] as RegistryEvent;
          if (match(event)) {
            this.cursor = i + 1;
            return done(() => resolve(event));
          }
        }
        if (this.ended) done(() => reject(new Error(`the watch ended before ${what}; events: ${this.describe()}`)));
      };
      // A hang guard: longer on a loaded machine (see loadFactor).
      const limit = timeoutMs * loadFactor();
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${Math.round(limit)} ms (${timeoutMs} ms × load factor); events: ${this.describe()}`))), limit);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** `type:instance_id` of every event so far, for failure messages and exact comparisons. */
  describe(): string {
    return JSON.stringify(this.events.map(summary));
  }

  private wake(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export function summary(event: RegistryEvent): string {
  return event.type === 'removed' ? `removed:${event.record.instance_id}:${event.reason}` : `${event.type}:${event.record.instance_id}`;
}

export const isEvent =
  (type: RegistryEvent['type'], instanceId: string) =>
  (event: RegistryEvent): boolean =>
    event.type === type && event.record.instance_id === instanceId;
