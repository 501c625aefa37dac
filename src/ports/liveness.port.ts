import type { ProcessFacts } from '../domain/staleness.js';

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

  /** When the process started (epoch ms), recorded at registration to detect pid reuse. */
  startTimeOf(pid: number): Promise<number | undefined>;
}
