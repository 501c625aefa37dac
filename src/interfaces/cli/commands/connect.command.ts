import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import type { Connection } from '../../../domain/connection.js';
import type { ServiceFilters } from '../../../domain/filters.js';
import type { ServiceRecord } from '../../../domain/record.schema.js';
import { RegistryError } from '../../../domain/errors.js';
import type { ServiceRegistry } from '../../../app/service-registry.js';
import type { ChildStdioTransport } from '../child-stdio.transport.js';
import { SpawnFailedError } from '../cli.errors.js';
import type { BridgeResult, Leg } from '../failover-bridge.js';
import { HttpFallbackTransport, httpSdkLoading, httpTransport, type TransportMemory } from '../http-fallback.transport.js';
import { QuickInitializeTransport, type MakeTransport } from '../quick-initialize.transport.js';
import { FILTER_OPTIONS, filtersFrom, instanceIdArgument, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { debugWanted, openRegistry } from '../open-registry.js';
import { probeEndpoint } from '../../../app/probe/endpoint-probe.js';


/**
 * How long an instance's endpoint may refuse connections before we bridge anyway
 * (and fail with its error): `run` registers a server as soon as it starts, before
 * it listens. With --wait, the rest of the wait counts too.
 */
const READY_GRACE_MS = 3_000;

const FORWARDED: readonly NodeJS.Signals[] =
  process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
/** The forwarded signals that end connect in any case (ADR 0029). */
const TERMINATING: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];

/**
 * `marcus-registry connect [filters] [--instance ID] [--wait SECONDS]`: an MCP
 * server on stdio that is the preferred running Marcus. An instance with an
 * mcp_url is bridged to over Streamable HTTP (or SSE); a stdio-only one is
 * started from its argv, behind pipes. When the instance goes away, connect
 * fails over to the next one (ADR 0023). stdout carries MCP traffic and nothing else.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, instance: { type: 'string' }, wait: { type: 'string' } });
  const waitMs = seconds(values.wait);
  const debug = debugWanted(values);
  keepStdoutForMcp();
  const log = (line: string) => process.stderr.write(`${line}\n`);

  // An explicit --instance is strict: that instance or none (and --wait waits for it, also after a failure).
  const filters = { ...filtersFrom(values), instanceId: instanceIdArgument(values.instance, '--instance') };
  await using registry = await openRegistry(values, { settings: { exitHooks: false } });
  const watching = new AbortController();
  // The picker follows the registry from its first wait, or from the end of the first exchange (ADR 0028).
  // It stops (and opens nothing more) when the bridge ends, or when the client leaves during the first wait.
  const picker = new InstancePicker(registry, filters, waitMs, log, debug, watching.signal);
  // Only a --wait can make the first pick long: a client that leaves meanwhile ends it (ADR 0029).
  const clientGone = waitMs > 0 ? new StdinEndWatch(process.stdin, () => watching.abort()) : undefined;
  try {
    const first = await picker.pick(Date.now() + waitMs);
    clientGone?.release();
    if (clientGone?.ended) {
      if (first) await closeLeg(first);
      log('marcus-registry: stdin ended while waiting for an instance');
      return EXIT.NONE;
    }
    if (!first) {
      if (picker.lastError instanceof SpawnFailedError) return 127;
      if (picker.lastError !== undefined) return EXIT.ERROR;
      const waited = waitMs > 0 ? ` after waiting ${waitMs / 1000} s` : '';
      log(`marcus-registry: no running instance matches${describeFilters(filters)}${waited}`);
      return EXIT.NONE;
    }
    log(`marcus-registry: connecting to ${first.name}`);
    return await bridgeLegs(first, picker, debug, () => `${describeFilters(filters)}${waitMs > 0 ? ` after waiting ${waitMs / 1000} s` : ''}`, () => watching.abort());
  } finally {
    clientGone?.release();
    watching.abort();
  }
}

/** Everything a library prints with console.log/info/debug goes to stderr: stdout is the MCP stream. */
function keepStdoutForMcp(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

async function bridgeLegs(first: Leg, picker: InstancePicker, debug: boolean, nothingLeft: () => string, stopPicking: () => void): Promise<number> {
  // The SDK loads only in connect, and after the first exchange (LocalStdioTransport): other commands never pay for it.
  const [{ failoverBridge }, { LocalStdioTransport }] = await Promise.all([import('../failover-bridge.js'), import('../local-stdio.transport.js')]);
  const local = new LocalStdioTransport(process.stdin, process.stdout, () => picker.watch());
  let current = first;
  let signalled: NodeJS.Signals | undefined;
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = signal;
    // A child is sent the signal and its exit ends the bridge with its status; an HTTP bridge ends now.
    current.child?.kill(signal);
    interrupted.abort();
    // The bridge then ends on its own; should it not (a child that ignores the signal), connect ends anyway.
    if (TERMINATING.includes(signal)) lastResort(LAST_RESORT_MS, 128 + (constants.signals[signal] ?? 0), () => current);
  };
  const onStdinEnd = () => lastResort(DRAIN_MS + LAST_RESORT_MS, EXIT.OK, () => current);
  for (const signal of FORWARDED) process.on(signal, onSignal);
  process.stdin.once('end', onStdinEnd);
  let result: BridgeResult;
  try {
    result = await failoverBridge(local, first, {
      stdin: process.stdin,
      stdout: process.stdout,
      log: (line) => process.stderr.write(`${line}\n`),
      debug,
      drainMs: DRAIN_MS,
      signal: interrupted.signal,
      next: (lost, why) => picker.next(lost, why),
      onLeg: (leg) => {
        current = leg;
        picker.current = leg;
      },
      nothingLeft,
    });
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignal);
    process.stdin.off('end', onStdinEnd);
    stopPicking();
    forceExitIfStuck();
  }
  if (result.signal) {
    // Die of the same signal, so our parent sees what the server did.
    process.kill(process.pid, result.signal);
    return result.code;
  }
  return signalled && (result.interrupted || !current.child) ? 128 + (constants.signals[signalled] ?? 0) : result.code;
}

/** After stdin ends, how long the bridge waits for answers still owed, or for a child to exit. */
const DRAIN_MS = 10_000;
/** How long past a signal (or past the drain) connect may take to end before it is ended: a guard, the bridge ends by itself. */
const LAST_RESORT_MS = 10_000;

/**
 * Exits with `code` after `ms` if the process is still there (the timer does not keep it alive),
 * SIGKILLing the current leg's child first: the client ended us, and no state may keep us (ADR 0029).
 */
function lastResort(ms: number, code: number, current: () => Leg): void {
  setTimeout(() => {
    process.stderr.write(`marcus-registry: still running ${ms / 1000} s after the client ended the session; exiting\n`);
    current().child?.kill('SIGKILL');
    process.exit(code);
  }, ms).unref();
}

/**
 * Notices a client that leaves while the first pick waits (--wait), before the
 * bridge reads stdin: its stdin ends before it wrote anything. Nothing is read:
 * once there is data, the watch stops (what the client sent is answered, or
 * drained, by the bridge as usual). Stdin is left neither flowing nor paused.
 */
class StdinEndWatch {
  ended = false;
  private released = false;

  constructor(
    private readonly stdin: NodeJS.ReadStream,
    private readonly onEnd: () => void,
  ) {
    stdin.on('readable', this.onReadable);
    stdin.once('end', this.onEnded);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.stdin.off('readable', this.onReadable);
    this.stdin.off('end', this.onEnded);
  }

  private readonly onReadable = () => {
    // Data: the client is there. Nothing: read() finds the end (and emits 'end') without taking anything.
    if (this.stdin.readableLength > 0) this.release();
    else this.stdin.read();
  };

  private readonly onEnded = () => {
    this.ended = true;
    this.release();
    this.onEnd();
  };
}

/** Closes a leg opened for a client that has gone. */
async function closeLeg(leg: Leg): Promise<void> {
  leg.release();
  if (leg.child) {
    await leg.child.close();
    await Promise.race([leg.child.exited, sleep(2_000)]);
    leg.child.kill('SIGTERM');
  } else {
    await Promise.race([leg.transport.close(), sleep(2_000)]).catch(() => {});
  }
}

/** The key of one incarnation of an instance: the same id restarted (another pid or start) is another incarnation. */
function incarnation(record: ServiceRecord): string {
  return `${record.instance_id}\u0000${String(record.pid)}\u0000${record.started_at}`;
}

/** How long a candidate's endpoint may take to answer the preference probe. */
const PREFER_PROBE_MS = 1_000;

/** Tries of a failed HTTP instance whose endpoint answers again, per RESTART_WINDOW_MS. */
const MAX_RETRIES = 3;
/** While waiting for an instance, how often failed ones are looked at again (besides every registry change). */
const RECHECK_MS = 500;

/** Restarts of a child allowed within RESTART_WINDOW_MS before its record counts as failed. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * Picks and opens instances for the bridge (ADR 0023): the preferred one with
 * the filters that is not known to have failed, else waits up to --wait for the
 * registry to change. An HTTP instance that failed is skipped until it is
 * registered again (another pid or start time: a restart under the same id);
 * a child started from an argv is restarted with back-off (0.25 s doubling to
 * 4 s), and after MAX_RESTARTS within a minute its record is skipped too.
 * One registry watch wakes the waits and tells the bridge when the instance
 * behind an HTTP leg leaves the registry.
 */
class InstancePicker {
  /** The leg in use, told by the bridge. */
  current: Leg | undefined;
  /** Why the last instance could not be opened: a child that cannot start makes connect exit 127. */
  lastError: unknown;
  private readonly failed = new Set<string>();
  /** When each failed incarnation was tried again because its endpoint answered. */
  private readonly retries = new Map<string, number[]>();
  private restarts: number[] = [];
  private readonly waiters = new Set<() => void>();
  /** The legs open now, for the watch to mark gone (a released leg leaves it). */
  private readonly legs = new Map<Leg, { record: ServiceRecord; gone: AbortController }>();
  /** The record behind every leg ever opened, released or not: what `next` counts a failure against. */
  private readonly records = new WeakMap<Leg, ServiceRecord>();
  private readonly transports: TransportMemory = new Map();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly filters: ServiceFilters,
    private readonly waitMs: number,
    private readonly log: (line: string) => void,
    private readonly debug: boolean,
    private readonly signal: AbortSignal,
  ) {
    // Stopped: waiting picks wake, and return nothing.
    signal.addEventListener('abort', () => {
      for (const wake of [...this.waiters]) wake();
    });
  }

  private watching = false;

  /**
   * Follows the registry until `signal` (started once; later calls do nothing):
   * wakes waiting picks, and marks an HTTP leg gone when its instance leaves or
   * is restarted. Not before it is needed: its first look at the registry would
   * compete with the first pick and the first exchange for the one thread.
   */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    const { signal } = this;
    void (async () => {
      try {
        for await (const event of this.registry.watch({ signal, filters: this.filters })) {
          for (const wake of [...this.waiters]) wake();
          for (const [leg, { record, gone }] of this.legs) {
            if (leg.child || event.record.instance_id !== record.instance_id) continue;
            if (event.type === 'removed') gone.abort(`the registry saw it go: ${event.reason}`);
            else if (incarnation(event.record) !== incarnation(record)) gone.abort('it was registered again by another process');
          }
        }
      } catch (error) {
        if (!signal.aborted) this.log(`marcus-registry: cannot watch the registry (failover will not see instances come and go): ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  }

  /** The next leg after `lost` failed: see the class comment. */
  async next(lost: Leg, why: string): Promise<Leg | undefined> {
    const record = this.records.get(lost);
    if (record) {
      if (lost.child) {
        const now = Date.now();
        this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
        if (this.restarts.length > MAX_RESTARTS) this.failed.add(incarnation(record));
        else await sleep(Math.min(250 * 2 ** (this.restarts.length - 1), 4_000), this.signal);
      } else {
        this.failed.add(incarnation(record));
      }
    }
    if (this.debug) this.log(`marcus-registry: ${lost.name}: ${why}; picking another instance`);
    return this.pick(Date.now() + this.waitMs);
  }

  /** The most preferred instance not known to have failed, opened; waits for registry changes until `deadline`. */
  async pick(deadline: number): Promise<Leg | undefined> {
    let said = false;
    for (;;) {
      if (this.signal.aborted) return undefined;
      let wake: () => void = () => {};
      const changed = new Promise<void>((resolve) => (wake = resolve));
      this.waiters.add(wake);
      try {
        const ranked = await this.registry.ranked({ filters: this.filters, project: this.filters.project });
        const fresh = await this.answeringFirst(ranked.filter((r) => !this.failed.has(incarnation(r))));
        if (this.signal.aborted) return undefined;
        const opened = (await this.openFirst(fresh, deadline)) ?? (await this.openFirst(await this.answeringAgain(ranked), deadline));
        if (opened) return opened;
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        this.watch();
        if (this.debug && !said) {
          said = true;
          this.log(`marcus-registry: no instance to connect to yet; waiting up to ${Math.ceil(left / 1000)} s for one`);
        }
        let timer: NodeJS.Timeout | undefined;
        // A registry change wakes us; so does the recheck, for a failed instance whose endpoint answers again.
        await Promise.race([changed, new Promise((resolve) => (timer = setTimeout(resolve, Math.min(left, RECHECK_MS))))]);
        clearTimeout(timer);
      } finally {
        this.waiters.delete(wake);
      }
    }
  }

  /** The first of `records` that opens; each that does not is marked failed and said why on stderr. */
  private async openFirst(records: readonly ServiceRecord[], deadline: number): Promise<Leg | undefined> {
    for (const record of records) {
      try {
        return await this.open(record, deadline);
      } catch (error) {
        this.failed.add(incarnation(record));
        this.lastError = error;
        const message = error instanceof RegistryError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
        this.log(`marcus-registry: ${message}`);
      }
    }
    return undefined;
  }

  /**
   * The failed HTTP incarnations of `ranked` whose endpoint answers again, each
   * at most MAX_RETRIES times a minute: a server that lost our session (404)
   * or was restarted at the same URL under the same record is reached again,
   * with a fresh session, when nothing else is there.
   */
  private async answeringAgain(ranked: readonly ServiceRecord[]): Promise<ServiceRecord[]> {
    const now = Date.now();
    const candidates = ranked.filter((record) => {
      const key = incarnation(record);
      return this.failed.has(key) && (this.retries.get(key) ?? []).filter((t) => now - t < RESTART_WINDOW_MS).length < MAX_RETRIES;
    });
    const answering = await Promise.all(
      candidates.map(async (record) => {
        try {
          const connection = this.registry.connectionFor(record);
          return connection.kind === 'http' && (await probeEndpoint(connection.url, connection.transport, PREFER_PROBE_MS)) === undefined;
        } catch {
          return false;
        }
      }),
    );
    const again = candidates.filter((_, i) => answering[i]);
    for (const record of again) {
      const key = incarnation(record);
      this.retries.set(key, [...(this.retries.get(key) ?? []).filter((t) => now - t < RESTART_WINDOW_MS), now]);
    }
    return again;
  }

  /**
   * `records` with those whose HTTP endpoint answers a probe first (ADR 0023),
   * in their order otherwise: a stopped or wedged server is tried last. With one
   * candidate there is nothing to prefer, and nothing is probed.
   */
  private async answeringFirst(records: ServiceRecord[]): Promise<ServiceRecord[]> {
    if (records.length < 2) return records;
    const answers = await Promise.all(
      records.map(async (record) => {
        try {
          const connection = this.registry.connectionFor(record);
          return connection.kind === 'http' ? (await probeEndpoint(connection.url, connection.transport, PREFER_PROBE_MS)) === undefined : true;
        } catch {
          return true; // refused later, with the reason, when it is opened
        }
      }),
    );
    const down = records.filter((_, i) => !answers[i]);
    if (this.debug && down.length > 0) this.log(`marcus-registry: endpoint not answering, tried last: ${down.map((r) => r.instance_id).join(', ')}`);
    return [...records.filter((_, i) => answers[i]), ...down];
  }

  /** Opens (starts) a transport to `record`'s instance. */
  private async open(record: ServiceRecord, deadline: number): Promise<Leg> {
    const connection = await this.registry.connection(record);
    const gone = new AbortController();
    let leg: Leg;
    if (connection.kind === 'http') {
      // `run` registers a server as soon as it starts, before it listens: we wait for it to listen.
      const listeningBy = Date.now() + Math.max(deadline - Date.now(), READY_GRACE_MS);
      const whenListening = () => untilListening(new URL(connection.url), listeningBy - Date.now());
      const declared = (record as Record<string, unknown>)['transport'];
      const { url } = connection;
      const kind = declared === undefined ? (this.transports.get(url) ?? 'streamable-http, else sse') : connection.transport;
      const make: MakeTransport = async (answered) => {
        if (!answered) return declared === undefined ? HttpFallbackTransport.open(url, this.transports, this.log) : httpTransport(url, connection.transport);
        // The initialize was answered over Streamable HTTP: that is the transport, in the session it opened.
        if (declared === undefined) this.transports.set(url, 'streamable-http');
        return httpTransport(url, 'streamable-http', answered.sessionId);
      };
      // Before the SDK is loaded, the client's initialize goes out without it (ADR 0028).
      const quick = !httpSdkLoading() && url.startsWith('http:') && (kind === 'streamable-http' || kind === 'streamable-http, else sse');
      // The quick initialize is the first try to connect; it waits for the server only when refused.
      if (!quick) await whenListening();
      const transport = quick ? new QuickInitializeTransport(url, make, whenListening) : await make();
      await transport.start();
      leg = { name: `${record.instance_id}: ${connection.url} (${kind})`, target: connection.url, transport, gone: gone.signal, release: () => this.legs.delete(leg) };
    } else {
      const child = await startChild(connection, this.log);
      const target = [connection.command, ...connection.args].join(' ');
      void child.exited.then((status) => gone.abort(`it exited ${status.signal ? `on ${status.signal}` : `with code ${String(status.code)}`}`));
      leg = { name: `${record.instance_id}: ${target}`, target, transport: child, gone: gone.signal, child, release: () => this.legs.delete(leg) };
    }
    this.legs.set(leg, { record, gone });
    this.records.set(leg, record);
    return leg;
  }
}

/** Starts the instance's argv behind pipes, in its working directory when that exists here. */
async function startChild(connection: Extract<Connection, { kind: 'stdio' }>, log: (line: string) => void): Promise<ChildStdioTransport> {
  const { command, args, cwd } = connection;
  let where = cwd;
  if (where !== undefined && !existsSync(where)) {
    // A record of another host, or a directory since removed: absolute argv still works from here.
    log(`marcus-registry: the instance's working directory ${where} does not exist here; starting ${command} in ${process.cwd()}`);
    where = undefined;
  }
  const { ChildStdioTransport } = await import('../child-stdio.transport.js');
  const child = new ChildStdioTransport(command, args, where);
  await child.start();
  return child;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function seconds(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--wait must be a number of seconds, got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

function describeFilters(filters: ServiceFilters): string {
  const parts = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k === 'instanceId' ? 'instance' : k} ${JSON.stringify(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** Resolves once `url`'s host accepts a TCP connection, or after `ms` (the bridge then reports the real error). */
async function untilListening(url: URL, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  for (;;) {
    const left = deadline - Date.now();
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, timeout: Math.max(left, 1) });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });
    if (open || Date.now() + 100 >= deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A lingering socket or stream must not keep a finished proxy alive: the timer only fires if something does. */
function forceExitIfStuck(): void {
  setTimeout(() => process.exit(), 3_000).unref();
}
