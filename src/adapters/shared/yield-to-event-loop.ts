/**
 * Lets one whole turn of the event loop run (the host's due timers, its I/O
 * callbacks, its immediates) before the caller goes on, for work done in
 * slices (json-dir listing). One setImmediate is not enough: called from an
 * I/O callback (the poll phase), its callback runs in the same turn's check
 * phase and the awaiting code resumes right there, so two slices would run
 * back to back with no timer in between. An immediate queued from the check
 * phase runs on the next turn, after its timers and I/O.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
