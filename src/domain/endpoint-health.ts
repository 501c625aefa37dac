import type { Verdict } from './staleness.js';

/**
 * What the endpoint probes (ADR 0023) found about one instance's mcp_url: how
 * many probes in a row failed, and why the last one did. A fact the app layer
 * gathers (the I/O stays out of the domain); the domain only judges it.
 */
export interface EndpointFact {
  readonly consecutiveFailures: number;
  /** Why the last probe failed (a timeout, a refused connection). */
  readonly lastError?: string;
}

/** Probes in a row that must fail before an endpoint counts as down, unless told otherwise. */
export const DEFAULT_PROBE_FAILURES = 3;

/**
 * The verdict with the endpoint's health folded in: a live instance whose
 * endpoint failed `failures` probes in a row is `unresponsive` with reason
 * `endpoint-down` (never stale: a process that does not answer is not removed
 * for it). A stale verdict, or no fact, is returned as it is.
 */
export function withEndpointHealth(verdict: Verdict, fact: EndpointFact | undefined, failures: number = DEFAULT_PROBE_FAILURES): Verdict {
  if (verdict.health === 'stale' || fact === undefined) return verdict;
  const threshold = Math.max(1, Math.floor(failures));
  if (fact.consecutiveFailures < threshold) return verdict;
  const why = fact.lastError === undefined ? '' : `: ${fact.lastError}`;
  return { health: 'unresponsive', reason: 'endpoint-down', detail: `its MCP endpoint failed ${String(fact.consecutiveFailures)} probes in a row${why}` };
}
