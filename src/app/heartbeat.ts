import type { Logger } from '../ports/logger.port.js';

/**
 * A timer that calls `beat` every interval, never overlapping, never keeping the
 * process alive (unref), never throwing into the host: a failed beat is logged
 * and the next one tries again.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly beat: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a beat under way, so nothing writes after unregister. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private async tick(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = this.beat()
      .catch((error: unknown) => this.logger.warn('heartbeat failed; will retry', { error: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        this.inFlight = undefined;
      });
    await this.inFlight;
  }
}
