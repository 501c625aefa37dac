import type { ProcessFacts, ProcessStart } from '../domain/staleness.js';

export type { ProcessStart } from '../domain/staleness.js';

/** What this host knows about a set of pids, taken at one moment. */
export interface LivenessSnapshot {
  /** Facts about one pid that was part of the snapshot request. */
  get(pid: number): ProcessFacts;
}

/** Asks the operating system about local processes. */
export interface LivenessProbe {
  /**
   * Facts for all of `pids` at once: an implementation spawning `ps` does it once
   * per call, not once per pid.
   */
  snapshot(pids: readonly number[]): Promise<LivenessSnapshot>;

  /**
   * When and which process started (its start time and, where the platform has
   * one, a clock-step-proof incarnation token), recorded at registration as
   * `process_start_time` / `process_start_token` to detect pid reuse. Undefined
   * when the pid is not running.
   */
  startOf(pid: number): Promise<ProcessStart | undefined>;
}
