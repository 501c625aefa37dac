import { connectionFor } from '../../domain/connection.js';
import type { EndpointFact } from '../../domain/endpoint-health.js';
import { DEFAULT_PROBE_FAILURES } from '../../domain/endpoint-health.js';
import type { ServiceRecord } from '../../domain/record.schema.js';

/** Endpoint probes (ADR 0023): opt-in on watch (`probe`), `watch --probe`, `serve --probe`. */
export interface ProbeOptions {
  /** How often each instance's endpoint is probed. Default 5000 ms; at least 100 ms. */
  readonly intervalMs?: number;
  /** Failed probes in a row before the instance is `unresponsive` (`endpoint-down`). Default 3. */
  readonly failures?: number;
  /** How long one probe may take. Default: the interval, at most 5000 ms. */
  readonly timeoutMs?: number;
}

export const DEFAULT_PROBE_INTERVAL_MS = 5_000;
const MIN_PROBE_INTERVAL_MS = 100;

/**
 * One probe of an MCP endpoint: does it answer HTTP at all, within `timeoutMs`?
 * A Streamable HTTP endpoint is sent a JSON-RPC `ping` by POST (a server that
 * wants a session first answers 400 or 404: that still is an answer — the
 * server is up and handling requests); an SSE endpoint is asked for its event
 * stream by GET, and the stream is dropped once its status arrives. Resolves
 * with undefined when it answered, else why not (a timeout: a stopped or
 * overloaded server; a refused connection). Never rejects.
 */
export async function probeEndpoint(url: string, transport: 'streamable-http' | 'sse', timeoutMs: number): Promise<string | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const init: RequestInit =
      transport === 'sse'
        ? { method: 'GET', headers: { accept: 'text/event-stream' }, signal: abort.signal }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 'marcus-registry-probe', method: 'ping' }),
            signal: abort.signal,
          };
    const response = await fetch(url, { ...init, redirect: 'manual' });
    await response.body?.cancel().catch(() => {});
    return undefined;
  } catch (error) {
    if (abort.signal.aborted) return `no answer within ${String(timeoutMs)} ms`;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    return typeof cause?.code === 'string' ? cause.code : error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** The endpoint of a record, or undefined when it has none to probe (stdio only, a bad URL). */
function endpointOf(record: ServiceRecord): { url: string; transport: 'streamable-http' | 'sse' } | undefined {
  try {
    const connection = connectionFor(record);
    return connection.kind === 'http' ? { url: connection.url, transport: connection.transport } : undefined;
  } catch {
    return undefined;
  }
}

/** One incarnation of an instance: the same id restarted is probed afresh. */
function keyOf(record: ServiceRecord): string {
  return `${record.instance_id}\u0000${String(record.pid)}\u0000${String(record.started_at)}\u0000${String(record.mcp_url)}`;
}

/**
 * Probes the endpoints of the instances it is told about (`track`) every
 * `intervalMs`, all at once, and keeps each one's run of failures. `onChange`
 * is called when an instance crosses the threshold either way, so a watch
 * judges again at once. Its timer is unref'd and never throws; `close` stops it.
 */
export class EndpointProber {
  readonly intervalMs: number;
  readonly failures: number;
  private readonly timeoutMs: number;
  private tracked = new Map<string, ServiceRecord>();
  private readonly facts = new Map<string, EndpointFact>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  constructor(
    options: ProbeOptions,
    private readonly onChange: () => void,
  ) {
    const interval = options.intervalMs;
    this.intervalMs = interval !== undefined && Number.isFinite(interval) && interval > 0 ? Math.max(MIN_PROBE_INTERVAL_MS, interval) : DEFAULT_PROBE_INTERVAL_MS;
    this.failures = options.failures !== undefined && Number.isInteger(options.failures) && options.failures >= 1 ? options.failures : DEFAULT_PROBE_FAILURES;
    this.timeoutMs = options.timeoutMs ?? Math.min(this.intervalMs, 5_000);
  }

  /** The live instances to probe from now on (the others are forgotten). */
  track(records: Iterable<ServiceRecord>): void {
    if (this.closed) return;
    const next = new Map<string, ServiceRecord>();
    for (const record of records) if (endpointOf(record)) next.set(keyOf(record), record);
    for (const key of this.facts.keys()) if (!next.has(key)) this.facts.delete(key);
    this.tracked = next;
    if (this.timer === undefined && next.size > 0) this.schedule(0);
  }

  /** What the probes found about `record`'s endpoint so far (undefined: not probed yet, or none to probe). */
  factOf(record: ServiceRecord): EndpointFact | undefined {
    return this.facts.get(keyOf(record));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.round(), ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.closed || this.running) return;
    this.running = true;
    let changed = false;
    try {
      await Promise.all(
        [...this.tracked].map(async ([key, record]) => {
          const endpoint = endpointOf(record);
          if (!endpoint) return;
          const failure = await probeEndpoint(endpoint.url, endpoint.transport, this.timeoutMs);
          if (this.closed || !this.tracked.has(key)) return;
          const before = this.facts.get(key)?.consecutiveFailures ?? 0;
          const after = failure === undefined ? 0 : before + 1;
          this.facts.set(key, failure === undefined ? { consecutiveFailures: 0 } : { consecutiveFailures: after, lastError: failure });
          if (before >= this.failures !== after >= this.failures) changed = true;
        }),
      );
    } finally {
      this.running = false;
    }
    if (changed && !this.closed) {
      try {
        this.onChange();
      } catch {
        // a listener's failure must not stop the probes
      }
    }
    this.timer = undefined;
    if (this.tracked.size > 0) this.schedule(this.intervalMs);
  }
}
