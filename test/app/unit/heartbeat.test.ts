import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../../src/app/heartbeat.js';
import type { Logger } from '../../../src/ports/logger.port.js';

function recordingLogger(): Logger & { warnings: { message: string; fields?: Record<string, unknown> }[] } {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return {
    warnings,
    debug() {},
    warn(message, fields) {
      warnings.push({ message, fields });
    },
    error(message, fields) {
      warnings.push({ message, fields });
    },
  };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void, reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Heartbeat', () => {
  it('does not beat before start() nor at once on start()', async () => {
    const beat = vi.fn(async () => {});
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    await vi.advanceTimersByTimeAsync(5_000);
    expect(beat).not.toHaveBeenCalled();
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(beat).not.toHaveBeenCalled();
    await heartbeat.stop();
  });

  it('beats once per interval', async () => {
    const beat = vi.fn(async () => {});
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(beat).toHaveBeenCalledTimes(10);
    await heartbeat.stop();
  });

  it('start() twice does not start a second timer', async () => {
    const beat = vi.fn(async () => {});
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(beat).toHaveBeenCalledTimes(3);
    await heartbeat.stop();
  });

  it('never overlaps a slow beat', async () => {
    const gates: Deferred[] = [];
    let running = 0;
    let maxRunning = 0;
    const beat = vi.fn(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      running--;
    });
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(1);
    // Ten intervals pass while the first beat hangs: no second beat starts.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(beat).toHaveBeenCalledTimes(1);
    gates[0]?.resolve();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(2);
    expect(maxRunning).toBe(1);
    gates[1]?.resolve();
    await heartbeat.stop();
    expect(maxRunning).toBe(1);
  });

  it('logs a failing beat and runs the next one', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const beat = vi.fn(async () => {
      calls++;
      if (calls === 1) throw new Error('disk full');
      if (calls === 2) throw 'a string';
    });
    const heartbeat = new Heartbeat(1_000, beat, logger);
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(logger.warnings).toEqual([{ message: 'heartbeat failed; will retry', fields: { error: 'disk full' } }]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(logger.warnings[1]).toEqual({ message: 'heartbeat failed; will retry', fields: { error: 'a string' } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(3);
    expect(logger.warnings).toHaveLength(2);
    await heartbeat.stop();
  });

  it('a failing beat never surfaces as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const heartbeat = new Heartbeat(100, async () => Promise.reject(new Error('boom')), recordingLogger());
      heartbeat.start();
      await vi.advanceTimersByTimeAsync(1_000);
      await heartbeat.stop();
      await vi.advanceTimersByTimeAsync(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('stop() waits for the beat in flight', async () => {
    const gate = deferred();
    let finished = false;
    const beat = vi.fn(async () => {
      await gate.promise;
      finished = true;
    });
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beat).toHaveBeenCalledTimes(1);

    let stopped = false;
    const stopping = heartbeat.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(stopped).toBe(true);
  });

  it('stop() resolves even if the beat in flight fails', async () => {
    const gate = deferred();
    const logger = recordingLogger();
    const heartbeat = new Heartbeat(1_000, () => gate.promise, logger);
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const stopping = heartbeat.stop();
    gate.reject(new Error('late failure'));
    await expect(stopping).resolves.toBeUndefined();
    expect(logger.warnings).toHaveLength(1);
  });

  it('beats no more after stop()', async () => {
    const beat = vi.fn(async () => {});
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(2_000);
    await heartbeat.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(beat).toHaveBeenCalledTimes(2);
  });

  it('stop() without start() resolves', async () => {
    await expect(new Heartbeat(1_000, async () => {}, recordingLogger()).stop()).resolves.toBeUndefined();
  });

  it('can be started again after stop()', async () => {
    const beat = vi.fn(async () => {});
    const heartbeat = new Heartbeat(1_000, beat, recordingLogger());
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(1_000);
    await heartbeat.stop();
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(beat).toHaveBeenCalledTimes(3);
    await heartbeat.stop();
  });

  it('does not keep the process alive (its timer is unref\'d)', async () => {
    vi.useRealTimers();
    const unref = vi.spyOn(globalThis, 'setInterval');
    const heartbeat = new Heartbeat(60_000, async () => {}, recordingLogger());
    try {
      heartbeat.start();
      const timer = unref.mock.results.at(-1)?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
    } finally {
      await heartbeat.stop();
      unref.mockRestore();
    }
  });
});
